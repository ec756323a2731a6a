using Xunit;
using System.Diagnostics;
using System.Text;
using OrleansMQ.Protocol.Batches;
using OrleansMQ.Storage.Engine;
using static OrleansMQ.Storage.Tests.Engine.StorageEngineTests;
using static OrleansMQ.Storage.Tests.Engine.TestSupport;

namespace OrleansMQ.Storage.Tests.Engine;

public sealed class RetentionAndDiskTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static async Task<long> Fill(StorageEngine engine, PartitionLog p, int batches, long timestamp)
    {
        for (int i = 0; i < batches; i++)
        {
            await engine.AppendAsync(p, Batch($"f{i}", 4, timestamp, valuePadding: 12_000)); // ~48 KiB
        }

        await WaitForHighWatermark(p, p.LogEndOffset);
        engine.Flush();
        return p.LogEndOffset;
    }

    /// <summary>Appends ~48 KiB batches stamped <paramref name="timestamp"/> until the log has <paramref name="segments"/> segments.</summary>
    private static async Task FillUntilSegments(StorageEngine engine, PartitionLog p, int segments, long timestamp)
    {
        for (int i = 0; engine.CommitLog.Segments.Count < segments; i++)
        {
            await engine.AppendAsync(p, Batch($"u{i}", 4, timestamp, valuePadding: 12_000));
        }
    }

    private static async Task Settle(StorageEngine engine, PartitionLog p)
    {
        await WaitForHighWatermark(p, p.LogEndOffset); // retention only deletes what the dispatcher passed
        engine.Flush();
    }

    private static string[] SegmentFiles(string dataDir) =>
        Directory.GetFiles(Path.Combine(dataDir, "commitlog")).Where(f => Path.GetFileName(f).Length == 20).Order(StringComparer.Ordinal).ToArray();

    [Theory]
    [InlineData(-7300)] // the engine clock 20 years behind the wall clock (and the files' times)
    [InlineData(0)]
    [InlineData(7300)]  // and 20 years ahead: the outcome must not depend on today's date
    public async Task Segments_older_than_retention_are_deleted_and_log_start_follows(int clockDaysFromNow)
    {
        var clock = new FakeClock(DateTimeOffset.UtcNow.AddDays(clockDaysFromNow));
        var options = SmallOptions(_dir.Path);
        options.RetentionTime = TimeSpan.FromDays(1);
        using (var engine = StorageEngine.Open(options, time: clock))
        {
            var p = engine.GetOrCreatePartition("old", 0);
            var q = engine.GetOrCreatePartition("quiet", 0);
            await engine.AppendAsync(q, Batch("q", 3, clock.NowMs));
            long end = await Fill(engine, p, 70, clock.NowMs); // ~3.3 segments, records stamped by the engine's clock
            int before = engine.CommitLog.Segments.Count;
            var oldFiles = engine.CommitLog.Segments.Take(before - 1).Select(s => s.FilePath).ToList();
            Assert.True(before >= 4);

            engine.EnforceRetention();
            Assert.Equal(before, engine.CommitLog.Segments.Count); // nothing is a day old yet

            clock.Advance(TimeSpan.FromDays(2));
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
            Assert.Equal(3, (await engine.AppendAsync(q, Batch("q2", 1, clock.NowMs))).BaseOffset);
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

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // after a restart the timestamps come from the segments' entry headers
    public async Task Segments_whose_records_are_old_go_although_their_files_were_just_written(bool restart)
    {
        var clock = new FakeClock(DateTimeOffset.UtcNow);
        var options = SmallOptions(_dir.Path);
        options.RetentionTime = TimeSpan.FromDays(1);
        long old = clock.NowMs - (long)TimeSpan.FromDays(3).TotalMilliseconds; // a producer's CreateTime, or restored data
        var engine = StorageEngine.Open(options, time: clock);
        try
        {
            var p = engine.GetOrCreatePartition("t", 0);
            // Segments 0 and 1 hold old records only; segment 2 old records and one recent batch,
            // so its largest timestamp is recent and it stays (Kafka's rule), holding back the rest.
            await FillUntilSegments(engine, p, 3, old);
            await engine.AppendAsync(p, Batch("recent", 2, clock.NowMs));
            await FillUntilSegments(engine, p, 4, old);
            await Settle(engine, p);
            var segments = engine.CommitLog.Segments;
            var oldFiles = segments.Take(2).Select(s => s.FilePath).ToList();
            long keptStart = segments[2].StartPosition;

            if (restart)
            {
                engine.Dispose();
                // As if copied back from a backup: every file was written just now.
                foreach (var f in SegmentFiles(_dir.Path))
                {
                    File.SetLastWriteTimeUtc(f, DateTime.UtcNow);
                }

                engine = StorageEngine.Open(options, time: clock);
                Assert.True(engine.TryGetPartition("t", 0, out p));
            }

            Assert.All(oldFiles, f => Assert.True(DateTime.UtcNow - File.GetLastWriteTimeUtc(f) < TimeSpan.FromHours(1), "the files are new"));
            engine.EnforceRetention();
            Assert.All(oldFiles, f => Assert.False(File.Exists(f), $"{f} holds only old records and should be deleted"));
            Assert.Equal(keptStart, engine.CommitLog.MinPosition);
            Assert.Equal(2, engine.CommitLog.Segments.Count); // the one with a recent batch and the active one
            Assert.True(p.LogStartOffset > 0);
            Assert.Contains(ReadAll(engine, p), r => r.Value == "recent-1");
        }
        finally
        {
            engine.Dispose();
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Segments_whose_files_look_old_are_kept_while_their_records_are_recent(bool restart)
    {
        var clock = new FakeClock(DateTimeOffset.UtcNow);
        var options = SmallOptions(_dir.Path);
        options.RetentionTime = TimeSpan.FromDays(1);
        var engine = StorageEngine.Open(options, time: clock);
        try
        {
            var p = engine.GetOrCreatePartition("t", 0);
            await Fill(engine, p, 70, clock.NowMs);
            int before = engine.CommitLog.Segments.Count;
            Assert.True(before >= 4);
            if (restart)
            {
                engine.Dispose();
            }

            // Files a month old by their modification time (a copy that kept old times, a clock step).
            foreach (var f in SegmentFiles(_dir.Path))
            {
                File.SetLastWriteTimeUtc(f, DateTime.UtcNow.AddDays(-30));
            }

            if (restart)
            {
                engine = StorageEngine.Open(options, time: clock);
                Assert.True(engine.TryGetPartition("t", 0, out p));
            }

            engine.EnforceRetention();
            Assert.Equal(before, engine.CommitLog.Segments.Count);
            Assert.Equal(0, p.LogStartOffset);

            clock.Advance(TimeSpan.FromDays(2)); // now the records are two days old
            engine.EnforceRetention();
            Assert.Single(engine.CommitLog.Segments);
            Assert.True(p.LogStartOffset > 0);
        }
        finally
        {
            engine.Dispose();
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Segments_without_record_timestamps_age_from_when_the_engine_found_them_sealed(bool restart)
    {
        var clock = new FakeClock(DateTimeOffset.UtcNow.AddDays(-7300));
        var options = SmallOptions(_dir.Path);
        options.RetentionTime = TimeSpan.FromDays(1);
        var engine = StorageEngine.Open(options, time: clock);
        try
        {
            var p = engine.GetOrCreatePartition("t", 0);
            for (int i = 0; i < 70; i++)
            {
                // Every record without a timestamp (Kafka's NO_TIMESTAMP, -1): nothing to measure by.
                var b = new RecordBatchBuilder();
                for (int r = 0; r < 4; r++)
                {
                    b.Add(Encoding.UTF8.GetBytes($"n{i}-{r}" + new string('.', 12_000)), -1);
                }

                await engine.AppendAsync(p, b.Build());
            }

            await Settle(engine, p);
            int before = engine.CommitLog.Segments.Count;
            Assert.True(before >= 4);
            foreach (var f in SegmentFiles(_dir.Path))
            {
                File.SetLastWriteTimeUtc(f, DateTime.UtcNow.AddDays(-30)); // not what counts either
            }

            clock.Advance(TimeSpan.FromHours(12));
            engine.EnforceRetention();
            Assert.Equal(before, engine.CommitLog.Segments.Count); // sealed 12 hours ago on the engine clock

            if (restart)
            {
                // The seal time is not stored: a restart finds the segments sealed now.
                engine.Dispose();
                engine = StorageEngine.Open(options, time: clock);
                Assert.True(engine.TryGetPartition("t", 0, out p));
                clock.Advance(TimeSpan.FromHours(18));
                engine.EnforceRetention();
                Assert.Equal(before, engine.CommitLog.Segments.Count);
            }

            clock.Advance(TimeSpan.FromDays(1));
            engine.EnforceRetention();
            Assert.Single(engine.CommitLog.Segments);
            Assert.True(p.LogStartOffset > 0);
        }
        finally
        {
            engine.Dispose();
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
        await Fill(engine, p, 100, BaseTime); // ~4.7 segments
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
