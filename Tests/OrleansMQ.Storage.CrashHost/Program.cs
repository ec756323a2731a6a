using System.Text;
using OrleansMQ.Storage;
using OrleansMQ.Protocol.Batches;
using OrleansMQ.Storage.Log;
using OrleansMQ.Storage.Engine;

// usage: CrashHost <dataDir> <async|sync> <partitions> <writers> <run> [truncate]
// Prints "READY" once open, then "ACK <partition> <baseOffset> <writer> <seq>" after each append
// completes at the flush policy's durability point. Values are "g<run>w<writer>-s<seq>-r<record>-...".
// With "truncate", partition 0 belongs to one follower-like loop instead of the writers: per cycle it
// appends three batches it keeps (alternately as a producer and as a replica at carried offsets;
// "KEEP 0 <baseOffset> <cycle> <k> <records> <run>", values "g<run>keep-c<cycle>-s<k>-r<record>-"),
// three it dooms ("g<run>doom-c<cycle>-..."), truncates them away and prints
// "TRUNC 0 <offset> <cycle> <run>" once TruncateTo returned.
// Runs until killed.
if (args.Length < 5)
{
    Console.Error.WriteLine("usage: CrashHost <dataDir> <async|sync> <partitions> <writers> <run>");
    return 2;
}

var options = new StorageOptions
{
    DataDirectory = args[0],
    FlushPolicy = args[1] == "sync" ? FlushPolicy.Sync() : FlushPolicy.Async(TimeSpan.FromMilliseconds(50), 4),
    SegmentSize = 1 << 20,
    MaxBatchBytes = 512 << 10,
    // Every acknowledged record must still be there after the kill. The records carry fixed 2023
    // timestamps, which time retention (it measures record timestamps) would otherwise expire.
    RetentionTime = null,
    CheckpointInterval = TimeSpan.FromMilliseconds(100),
    ConsumeQueueEntriesPerFile = 1024,
    IndexSlotCount = 1024,
    IndexEntriesPerFile = 8192,
};
int partitions = int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
int writers = int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture);
string run = args[4];
bool truncate = args.Length > 5 && args[5] == "truncate";

using var engine = StorageEngine.Open(options);
var logs = Enumerable.Range(0, partitions).Select(p => engine.GetOrCreatePartition("crash", p, new PartitionOptions { IndexKeys = true })).ToArray();
var stdout = new StreamWriter(Console.OpenStandardOutput(), Encoding.ASCII) { AutoFlush = true };
var gate = new Lock();
stdout.WriteLine("READY");

var tasks = Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
{
    var rnd = new Random(w);
    for (long seq = 0; ; seq++)
    {
        int p = truncate ? 1 + rnd.Next(partitions - 1) : rnd.Next(partitions);
        var builder = new RecordBatchBuilder();
        int records = 1 + rnd.Next(20);
        for (int r = 0; r < records; r++)
        {
            builder.Add(Encoding.ASCII.GetBytes($"w{w}"), Encoding.ASCII.GetBytes($"g{run}w{w}-s{seq}-r{r}-" + new string('x', rnd.Next(300))), 1_700_000_000_000 + seq);
        }

        if (truncate && seq % 4 == 0)
        {
            // Leave the dispatcher some of the two cores: a truncation waits for it twice, and an
            // unthrottled flood from eight writers keeps it seconds behind.
            await Task.Delay(1);
        }

        var result = await engine.AppendAsync(logs[p], builder.Build());
        lock (gate)
        {
            stdout.WriteLine($"ACK {p} {result.BaseOffset} {w} {seq} {records} {run}");
        }
    }
})).ToList();

if (truncate)
{
    tasks.Add(Task.Run(async () =>
    {
        var p0 = logs[0];
        for (long cycle = 0; ; cycle++)
        {
            for (int k = 0; k < 3; k++)
            {
                var batch = Batch($"g{run}keep-c{cycle}-s{k}", 1 + k);
                var result = cycle % 2 == 0
                    ? await engine.AppendAsync(p0, batch)
                    : await engine.AppendReplicaAsync(p0, Stamp(batch, p0.LogEndOffset));
                lock (gate)
                {
                    stdout.WriteLine($"KEEP 0 {result.BaseOffset} {cycle} {k} {1 + k} {run}");
                }
            }

            long doomed = p0.LogEndOffset;
            for (int k = 0; k < 3; k++)
            {
                await engine.AppendAsync(p0, Batch($"g{run}doom-c{cycle}-s{k}", 2));
            }

            engine.TruncateTo(p0, doomed);
            lock (gate)
            {
                stdout.WriteLine($"TRUNC 0 {doomed} {cycle} {run}");
            }
        }
    }));
}

await Task.WhenAll(tasks);
return 0;

static byte[] Batch(string prefix, int records)
{
    var builder = new RecordBatchBuilder();
    for (int r = 0; r < records; r++)
    {
        builder.Add(Encoding.ASCII.GetBytes("p0"), Encoding.ASCII.GetBytes($"{prefix}-r{r}-"), 1_700_000_000_000 + r);
    }

    return builder.Build();
}

static byte[] Stamp(byte[] batch, long baseOffset)
{
    RecordBatch.StampBaseOffset(batch, baseOffset);
    return batch;
}
