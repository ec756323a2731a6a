using System.Diagnostics;
using OrleansMQ.Storage.Log;
using OrleansMQ.Storage.Engine;
using static OrleansMQ.Storage.Benchmarks.BenchEnvironment;

namespace OrleansMQ.Storage.Benchmarks.Scenarios;

/// <summary>
/// (a) Append throughput of one writer: one 64-record RecordBatch of 1 KiB values (~66 KB), built
/// once and appended again and again to one partition, default async flush, default 1 GiB
/// segments, 4 GiB in total; against a plain sequential FileStream write of the same bytes in the
/// same chunk size. Both are timed twice: until the last write returned (page cache) and
/// including one final fsync/msync (durable). Also per-append latency, the worst append overall
/// and the worst append that rolled to a new segment, with PrepareNextSegment on and off.
/// </summary>
internal static class AppendScenario
{
    public static async Task RunAsync(BenchEnvironment env)
    {
        long segmentSize = env.Quick ? 128 * MiB : GiB;
        long totalBytes = env.Quick ? 512 * MiB : 4 * GiB;
        byte[] batch = BuildBatch(64, 1024);
        int chunk = batch.Length + EntryFormat.HeaderSize;
        int count = (int)((totalBytes + chunk - 1) / chunk);
        env.Note($"batch {batch.Length} B (64 x 1 KiB values), CommitLog entry / FileStream chunk {chunk} B, {count} appends = {(long)count * chunk} B, segment {segmentSize} B");

        // The baseline runs first, in the middle and last; the CommitLog cases in between, in an
        // order rotated by the run number, so that the drift of a shared machine hits every case alike.
        var cases = env.Rotate(new (PutLockKind Lock, bool Prepare, bool Defer)[]
        {
            (PutLockKind.Blocking, true, false),
            (PutLockKind.Spin, true, false),
            (PutLockKind.Blocking, false, false),
            (PutLockKind.Spin, false, false),
            // Diagnostic: the default case with the background flusher held off (flush only at the
            // end), to show what the continuous msync of the async policy costs on this machine.
            (PutLockKind.Blocking, true, true),
        });
        var results = new List<Result> { RunFileStream(env, "FileStream (baseline 1)", batch, chunk, count) };
        for (int i = 0; i < cases.Count; i++)
        {
            if (i == cases.Count / 2)
            {
                results.Add(RunFileStream(env, "FileStream (baseline 2)", batch, chunk, count));
            }

            var c = cases[i];
            results.Add(await RunCommitLogAsync(env, c.Lock, c.Prepare, batch, count, segmentSize, c.Defer).ConfigureAwait(false));
        }

        results.Add(RunFileStream(env, "FileStream (baseline 3)", batch, chunk, count));
        var baselines = results.Where(r => r.Name.StartsWith("FileStream", StringComparison.Ordinal)).ToList();
        double baseCache = baselines.Average(r => r.CacheMBps);
        double baseDurable = baselines.Average(r => r.DurableMBps);
        foreach (var r in results)
        {
            env.Row(r.Name, "throughput, page cache", r.CacheMBps, "MiB/s", $"{F(100 * r.CacheMBps / baseCache, "F0")}% of FileStream mean {F(baseCache, "F0")}");
            env.Row(r.Name, "throughput, incl. final fsync", r.DurableMBps, "MiB/s", $"{F(100 * r.DurableMBps / baseDurable, "F0")}% of FileStream mean {F(baseDurable, "F0")}; final flush {F(r.FinalFlushMs, "F0")} ms");
            env.Row(r.Name, "latency p50 / p99 / p99.9", r.P50Us, "us", $"p99 {F(r.P99Us)} us, p99.9 {F(r.P999Us)} us, mean {F(r.MeanUs)} us");
            env.Row(r.Name, "worst append", r.MaxUs, "us", $"at append #{r.MaxIndex}{(r.MaxWasRoll ? " (a roll)" : "")}");
            if (r.Rolls > 0)
            {
                env.Row(r.Name, "worst append that rolled a segment", r.MaxRollUs, "us", $"{r.Rolls} rolls; mean roll append {F(r.MeanRollUs)} us; worst non-roll {F(r.MaxNonRollUs)} us");
            }

            env.Row(r.Name, "process CPU (user + kernel)", r.CpuPercent, "% of one core", "writer, flusher, dispatcher, prefault threads and the msync/write syscalls they make; kernel writeback threads not included");
            env.Row(r.Name, "device bytes written / logical", r.DeviceRatio, "x", "system-wide /proc/diskstats, approximate; until the final flush returned");
            if (r.CloseMs is { } closeMs)
            {
                env.Row(r.Name, "engine Dispose", closeMs, "ms", $"wrote {F(r.CloseDeviceBytes / (double)MiB, "F0")} MiB to the device while closing");
            }
        }

        foreach (var r in results.Where(r => r.Name.EndsWith("prepare on", StringComparison.Ordinal)))
        {
            double pct = 100 * r.DurableMBps / baseDurable;
            double pctCache = 100 * r.CacheMBps / baseCache;
            env.Target($"{r.Name}: >= 90% of FileStream (incl. final fsync)", $"{F(pct, "F0")}% ({F(r.DurableMBps, "F0")} vs {F(baseDurable, "F0")} MiB/s); page cache only: {F(pctCache, "F0")}%", pct >= 90);
        }
    }

    private static Result RunFileStream(BenchEnvironment env, string name, byte[] batch, int chunk, int count)
    {
        string dir = env.NewDir("append-fs");
        try
        {
            var data = new byte[chunk];
            batch.CopyTo(data, EntryFormat.HeaderSize);
            var lat = new long[count];
            long disk0 = DiskStats.BytesWritten();
            double cpu0 = CpuSeconds();
            long start = Stopwatch.GetTimestamp();
            double cacheSec, durableSec, flushMs, cpu;
            using (var fs = new FileStream(Path.Combine(dir, "baseline.log"), FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0))
            {
                for (int i = 0; i < count; i++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    fs.Write(data);
                    lat[i] = Stopwatch.GetTimestamp() - t0;
                }

                long written = Stopwatch.GetTimestamp();
                fs.Flush(flushToDisk: true);
                long end = Stopwatch.GetTimestamp();
                cpu = CpuSeconds() - cpu0;
                cacheSec = Stopwatch.GetElapsedTime(start, written).TotalSeconds;
                durableSec = Stopwatch.GetElapsedTime(start, end).TotalSeconds;
                flushMs = Stopwatch.GetElapsedTime(written, end).TotalMilliseconds;
            }

            long disk = DiskStats.BytesWritten() - disk0;
            return Result.From(name, (long)count * chunk, cacheSec, durableSec, flushMs, lat, rolls: null, disk) with { CpuPercent = 100 * cpu / durableSec };
        }
        finally
        {
            DeleteDir(dir);
        }
    }

    private static async Task<Result> RunCommitLogAsync(BenchEnvironment env, PutLockKind putLock, bool prepare, byte[] batch, int count, long segmentSize, bool deferFlush = false)
    {
        string name = $"CommitLog {putLock}, prepare {(prepare ? "on" : "off")}{(deferFlush ? ", async flusher held off (diagnostic)" : "")}";
        string dir = env.NewDir("append-cl");
        try
        {
            var options = new StorageOptions
            {
                DataDirectory = dir,
                SegmentSize = segmentSize,
                PutLock = putLock,
                PrepareNextSegment = prepare,
                // 262,144 pages = 1 GiB: larger values overflow AsyncFlushPolicy's int multiplication.
                FlushPolicy = deferFlush ? FlushPolicy.Async(TimeSpan.FromHours(1), 262_144) : FlushPolicy.Async(),
            };
            var lat = new long[count];
            var rolls = new bool[count];
            long bytes, disk, disk1, closeStart;
            double cacheSec, durableSec, flushMs, cpu, cpu0;
            long disk0;
            using (var engine = StorageEngine.Open(options))
            {
                var p = engine.GetOrCreatePartition("append", 0);
                // Let the first prepared segment finish so every case starts alike.
                await Task.Delay(prepare ? 1500 : 200).ConfigureAwait(false);
                disk0 = DiskStats.BytesWritten();
                long startPos = engine.CommitLog.CommittedPosition;
                cpu0 = CpuSeconds();
                long start = Stopwatch.GetTimestamp();
                for (int i = 0; i < count; i++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    var pending = engine.AppendAsync(p, batch);
                    AppendResult r = pending.IsCompletedSuccessfully ? pending.Result : await pending.ConfigureAwait(false);
                    lat[i] = Stopwatch.GetTimestamp() - t0;
                    rolls[i] = i > 0 && r.Position % segmentSize == 0;
                }

                long written = Stopwatch.GetTimestamp();
                engine.CommitLog.FlushCommitted();
                long end = Stopwatch.GetTimestamp();
                cpu = CpuSeconds() - cpu0;
                disk = DiskStats.BytesWritten() - disk0;
                bytes = engine.CommitLog.CommittedPosition - startPos;
                cacheSec = Stopwatch.GetElapsedTime(start, written).TotalSeconds;
                durableSec = Stopwatch.GetElapsedTime(start, end).TotalSeconds;
                flushMs = Stopwatch.GetElapsedTime(written, end).TotalMilliseconds;
                disk1 = DiskStats.BytesWritten();
                closeStart = Stopwatch.GetTimestamp();
            }

            double closeMs = Stopwatch.GetElapsedTime(closeStart).TotalMilliseconds;
            long closeDisk = DiskStats.BytesWritten() - disk1;
            return Result.From(name, bytes, cacheSec, durableSec, flushMs, lat, rolls, disk) with { CloseMs = closeMs, CloseDeviceBytes = closeDisk, CpuPercent = 100 * cpu / durableSec };
        }
        finally
        {
            DeleteDir(dir);
        }
    }

    private static double CpuSeconds()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime.TotalSeconds;
    }

    private sealed record Result(
        string Name, double CacheMBps, double DurableMBps, double FinalFlushMs,
        double P50Us, double P99Us, double P999Us, double MeanUs, double MaxUs, int MaxIndex, bool MaxWasRoll,
        int Rolls, double MaxRollUs, double MeanRollUs, double MaxNonRollUs, double DeviceRatio)
    {
        public double? CloseMs { get; init; }

        public double CpuPercent { get; init; }

        public long CloseDeviceBytes { get; init; }

        public static Result From(string name, long bytes, double cacheSec, double durableSec, double flushMs, long[] ticks, bool[]? rolls, long deviceBytes)
        {
            static double Us(long ticks) => ticks * 1_000_000.0 / Stopwatch.Frequency;
            var sorted = (long[])ticks.Clone();
            Array.Sort(sorted);
            long Pct(double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p / 100 * sorted.Length) - 1)];
            int maxIndex = 0;
            for (int i = 1; i < ticks.Length; i++)
            {
                if (ticks[i] > ticks[maxIndex])
                {
                    maxIndex = i;
                }
            }

            long maxRoll = 0, maxNonRoll = 0, sumRoll = 0;
            int rollCount = 0;
            for (int i = 0; i < ticks.Length; i++)
            {
                if (rolls is not null && rolls[i])
                {
                    rollCount++;
                    sumRoll += ticks[i];
                    maxRoll = Math.Max(maxRoll, ticks[i]);
                }
                else
                {
                    maxNonRoll = Math.Max(maxNonRoll, ticks[i]);
                }
            }

            return new Result(
                name, bytes / (double)MiB / cacheSec, bytes / (double)MiB / durableSec, flushMs,
                Us(Pct(50)), Us(Pct(99)), Us(Pct(99.9)), Us(ticks.Sum()) / ticks.Length, Us(ticks[maxIndex]), maxIndex, rolls?[maxIndex] ?? false,
                rollCount, Us(maxRoll), rollCount == 0 ? 0 : Us(sumRoll) / rollCount, Us(maxNonRoll), deviceBytes / (double)bytes);
        }
    }
}
