using Xunit;
using System.Text;
using OrleansMQ.Protocol.Batches;
using OrleansMQ.Storage.Log;
using OrleansMQ.Storage.Engine;
using static OrleansMQ.Storage.Tests.Engine.StorageEngineTests;
using static OrleansMQ.Storage.Tests.Engine.TestSupport;

namespace OrleansMQ.Storage.Tests.Engine;

/// <summary>
/// Random operations against the engine and against a plain in-memory model of what a Kafka log
/// should hold; after every step the engine must agree with the model (offsets, contents,
/// read budgets, timestamp and key lookups), across reopens and segment rolls.
/// </summary>
public sealed class ModelTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private sealed record ModelBatch(long BaseOffset, string[] Values, string?[] Keys, long[] Timestamps);

    [Theory]
    [InlineData(101, "async", "blocking")]
    [InlineData(202, "sync", "spin")]
    [InlineData(303, "async", "spin")]
    public async Task Engine_agrees_with_an_in_memory_model(int seed, string flush, string putLock)
    {
        var rnd = new Random(seed);
        StorageOptions Options()
        {
            var o = SmallOptions(_dir.Path, flush == "sync" ? FlushPolicy.Sync() : null);
            o.PutLock = putLock == "spin" ? PutLockKind.Spin : PutLockKind.Blocking;
            return o;
        }

        var model = new Dictionary<(string, int), List<ModelBatch>>();
        var engine = StorageEngine.Open(Options());
        try
        {
            long clock = BaseTime;
            for (int step = 0; step < 600; step++)
            {
                int op = rnd.Next(100);
                var key = ($"topic{rnd.Next(2)}", rnd.Next(3));
                if (!model.TryGetValue(key, out var batches))
                {
                    batches = model[key] = new List<ModelBatch>();
                }

                var p = engine.GetOrCreatePartition(key.Item1, key.Item2, new PartitionOptions { IndexKeys = key.Item1 == "topic0" });
                if (op < 60)
                {
                    int count = 1 + rnd.Next(8);
                    var codec = rnd.Next(3) == 0 ? CompressionCodec.Gzip : CompressionCodec.None;
                    var b = new RecordBatchBuilder(codec);
                    var values = new string[count];
                    var keys = new string?[count];
                    var times = new long[count];
                    for (int i = 0; i < count; i++)
                    {
                        values[i] = $"s{step}-{i}-" + new string('v', rnd.Next(rnd.Next(10) == 0 ? 30_000 : 200));
                        keys[i] = rnd.Next(4) == 0 ? null : $"key{rnd.Next(10)}";
                        clock += rnd.Next(0, 5);
                        times[i] = clock;
                        if (keys[i] is null)
                        {
                            b.Add(Encoding.UTF8.GetBytes(values[i]), times[i]);
                        }
                        else
                        {
                            b.Add(Encoding.UTF8.GetBytes(keys[i]!), Encoding.UTF8.GetBytes(values[i]), times[i]);
                        }
                    }

                    long expectedBase = batches.Count == 0 ? 0 : batches[^1].BaseOffset + batches[^1].Values.Length;
                    var r = await engine.AppendAsync(p, b.Build());
                    Assert.Equal(expectedBase, r.BaseOffset);
                    batches.Add(new ModelBatch(expectedBase, values, keys, times));
                }
                else if (op < 80)
                {
                    long end = batches.Count == 0 ? 0 : batches[^1].BaseOffset + batches[^1].Values.Length;
                    await WaitForHighWatermark(p, end);
                    long offset = end == 0 ? 0 : rnd.NextInt64(0, end + 1);
                    int budget = rnd.Next(1, 100_000);
                    var spans = new List<LogSpan>();
                    Assert.Equal(ReadStatus.Ok, engine.ReadSpans(p, offset, budget, spans));
                    var expected = batches.Where(x => x.BaseOffset + x.Values.Length > offset).ToList();
                    if (expected.Count == 0)
                    {
                        Assert.Empty(spans);
                    }
                    else
                    {
                        Assert.NotEmpty(spans);
                        Assert.True(spans.Count == 1 || spans.Sum(s => s.Length) <= budget);
                        for (int i = 0; i < spans.Count; i++)
                        {
                            Assert.Equal(expected[i].BaseOffset, spans[i].BaseOffset);
                            Assert.Equal(BatchError.None, RecordBatch.TryValidate(spans[i].Bytes, int.MaxValue, out var info));
                            Assert.Equal(expected[i].Values.Length, info.RecordCount);
                        }
                    }

                    spans.ForEach(s => s.Release());
                    Assert.Equal(ReadStatus.OffsetOutOfRange, engine.ReadSpans(p, end + 1, budget, spans));
                }
                else if (op < 88)
                {
                    long end = batches.Count == 0 ? 0 : batches[^1].BaseOffset + batches[^1].Values.Length;
                    await WaitForHighWatermark(p, end);
                    long t = BaseTime + rnd.NextInt64(-10, clock - BaseTime + 10);
                    var all = batches.SelectMany(x => x.Timestamps.Select((ts, i) => (Offset: x.BaseOffset + i, Ts: ts))).ToList();
                    var first = all.Where(x => x.Ts >= t).Select(x => ((long, long)?)(x.Offset, x.Ts)).FirstOrDefault();
                    Assert.Equal(first, engine.FindOffsetByTimestamp(p, t));
                }
                else if (op < 95)
                {
                    long end = batches.Count == 0 ? 0 : batches[^1].BaseOffset + batches[^1].Values.Length;
                    await WaitForHighWatermark(p, end);
                    string k = $"key{rnd.Next(10)}";
                    var expected = batches.SelectMany(x => x.Keys.Select((kk, i) => (Key: kk, Offset: x.BaseOffset + i))).Where(x => x.Key == k).Select(x => x.Offset).Reverse().ToList();
                    var hits = engine.LookupByKey(p, Encoding.UTF8.GetBytes(k), 0, long.MaxValue, 10_000).Select(h => h.Offset).ToList();
                    Assert.Equal(key.Item1 == "topic0" ? expected : new List<long>(), hits);
                }
                else
                {
                    engine.Dispose();
                    engine = StorageEngine.Open(Options());
                    Assert.True(engine.Recovery.CleanShutdown);
                }
            }

            foreach (var ((topic, partition), batches) in model)
            {
                Assert.True(engine.TryGetPartition(topic, partition, out var p));
                long end = batches.Count == 0 ? 0 : batches[^1].BaseOffset + batches[^1].Values.Length;
                await WaitForHighWatermark(p, end);
                Assert.Equal(batches.SelectMany(b => b.Values), ReadAll(engine, p).Select(r => r.Value));
            }
        }
        finally
        {
            engine.Dispose();
        }
    }
}
