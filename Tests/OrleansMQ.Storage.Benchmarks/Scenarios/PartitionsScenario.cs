using System.Diagnostics;
using OrleansMQ.Storage.Log;
using OrleansMQ.Storage.Engine;
using static OrleansMQ.Storage.Benchmarks.BenchEnvironment;

namespace OrleansMQ.Storage.Benchmarks.Scenarios;

/// <summary>
/// (c) The same volume (1 GiB of 16-record batches of 1 KiB values) written round-robin over 1,
/// 100, 1,000 and 10,000 partitions by one writer: into the CommitLog (one shared log), and into
/// a Kafka-style layout (one file per partition), both with a 200 ms async flush.
/// </summary>
internal static class PartitionsScenario
{
    /// <summary>
    /// ConsumeQueue file size for this scenario: 4,096 entries = 128 KiB. The default (262,144
    /// entries = 8 MiB, preallocated with fallocate when a partition gets its first entry) would
    /// reserve 10,000 x 8 MiB = 78 GiB of disk at 10,000 partitions, more than this machine has free.
    /// </summary>
    private const int QueueEntriesPerFile = 4096;

    public static async Task RunAsync(BenchEnvironment env)
    {
        long totalBytes = env.Quick ? 128 * MiB : GiB;
        byte[] batch = BuildBatch(16, 1024);
        int count = (int)(totalBytes / batch.Length);
        int[] partitionCounts = [1, 100, 1_000, 10_000];
        env.Note($"{count} batches of {batch.Length} B (16 x 1 KiB values) = {(long)count * batch.Length} B, round-robin, one writer; CommitLog: default 1 GiB segments, async flush 200 ms/16 pages, ConsumeQueue files of {QueueEntriesPerFile} entries; Kafka-style: one file per partition, fsync of every dirty file every 200 ms; fd limit {FdLimit()}");

        var commitLog = new Dictionary<int, (double Cache, double Durable)>();
        var kafka = new Dictionary<int, (double Cache, double Durable)>();
        for (int i = 0; i < partitionCounts.Length; i++)
        {
            // Alternate which layout goes first, so neither always meets the other's leftovers.
            int n = partitionCounts[i];
            if ((i + env.Run) % 2 == 1)
            {
                commitLog[n] = await RunCommitLogAsync(env, n, batch, count).ConfigureAwait(false);
                kafka[n] = RunKafkaStyle(env, n, batch, count);
            }
            else
            {
                kafka[n] = RunKafkaStyle(env, n, batch, count);
                commitLog[n] = await RunCommitLogAsync(env, n, batch, count).ConfigureAwait(false);
            }
        }

        foreach (int n in partitionCounts)
        {
            env.Row($"{n:N0} partitions", "CommitLog / Kafka-style, incl. final flush", commitLog[n].Durable / kafka[n].Durable, "x", $"page cache only: {F(commitLog[n].Cache / kafka[n].Cache, "F2")}x");
        }

        double one = commitLog[1].Durable, tenK = commitLog[10_000].Durable;
        double pct = 100 * tenK / one;
        env.Target("CommitLog at 10,000 partitions within 10% of 1 partition (incl. final flush)", $"{F(pct, "F0")}% ({F(tenK, "F0")} vs {F(one, "F0")} MiB/s); page cache only: {F(100 * commitLog[10_000].Cache / commitLog[1].Cache, "F0")}%", pct >= 90);
    }

    private static string FdLimit()
    {
        try
        {
            var line = File.ReadLines("/proc/self/limits").FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
            return line is null ? "?" : string.Join('/', line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3..5]);
        }
        catch (IOException)
        {
            return "?";
        }
    }

    private static async Task<(double Cache, double Durable)> RunCommitLogAsync(BenchEnvironment env, int partitions, byte[] batch, int count)
    {
        string name = $"CommitLog, {partitions:N0} partitions";
        string dir = env.NewDir("partitions-cl");
        try
        {
            var options = new StorageOptions
            {
                DataDirectory = dir,
                FlushPolicy = FlushPolicy.Async(),
                ConsumeQueueEntriesPerFile = QueueEntriesPerFile,
            };
            long disk0, disk;
            double cacheSec, durableSec, setupSec, dispatchLagMs, checkpointMs, closeMs;
            int checkpointRetries;
            long bytes;
            var engine = StorageEngine.Open(options);
            try
            {
                long s0 = Stopwatch.GetTimestamp();
                var logs = new PartitionLog[partitions];
                for (int i = 0; i < partitions; i++)
                {
                    logs[i] = engine.GetOrCreatePartition("bench", i);
                }

                setupSec = Stopwatch.GetElapsedTime(s0).TotalSeconds;
                await Task.Delay(1500).ConfigureAwait(false); // let the prepared segment finish
                disk0 = DiskStats.BytesWritten();
                long startPos = engine.CommitLog.CommittedPosition;
                long start = Stopwatch.GetTimestamp();
                for (int i = 0; i < count; i++)
                {
                    var pending = engine.AppendAsync(logs[i % partitions], batch);
                    if (!pending.IsCompletedSuccessfully)
                    {
                        await pending.ConfigureAwait(false);
                    }
                }

                long written = Stopwatch.GetTimestamp();
                engine.CommitLog.FlushCommitted();
                long durable = Stopwatch.GetTimestamp();
                disk = DiskStats.BytesWritten() - disk0;
                bytes = engine.CommitLog.CommittedPosition - startPos;
                cacheSec = Stopwatch.GetElapsedTime(start, written).TotalSeconds;
                durableSec = Stopwatch.GetElapsedTime(start, durable).TotalSeconds;
                while (engine.DispatchedPosition < engine.CommitLog.CommittedPosition)
                {
                    await Task.Delay(5).ConfigureAwait(false);
                }

                dispatchLagMs = Stopwatch.GetElapsedTime(durable).TotalMilliseconds;
                long c0 = Stopwatch.GetTimestamp();
                checkpointRetries = FlushWithRetry(engine); // every ConsumeQueue msynced + checkpoint, what the housekeeper does each second
                checkpointMs = Stopwatch.GetElapsedTime(c0).TotalMilliseconds;
            }
            finally
            {
                long d0 = Stopwatch.GetTimestamp();
                engine.Dispose();
                closeMs = Stopwatch.GetElapsedTime(d0).TotalMilliseconds;
            }

            double device = disk / (double)bytes;
            double cache = bytes / (double)MiB / cacheSec, dur = bytes / (double)MiB / durableSec;
            env.Row(name, "throughput, page cache", cache, "MiB/s", $"appends {F(cacheSec, "F2")} s");
            env.Row(name, "throughput, incl. final flush", dur, "MiB/s", $"final msync {F((durableSec - cacheSec) * 1000, "F0")} ms; device bytes/logical {F(device, "F2")} until then");
            env.Row(name, "partition creation", setupSec * 1000, "ms", "GetOrCreatePartition for all (registry rewrite + fsync each), not in the throughput");
            env.Row(name, "dispatch lag after last append / full checkpoint / close", dispatchLagMs, "ms", $"engine.Flush() (all ConsumeQueues + checkpoint) {F(checkpointMs, "F0")} ms{(checkpointRetries > 0 ? $" ({checkpointRetries} retries: raced the housekeeper's checkpoint)" : "")}, Dispose {F(closeMs, "F0")} ms");
            return (cache, dur);
        }
        finally
        {
            DeleteDir(dir);
        }
    }

    /// <summary>
    /// StorageEngine.Flush() writes the checkpoint without excluding the housekeeping thread, which
    /// writes it every second through the same temp file opened with FileShare.None; when the two
    /// meet, Flush throws IOException. Retried here; returns the number of retries.
    /// </summary>
    private static int FlushWithRetry(StorageEngine engine)
    {
        for (int retries = 0; ; retries++)
        {
            try
            {
                engine.Flush();
                return retries;
            }
            catch (IOException) when (retries < 20)
            {
                Thread.Sleep(10);
            }
        }
    }

    private static (double Cache, double Durable) RunKafkaStyle(BenchEnvironment env, int partitions, byte[] batch, int count)
    {
        string name = $"Kafka-style, {partitions:N0} partitions";
        string dir = env.NewDir("partitions-kafka");
        try
        {
            long s0 = Stopwatch.GetTimestamp();
            double cacheSec, durableSec, setupSec, closeMs;
            long disk0, disk, fsyncs;
            long bytes = (long)count * batch.Length;
            var log = new KafkaStyleLog(dir, partitions, TimeSpan.FromMilliseconds(200));
            try
            {
                setupSec = Stopwatch.GetElapsedTime(s0).TotalSeconds;
                disk0 = DiskStats.BytesWritten();
                long start = Stopwatch.GetTimestamp();
                for (int i = 0; i < count; i++)
                {
                    log.Append(i % partitions, batch);
                }

                long written = Stopwatch.GetTimestamp();
                log.FlushDirty();
                long durable = Stopwatch.GetTimestamp();
                disk = DiskStats.BytesWritten() - disk0;
                cacheSec = Stopwatch.GetElapsedTime(start, written).TotalSeconds;
                durableSec = Stopwatch.GetElapsedTime(start, durable).TotalSeconds;
                fsyncs = log.Fsyncs;
            }
            finally
            {
                long d0 = Stopwatch.GetTimestamp();
                log.Dispose();
                closeMs = Stopwatch.GetElapsedTime(d0).TotalMilliseconds;
            }

            double device = disk / (double)bytes;
            double cache = bytes / (double)MiB / cacheSec, dur = bytes / (double)MiB / durableSec;
            env.Row(name, "throughput, page cache", cache, "MiB/s", $"appends {F(cacheSec, "F2")} s");
            env.Row(name, "throughput, incl. final flush", dur, "MiB/s", $"final fsync pass {F((durableSec - cacheSec) * 1000, "F0")} ms; {fsyncs:N0} fsyncs; device bytes/logical {F(device, "F2")}");
            env.Row(name, "file creation / close", setupSec * 1000, "ms", $"close {F(closeMs, "F0")} ms");
            return (cache, dur);
        }
        finally
        {
            DeleteDir(dir);
        }
    }
}
