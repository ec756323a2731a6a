using Xunit;
using System.Diagnostics;
using OrleansMQ.Storage.Engine;
using static OrleansMQ.Storage.Tests.Engine.StorageEngineTests;
using static OrleansMQ.Storage.Tests.Engine.TestSupport;

namespace OrleansMQ.Storage.Tests.Engine;

public sealed class RetentionAndDiskTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private sealed class FakeClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = DateTimeOffset.UtcNow;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static async Task<long> Fill(StorageEngine engine, PartitionLog p, int batches)
    {
        for (int i = 0; i < batches; i++)
        {
            await engine.AppendAsync(p, Batch($"f{i}", 4, valuePadding: 12_000)); // ~48 KiB
        }

        await WaitForHighWatermark(p, p.LogEndOffset);
        engine.Flush();
        return p.LogEndOffset;
    }

    [Fact]
    public async Task Segments_older_than_retention_are_deleted_and_log_start_follows()
    {
        var clock = new FakeClock();
        var options = SmallOptions(_dir.Path);
        options.RetentionTime = TimeSpan.FromDays(1);
        using (var engine = StorageEngine.Open(options, time: clock))
        {
            var p = engine.GetOrCreatePartition("old", 0);
            var q = engine.GetOrCreatePartition("quiet", 0);
            await engine.AppendAsync(q, Batch("q", 3));
            long end = await Fill(engine, p, 70); // ~3.3 segments
            int before = engine.CommitLog.Segments.Count;
            var oldFiles = engine.CommitLog.Segments.Take(before - 1).Select(s => s.FilePath).ToList();
            Assert.True(before >= 4);

            engine.EnforceRetention();
            Assert.Equal(before, engine.CommitLog.Segments.Count); // nothing is a day old yet

            clock.Now = clock.Now.AddDays(2);
            engine.EnforceRetention();
            Assert.Single(engine.CommitLog.Segments); // only the active segment remains
            Assert.Equal(engine.CommitLog.Segments[0].StartPosition, engine.CommitLog.MinPosition);
            Assert.All(oldFiles, f => Assert.False(File.Exists(f), $"{f} should be deleted"));

            Assert.True(p.LogStartOffset > 0);
            Assert.Equal(end, p.LogEndOffset);
            var spans = new List<LogSpan>();
            Assert.Equal(ReadStatus.OffsetOutOfRange, engine.ReadSpans(p, 0, 1000, spans));
            var rest = ReadAll(engine, p);
            Assert.Equal(p.LogStartOffset, rest[0].Offset);
            Assert.Equal(end - 1, rest[^1].Offset);

            // A partition whose data all went keeps its offsets: start == end, appends continue.
            Assert.Equal(3, q.LogStartOffset);
            Assert.Equal(3, q.LogEndOffset);
            Assert.Equal(3, (await engine.AppendAsync(q, Batch("q2", 1))).BaseOffset);
        }

        using (var engine = StorageEngine.Open(options, time: clock))
        {
            Assert.True(engine.TryGetPartition("quiet", 0, out var q));
            Assert.Equal(3, q.LogStartOffset);
            Assert.Equal(4, q.LogEndOffset);
            Assert.True(engine.TryGetPartition("old", 0, out var p));
            Assert.True(p.LogStartOffset > 0);
        }
    }

    [Fact]
    public async Task Oldest_segments_go_when_the_log_exceeds_its_size_budget()
    {
        var options = SmallOptions(_dir.Path);
        options.RetentionTime = null;
        options.RetentionBytes = 2L << 20;
        using var engine = StorageEngine.Open(options);
        var p = engine.GetOrCreatePartition("big", 0);
        await Fill(engine, p, 100); // ~4.7 segments
        Assert.True(engine.CommitLog.DiskBytes > options.RetentionBytes);
        var oldest = engine.CommitLog.Segments[0].FilePath;
        engine.EnforceRetention();
        Assert.False(File.Exists(oldest));
        Assert.True(engine.CommitLog.DiskBytes <= options.RetentionBytes, $"{engine.CommitLog.DiskBytes} bytes left");
        Assert.Equal(2, engine.CommitLog.Segments.Count);
        Assert.Equal(p.LogStartOffset, ReadAll(engine, p)[0].Offset);
    }

    [Fact]
    public async Task Disk_above_threshold_refuses_appends_keeps_reads_and_resumes_when_freed()
    {
        using var mount = TmpfsMount.TryCreate(Path.Combine(_dir.Path, "fs"), 48);
        string data = mount?.Path ?? Path.Combine(_dir.Path, "data");
        var options = SmallOptions(data);
        var ballastPath = Path.Combine(mount?.Path ?? _dir.Path, "ballast");
        long ballastBytes;
        if (mount is not null)
        {
            options.DiskFullThreshold = 0.8;
            ballastBytes = 42L << 20;
        }
        else
        {
            // No tmpfs (not root): the real disk, with the threshold set between its usage now and
            // its usage with a 512 MiB ballast file.
            var drive = new DriveInfo(_dir.Path);
            double usedNow = 1.0 - ((double)drive.AvailableFreeSpace / drive.TotalSize);
            ballastBytes = 512L << 20;
            Assert.True(drive.AvailableFreeSpace > 4L * ballastBytes, "not enough free disk for the ballast");
            options.DiskFullThreshold = usedNow + (ballastBytes / 2.0 / drive.TotalSize);
        }

        using var engine = StorageEngine.Open(options);
        var p = engine.GetOrCreatePartition("t", 0);
        await engine.AppendAsync(p, Batch("before", 2));
        Assert.False(engine.IsStorageFull);

        using (var ballast = new FileStream(ballastPath, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, PreallocationSize = ballastBytes }))
        {
            ballast.SetLength(ballastBytes);
        }

        engine.CheckDisk();
        Assert.True(engine.IsStorageFull);
        var ex = Refused(engine, p, Batch("refused", 1));
        Assert.Equal(StorageError.StorageFull, ex.Error);
        Assert.Contains("full", ex.Message, StringComparison.OrdinalIgnoreCase);
        await WaitForHighWatermark(p, 2);
        Assert.Equal(new[] { "before-0", "before-1" }, ReadAll(engine, p).Select(r => r.Value)); // reads go on

        File.Delete(ballastPath);
        engine.CheckDisk();
        Assert.False(engine.IsStorageFull);
        Assert.Equal(2, (await engine.AppendAsync(p, Batch("after", 1))).BaseOffset);
    }

    [Fact]
    public async Task A_really_full_file_system_fails_the_segment_roll_cleanly_and_recovers()
    {
        using var mount = TmpfsMount.TryCreate(Path.Combine(_dir.Path, "fs"), 24);
        if (mount is null)
        {
            return; // needs root for a tmpfs; CI runs as root. The threshold test above covers the rest.
        }

        var options = SmallOptions(mount.Path);
        options.DiskFullThreshold = 1.0; // only the real ENOSPC stops us
        using var engine = StorageEngine.Open(options);
        var p = engine.GetOrCreatePartition("t", 0);
        var ballastPath = Path.Combine(mount.Path, "ballast");
        // Fill the file system but for 64 KiB. The next segment is being prepared in the background
        // meanwhile, so free space can shrink between the reading and the allocation: re-read and retry.
        for (int attempt = 0; ; attempt++)
        {
            await Task.Delay(100);
            long free = new DriveInfo(mount.Path).AvailableFreeSpace - (64 << 10);
            try
            {
                using var ballast = new FileStream(ballastPath, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, PreallocationSize = free });
                ballast.SetLength(free);
                break;
            }
            catch (IOException) when (attempt < 20)
            {
                File.Delete(ballastPath);
            }
        }

        StorageException? full = null;
        long acked = 0;
        for (int i = 0; i < 200 && full is null; i++)
        {
            try
            {
                acked = (await engine.AppendAsync(p, Batch($"b{i}", 4, valuePadding: 12_000))).LastOffset + 1;
            }
            catch (StorageException e)
            {
                full = e;
            }
        }

        Assert.NotNull(full);
        Assert.Equal(StorageError.StorageFull, full.Error);
        await WaitForHighWatermark(p, acked);
        Assert.Equal(acked, ReadAll(engine, p).Count);

        File.Delete(ballastPath);
        Assert.Equal(acked, (await engine.AppendAsync(p, Batch("after", 4, valuePadding: 12_000))).BaseOffset);
    }

    /// <summary>A real small file system (tmpfs), so "disk full" is the kernel's ENOSPC, not a fake.</summary>
    private sealed class TmpfsMount : IDisposable
    {
        private TmpfsMount(string path) => Path = path;

        public string Path { get; }

        public static TmpfsMount? TryCreate(string path, int megabytes)
        {
            if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
            {
                return null;
            }

            Directory.CreateDirectory(path);
            return Run("mount", "-t", "tmpfs", "-o", $"size={megabytes}m", "tmpfs", path) ? new TmpfsMount(path) : null;
        }

        public void Dispose() => Run("umount", "-l", Path);

        private static bool Run(string file, params string[] args)
        {
            var psi = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in args)
            {
                psi.ArgumentList.Add(a);
            }

            using var p = Process.Start(psi)!;
            p.WaitForExit();
            return p.ExitCode == 0;
        }
    }
}
