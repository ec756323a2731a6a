using System.Diagnostics;
using System.Globalization;
using OrleansMQ.Storage.Engine;
using static OrleansMQ.Storage.Benchmarks.BenchEnvironment;

namespace OrleansMQ.Storage.Benchmarks.Scenarios;

/// <summary>
/// (d) Recovery after an unclean stop: a child process (this exe, hidden subcommand) appends
/// 64 KiB batches with the default options until the log holds 4 GiB, says so, keeps appending,
/// and is SIGKILLed; the parent then times <see cref="StorageEngine.Open"/> to ready. Normal case:
/// the checkpoint the child last wrote (at most ~1 s old). Worst case: the checkpoint deleted, so
/// every entry of every segment is validated (both CRCs) and re-dispatched. Each with a warm page
/// cache (the killed writer's pages still cached, as after a process crash) and a cold one (every
/// file written back and dropped from the cache with posix_fadvise, as after a machine restart).
/// </summary>
internal static class RecoveryScenario
{
    public const string WriterCommand = "recovery-writer";
    private const int WriterPartitions = 16;

    public static async Task RunAsync(BenchEnvironment env)
    {
        long segmentSize = env.Quick ? 256 * MiB : GiB;
        long volume = env.Quick ? GiB : 4 * GiB;
        env.Note($"writer: {WriterPartitions} partitions, 64 x 1 KiB batches, default options (async flush, checkpoint every 1 s), segment {segmentSize} B, killed after {volume} B");
        var cases = new (string Name, bool Worst, bool Cold)[]
        {
            ("normal (recent checkpoint), warm cache", false, false),
            ("worst (checkpoint deleted), warm cache", true, false),
            ("normal (recent checkpoint), cold cache", false, true),
            ("worst (checkpoint deleted), cold cache", true, true),
        };

        foreach (var (name, worst, cold) in cases)
        {
            string dir = env.NewDir("recovery");
            try
            {
                var (reached, writeSec) = await WriteAndKillAsync(dir, volume, segmentSize).ConfigureAwait(false);
                long onDisk = Directory.EnumerateFiles(Path.Combine(dir, "commitlog")).Sum(f => new FileInfo(f).Length);
                string prep = "";
                if (cold)
                {
                    long d0 = Stopwatch.GetTimestamp();
                    foreach (var f in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories))
                    {
                        NativeIo.DropFromCache(f);
                    }

                    prep = $"; write-back + cache drop before open took {F(Stopwatch.GetElapsedTime(d0).TotalSeconds, "F1")} s (not timed)";
                }

                if (worst)
                {
                    File.Delete(Path.Combine(dir, "checkpoint"));
                }

                int segmentsBefore = Directory.EnumerateFiles(Path.Combine(dir, "commitlog")).Count();
                double dirtyGiB = DirtyBytes() / (double)GiB;
                using var timing = new TimingLoggerFactory();
                long t0 = Stopwatch.GetTimestamp();
                var engine = StorageEngine.Open(new StorageOptions { DataDirectory = dir, SegmentSize = segmentSize }, timing);
                double openSec = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                var rep = engine.Recovery;
                engine.Dispose();
                double logSec = (timing.FirstAt("CommitLog recovery") ?? TimeSpan.Zero).TotalSeconds - (timing.FirstAt("Storage opening") ?? TimeSpan.Zero).TotalSeconds;

                var log = rep.CommitLog;
                env.Row(name, "StorageEngine.Open to ready", openSec, "s", $"writer reached {F(reached / (double)GiB, "F2")} GiB in {F(writeSec, "F1")} s, then SIGKILL; {F(onDisk / (double)GiB, "F1")} GiB of segment files; {F(dirtyGiB, "F2")} GiB dirty in the page cache at open{prep}");
                env.Row(name, "CommitLog validated", (log.ValidEnd - log.ScannedFrom) / (double)MiB, "MiB", $"from {log.ScannedFrom:N0} to {log.ValidEnd:N0}: {log.EntriesValidated:N0} entries; torn tail dropped {log.BytesDropped:N0} B ({log.Reason ?? "clean end"}); checkpoint valid={rep.CheckpointValid}");
                env.Row(name, "entries re-dispatched", rep.EntriesReplayed, "", $"engine-reported recovery time {F(rep.Elapsed.TotalSeconds, "F2")} s");
                env.Row(name, "of which CommitLog open (scan, truncate, tail)", logSec, "s", $"{F((log.ValidEnd - log.ScannedFrom) / (double)MiB / Math.Max(logSec, 1e-6), "F0")} MiB/s validated; {segmentsBefore} segment files before open (incl. the prepared one); rest (queues, index, re-dispatch) {F(openSec - logSec, "F2")} s");
                env.Target($"recovery {name}: <= 5 s", $"{F(openSec, "F2")} s", openSec <= 5);
            }
            finally
            {
                DeleteDir(dir);
            }
        }
    }

    /// <summary>Dirty page-cache bytes (/proc/meminfo): write-back still in progress competes with recovery's own I/O.</summary>
    private static long DirtyBytes()
    {
        try
        {
            var line = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("Dirty:", StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>Starts the writer child, waits until it reports the volume, SIGKILLs it.</summary>
    private static async Task<(long Reached, double Seconds)> WriteAndKillAsync(string dir, long volume, long segmentSize)
    {
        string exe = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var psi = new ProcessStartInfo { FileName = exe, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardInput = true };
        if (Path.GetFileNameWithoutExtension(exe) == "dotnet")
        {
            psi.ArgumentList.Add(typeof(RecoveryScenario).Assembly.Location);
        }

        psi.ArgumentList.Add(WriterCommand);
        psi.ArgumentList.Add(dir);
        psi.ArgumentList.Add(volume.ToString(CultureInfo.InvariantCulture));
        psi.ArgumentList.Add(segmentSize.ToString(CultureInfo.InvariantCulture));
        using var child = Process.Start(psi) ?? throw new InvalidOperationException("could not start the writer");
        try
        {
            while (await child.StandardOutput.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                if (line.StartsWith("REACHED ", StringComparison.Ordinal))
                {
                    var f = line.Split(' ');
                    child.Kill(); // SIGKILL: no clean shutdown, no final flush or checkpoint
                    await child.WaitForExitAsync().ConfigureAwait(false);
                    return (long.Parse(f[1], CultureInfo.InvariantCulture), double.Parse(f[2], CultureInfo.InvariantCulture));
                }
            }

            throw new InvalidOperationException($"the writer exited with {child.ExitCode} before reaching the volume");
        }
        finally
        {
            if (!child.HasExited)
            {
                child.Kill();
                await child.WaitForExitAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>The child: appends until killed. Stops writing at 1.25 x the volume, and exits when stdin closes (parent gone).</summary>
    public static async Task<int> RunWriterAsync(string[] args)
    {
        if (args.Length != 3)
        {
            throw new ArgumentException("recovery-writer <dir> <bytes> <segmentSize>");
        }

        long volume = long.Parse(args[1], CultureInfo.InvariantCulture);
        var options = new StorageOptions { DataDirectory = args[0], SegmentSize = long.Parse(args[2], CultureInfo.InvariantCulture) };
        var watchdog = new Thread(() =>
        {
            Console.In.ReadToEnd();
            Environment.Exit(3);
        })
        { IsBackground = true };
        watchdog.Start();

        var engine = StorageEngine.Open(options);
        string checkpoint = Path.Combine(args[0], "checkpoint"); // the normal case needs one: wait for the housekeeper's first
        var logs = Enumerable.Range(0, WriterPartitions).Select(i => engine.GetOrCreatePartition("recovery", i)).ToArray();
        byte[] batch = BuildBatch(64, 1024);
        long limit = volume + (volume / 4);
        var sw = Stopwatch.StartNew();
        bool reported = false;
        for (long i = 0; ; i++)
        {
            long committed = engine.CommitLog.CommittedPosition;
            if (!reported && committed >= volume && File.Exists(checkpoint))
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"REACHED {committed} {sw.Elapsed.TotalSeconds:F3}"));
                reported = true;
            }

            if (committed >= limit)
            {
                Thread.Sleep(100); // never fill the disk if nobody kills us
                continue;
            }

            var pending = engine.AppendAsync(logs[i % WriterPartitions], batch);
            if (!pending.IsCompletedSuccessfully)
            {
                await pending.ConfigureAwait(false);
            }
        }
    }
}
