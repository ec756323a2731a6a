using Xunit;
using System.Text;
using OrleansMQ.Protocol.Batches;
using OrleansMQ.Storage.Log;
using OrleansMQ.Storage.Engine;

namespace OrleansMQ.Storage.Tests.Engine;

/// <summary>
/// The engine's clock, moved by the test. It may stand anywhere relative to the wall clock: the
/// engine must compare it only with record timestamps, never with file times or DateTime.UtcNow.
/// </summary>
internal sealed class FakeClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks; // read by the engine's threads

    public DateTimeOffset Now => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public long NowMs => Now.ToUnixTimeMilliseconds();

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);

    public override DateTimeOffset GetUtcNow() => Now;
}

internal static class TestSupport
{
    public const long BaseTime = 1_700_000_000_000;

    /// <summary>Small files so rolls happen within a test.</summary>
    public static StorageOptions SmallOptions(string dir, FlushPolicy? flush = null) => new()
    {
        DataDirectory = dir,
        SegmentSize = 1 << 20,
        MaxBatchBytes = 512 << 10,
        FlushPolicy = flush ?? FlushPolicy.Async(TimeSpan.FromMilliseconds(20), 4),
        ConsumeQueueEntriesPerFile = 64,
        IndexSlotCount = 512,
        IndexEntriesPerFile = 2048,
        CheckpointInterval = TimeSpan.FromMilliseconds(50),
        CleanupInterval = TimeSpan.FromHours(1),
    };

    /// <summary>A batch of <paramref name="count"/> records "tag-i", keyed "k-(i % keys)".</summary>
    public static byte[] Batch(string tag, int count, long timestamp = BaseTime, CompressionCodec codec = CompressionCodec.None, int valuePadding = 0, int keys = 0)
    {
        var b = new RecordBatchBuilder(codec);
        for (int i = 0; i < count; i++)
        {
            var value = Encoding.UTF8.GetBytes($"{tag}-{i}" + new string('.', valuePadding));
            if (keys > 0)
            {
                b.Add(Encoding.UTF8.GetBytes($"k-{i % keys}"), value, timestamp + i);
            }
            else
            {
                b.Add(value, timestamp + i);
            }
        }

        return b.Build();
    }

    /// <summary>The StorageException an append is refused with (fails the test if it is accepted).</summary>
    public static StorageException Refused(StorageEngine engine, PartitionLog p, byte[] batch)
    {
        try
        {
            engine.AppendAsync(p, batch).AsTask().GetAwaiter().GetResult();
        }
        catch (StorageException ex)
        {
            return ex;
        }

        Assert.Fail("the append was accepted");
        return null!;
    }

    /// <summary>Every record (offset, key, value, timestamp) readable from <paramref name="offset"/> to the high watermark.</summary>
    public static List<(long Offset, string? Key, string Value, long Timestamp)> ReadAll(StorageEngine engine, PartitionLog p, long offset = -1)
    {
        var result = new List<(long, string?, string, long)>();
        long next = offset < 0 ? p.LogStartOffset : offset;
        var spans = new List<LogSpan>();
        while (next < p.HighWatermark)
        {
            spans.Clear();
            Assert.Equal(ReadStatus.Ok, engine.ReadSpans(p, next, 64 * 1024, spans));
            Assert.NotEmpty(spans);
            try
            {
                foreach (var s in spans)
                {
                    var batch = s.Bytes;
                    Assert.Equal(BatchError.None, RecordBatch.TryValidate(batch, int.MaxValue, out var info));
                    long baseOffset = RecordBatch.ReadBaseOffset(batch);
                    Assert.Equal(s.BaseOffset, baseOffset);
                    using (var section = RecordBatchRecords.GetRecords(batch, info))
                    {
                        var reader = new RecordReader(section.Span, info.RecordCount);
                        while (reader.TryReadNext(out var r))
                        {
                            long o = baseOffset + r.OffsetDelta;
                            if (o >= next)
                            {
                                result.Add((o, r.KeyIsNull ? null : Encoding.UTF8.GetString(r.Key), Encoding.UTF8.GetString(r.Value), info.FirstTimestamp + r.TimestampDelta));
                            }
                        }
                    }

                    next = baseOffset + info.LastOffsetDelta + 1;
                }
            }
            finally
            {
                foreach (var s in spans)
                {
                    s.Release();
                }
            }
        }

        return result;
    }
}
