using Xunit;
using OrleansMQ.Storage.Engine;
using static OrleansMQ.Storage.Tests.Engine.TestSupport;

namespace OrleansMQ.Storage.Tests.Engine;

/// <summary>
/// The engine's hot paths through its jobs (partition table, reader, local segment source) add no
/// per-call heap allocation: an append under the async flush policy and a zero-copy read into a
/// reused span list allocate nothing on the caller's thread.
/// </summary>
public sealed class HotPathAllocationTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Append_and_zero_copy_read_do_not_allocate()
    {
        using var engine = StorageEngine.Open(SmallOptions(_dir.Path));
        var p = engine.GetOrCreatePartition("hot", 0);
        var batch = Batch("hot", 3);

        // Warm up: JIT, the first wake-ups, the flush runner.
        for (int i = 0; i < 50; i++)
        {
            await engine.AppendAsync(p, batch);
        }

        const int Appends = 500; // ~50 KB: stays inside the 1 MiB segment, so no roll allocates
        int pendingAppends = 0;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Appends; i++)
        {
            var pending = engine.AppendAsync(p, batch);
            if (!pending.IsCompletedSuccessfully)
            {
                pendingAppends++;
            }

            await pending;
        }

        long appendBytes = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, pendingAppends); // an async-policy append completes synchronously
        Assert.Equal(0, appendBytes);

        await StorageEngineTests.WaitForHighWatermark(p, p.LogEndOffset);
        var spans = new List<LogSpan>(16);
        for (int i = 0; i < 50; i++)
        {
            Read(engine, p, spans, i * 3L);
        }

        before = GC.GetAllocatedBytesForCurrentThread();
        int served = 0;
        for (int i = 0; i < Appends; i++)
        {
            served += Read(engine, p, spans, i * 3L);
        }

        long readBytes = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(Appends, served);
        Assert.Equal(0, readBytes);
    }

    [Fact]
    public async Task Replica_append_of_many_batches_and_a_capped_read_do_not_allocate()
    {
        using var engine = StorageEngine.Open(SmallOptions(_dir.Path));
        var p = engine.GetOrCreatePartition("hot", 0);

        // One fetch response's worth: eight 3-record batches, restamped in place for each call as a
        // leader's would carry them (the stamp is outside the CRC).
        var one = Batch("hot", 3);
        var response = new byte[one.Length * 8];
        for (int i = 0; i < 8; i++)
        {
            one.CopyTo(response, i * one.Length);
        }

        for (int i = 0; i < 20; i++)
        {
            Restamp(response, one.Length, p.LogEndOffset);
            await engine.AppendReplicaAsync(p, response);
        }

        const int Calls = 100; // 800 batches, ~80 KB: no segment roll
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Calls; i++)
        {
            Restamp(response, one.Length, p.LogEndOffset);
            await engine.AppendReplicaAsync(p, response);
        }

        long appendBytes = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, appendBytes);
        Assert.Equal((20 + Calls) * 8 * 3, p.LogEndOffset);

        await StorageEngineTests.WaitForHighWatermark(p, p.LogEndOffset);
        var spans = new List<LogSpan>(64); // room for the 4 KiB of ~90-byte batches each read returns
        before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Calls; i++)
        {
            _ = engine.ReadSpans(p, i * 3L, 4096, spans, maxOffsetExclusive: 1000);
            foreach (var s in spans)
            {
                s.Release();
            }

            spans.Clear();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);

        static void Restamp(byte[] response, int batchLength, long baseOffset)
        {
            for (int i = 0; i < response.Length / batchLength; i++)
            {
                OrleansMQ.Protocol.Batches.RecordBatch.StampBaseOffset(response.AsSpan(i * batchLength), baseOffset + (i * 3));
            }
        }
    }

    /// <summary>Reads from <paramref name="offset"/> and releases the spans; 1 when batches came back (no assertion inside the measured loop).</summary>
    private static int Read(StorageEngine engine, PartitionLog p, List<LogSpan> spans, long offset)
    {
        var status = engine.ReadSpans(p, offset, 4096, spans);
        int ok = status == ReadStatus.Ok && spans.Count > 0 ? 1 : 0;
        foreach (var s in spans)
        {
            s.Release();
        }

        spans.Clear();
        return ok;
    }
}
