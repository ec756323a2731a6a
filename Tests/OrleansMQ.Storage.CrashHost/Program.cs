using System.Text;
using OrleansMQ.Storage;
using OrleansMQ.Protocol.Batches;
using OrleansMQ.Storage.Log;
using OrleansMQ.Storage.Engine;

// usage: CrashHost <dataDir> <async|sync> <partitions> <writers> <run>
// Prints "READY" once open, then "ACK <partition> <baseOffset> <writer> <seq>" after each append
// completes at the flush policy's durability point. Values are "g<run>w<writer>-s<seq>-r<record>-...".
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
        int p = rnd.Next(partitions);
        var builder = new RecordBatchBuilder();
        int records = 1 + rnd.Next(20);
        for (int r = 0; r < records; r++)
        {
            builder.Add(Encoding.ASCII.GetBytes($"w{w}"), Encoding.ASCII.GetBytes($"g{run}w{w}-s{seq}-r{r}-" + new string('x', rnd.Next(300))), 1_700_000_000_000 + seq);
        }

        var result = await engine.AppendAsync(logs[p], builder.Build());
        lock (gate)
        {
            stdout.WriteLine($"ACK {p} {result.BaseOffset} {w} {seq} {records} {run}");
        }
    }
})).ToArray();

await Task.WhenAll(tasks);
return 0;
