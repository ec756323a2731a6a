using System.Diagnostics;
using OrleansMQ.Storage.Log;
using OrleansMQ.Storage.Engine;
using static OrleansMQ.Storage.Benchmarks.BenchEnvironment;

namespace OrleansMQ.Storage.Benchmarks.Scenarios;

/// <summary>
/// (b) Group commit: FlushPolicy.Sync(), 64 concurrent appender tasks, each append one RecordBatch
/// holding one 1 KiB record (each task its own partition), for 10 s after a 1 s warm-up, with
/// both put locks; the same with the default async flush for contrast; and the machine's raw
/// write+fsync rate on one file measured in the same run.
/// </summary>
internal static class GroupCommitScenario
{
    private const int Appenders = 64;
    private const int Stride = 16; // longs per counter: one cache line apart (plus padding)

    public static async Task RunAsync(BenchEnvironment env)
    {
        var duration = TimeSpan.FromSeconds(env.Quick ? 3 : 10);
        var warmup = TimeSpan.FromSeconds(env.Quick ? 0.5 : 1);
        var baselineDuration = TimeSpan.FromSeconds(env.Quick ? 1 : 3);
        byte[] batch = BuildBatch(1, 1024);
        env.Note($"{Appenders} appender tasks, batch {batch.Length} B (one 1 KiB record), {duration.TotalSeconds} s measured after {warmup.TotalSeconds} s warm-up, one partition per appender, 1 GiB segments");

        double fsyncRate = SyncBaseline(env, "machine: 4 KiB append + FileStream.Flush(true) (fsync)", baselineDuration, BaselineKind.FlushTrue);
        double fdatasyncRate = SyncBaseline(env, "machine: 4 KiB append + fdatasync", baselineDuration, BaselineKind.Fdatasync);
        SyncBaseline(env, "machine: 4 KiB overwrite in place + fdatasync", baselineDuration, BaselineKind.OverwriteFdatasync);

        var sync = new List<(PutLockKind Lock, double Rate)>();
        var kinds = env.Rotate(new[] { PutLockKind.Blocking, PutLockKind.Spin });
        foreach (var kind in kinds)
        {
            double rate = await RunEngineAsync(env, FlushPolicy.Sync(), kind, batch, warmup, duration, byteCap: long.MaxValue, yieldEvery: 0, fsyncRate).ConfigureAwait(false);
            sync.Add((kind, rate));
        }

        foreach (var kind in kinds)
        {
            await RunEngineAsync(env, FlushPolicy.Async(), kind, batch, warmup, duration, byteCap: env.Quick ? GiB : 3 * GiB, yieldEvery: 64, fsyncRate).ConfigureAwait(false);
        }

        foreach (var (kind, rate) in sync)
        {
            env.Target($"sync flush, {kind}: >= 100,000 acknowledged 1 KiB records/s", $"{rate:N0}/s (machine fdatasync {fdatasyncRate:N0}/s)", rate >= 100_000);
        }
    }

    private enum BaselineKind
    {
        FlushTrue,
        Fdatasync,
        OverwriteFdatasync,
    }

    private static double SyncBaseline(BenchEnvironment env, string name, TimeSpan duration, BaselineKind kind)
    {
        string dir = env.NewDir("gc-fsync");
        try
        {
            var block = new byte[4096];
            Random.Shared.NextBytes(block);
            var hist = new Histogram();
            using var fs = new FileStream(Path.Combine(dir, "fsync.log"), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, bufferSize: 0);
            int fd = (int)fs.SafeFileHandle.DangerousGetHandle();
            long start = Stopwatch.GetTimestamp();
            long ops = 0;
            while (Stopwatch.GetElapsedTime(start) < duration)
            {
                long t0 = Stopwatch.GetTimestamp();
                switch (kind)
                {
                    case BaselineKind.FlushTrue:
                        fs.Write(block);
                        fs.Flush(flushToDisk: true);
                        break;
                    case BaselineKind.Fdatasync:
                        fs.Write(block);
                        Check(NativeIo.fdatasync(fd));
                        break;
                    default:
                        RandomAccess.Write(fs.SafeFileHandle, block, 0);
                        Check(NativeIo.fdatasync(fd));
                        break;
                }

                hist.Record((long)Stopwatch.GetElapsedTime(t0).TotalNanoseconds);
                ops++;
            }

            double rate = ops / Stopwatch.GetElapsedTime(start).TotalSeconds;
            env.Row(name, "ops/s", rate, "/s", $"p50 {F(hist.Percentile(50) / 1000.0)} us, p99 {F(hist.Percentile(99) / 1000.0)} us, max {F(hist.MaxNanos / 1000.0)} us");
            return rate;
        }
        finally
        {
            DeleteDir(dir);
        }
    }

    private static void Check(int rc)
    {
        if (rc != 0)
        {
            throw new IOException($"fdatasync failed: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
        }
    }

    private static async Task<double> RunEngineAsync(BenchEnvironment env, FlushPolicy policy, PutLockKind putLock, byte[] batch, TimeSpan warmup, TimeSpan duration, long byteCap, int yieldEvery, double fsyncRate)
    {
        string name = $"{(policy.IsSynchronous ? "sync" : "async")} flush, {putLock}";
        string dir = env.NewDir("groupcommit");
        try
        {
            var options = new StorageOptions { DataDirectory = dir, FlushPolicy = policy, PutLock = putLock };
            using var engine = StorageEngine.Open(options);
            var partitions = Enumerable.Range(0, Appenders).Select(i => engine.GetOrCreatePartition("gc", i)).ToArray();
            await Task.Delay(1000).ConfigureAwait(false); // let the prepared segment finish
            var counts = new long[Appenders * Stride];
            var hists = Enumerable.Range(0, Appenders).Select(_ => new Histogram()).ToArray();
            var state = new LoadState();

            var tasks = new Task[Appenders];
            for (int i = 0; i < Appenders; i++)
            {
                int me = i;
                tasks[i] = Task.Run(async () =>
                {
                    var p = partitions[me];
                    var h = hists[me];
                    long n = 0;
                    while (!state.Stop)
                    {
                        long t0 = Stopwatch.GetTimestamp();
                        var pending = engine.AppendAsync(p, batch);
                        if (!pending.IsCompletedSuccessfully)
                        {
                            await pending.ConfigureAwait(false);
                        }

                        if (state.Measuring)
                        {
                            h.Record((long)Stopwatch.GetElapsedTime(t0).TotalNanoseconds);
                        }

                        Volatile.Write(ref counts[me * Stride], ++n);
                        if (yieldEvery > 0 && n % yieldEvery == 0)
                        {
                            await Task.Yield(); // async appends complete inline: let the other tasks run
                        }
                    }
                });
            }

            await Task.Delay(warmup).ConfigureAwait(false);
            long c0 = Sum(counts), f0 = engine.CommitLog.FlushCount, b0 = engine.CommitLog.CommittedPosition;
            long disk0 = DiskStats.BytesWritten();
            var (user0, sys0) = CpuTimes();
            long t = Stopwatch.GetTimestamp();
            state.Measuring = true;
            while (Stopwatch.GetElapsedTime(t) < duration && engine.CommitLog.CommittedPosition - b0 < byteCap)
            {
                await Task.Delay(50).ConfigureAwait(false);
            }

            state.Measuring = false;
            long c1 = Sum(counts), f1 = engine.CommitLog.FlushCount, b1 = engine.CommitLog.CommittedPosition;
            double sec = Stopwatch.GetElapsedTime(t).TotalSeconds;
            var (user1, sys1) = CpuTimes();
            double cpuSec = user1 - user0 + sys1 - sys0;
            long disk = DiskStats.BytesWritten() - disk0;
            int poolThreads = ThreadPool.ThreadCount;
            state.Stop = true;
            await Task.WhenAll(tasks).ConfigureAwait(false);

            var all = new Histogram();
            foreach (var h in hists)
            {
                all.Merge(h);
            }

            double appends = (c1 - c0) / sec;
            long flushes = f1 - f0;
            env.Row(name, "acknowledged appends/s (= 1 KiB records/s)", appends, "/s", $"{F((b1 - b0) / (double)MiB / sec, "F0")} MiB/s of log; {F(sec)} s window");
            env.Row(name, "flushes/s", flushes / sec, "/s", policy.IsSynchronous ? $"machine fsync baseline {fsyncRate:N0}/s" : "async flusher (200 ms or 16 dirty pages)");
            env.Row(name, "appends per flush", flushes == 0 ? 0 : (c1 - c0) / (double)flushes, "", policy.IsSynchronous ? $"at most {Appenders} (one append in flight per task)" : "");
            env.Row(name, "device bytes written / log bytes", disk / (double)Math.Max(1, b1 - b0), "x", $"{F(disk / (double)MiB / sec, "F0")} MiB/s to the device (system-wide /proc/diskstats); {F(flushes == 0 ? 0 : disk / (double)flushes / KiB, "F0")} KiB per flush");
            env.Row(name, "CPU per append", cpuSec * 1e6 / Math.Max(1, c1 - c0), "us", $"process CPU {F(cpuSec / sec * 100, "F0")}% of one core ({F((sys1 - sys0) / cpuSec * 100, "F0")}% of it in the kernel); {poolThreads} thread-pool threads");
            env.Row(name, "ack latency p50", all.Percentile(50) / 1000.0, "us", $"p99 {F(all.Percentile(99) / 1000.0)} us, p99.9 {F(all.Percentile(99.9) / 1000.0)} us, max {F(all.MaxNanos / 1000.0)} us");
            return appends;
        }
        finally
        {
            DeleteDir(dir);
        }
    }

    private static (double User, double Sys) CpuTimes()
    {
        using var self = Process.GetCurrentProcess();
        return (self.UserProcessorTime.TotalSeconds, self.PrivilegedProcessorTime.TotalSeconds);
    }

    private static long Sum(long[] counts)
    {
        long s = 0;
        for (int i = 0; i < counts.Length; i += Stride)
        {
            s += Volatile.Read(ref counts[i]);
        }

        return s;
    }

    private sealed class LoadState
    {
        private volatile bool _stop;
        private volatile bool _measuring;

        public bool Stop
        {
            get => _stop;
            set => _stop = value;
        }

        public bool Measuring
        {
            get => _measuring;
            set => _measuring = value;
        }
    }
}
