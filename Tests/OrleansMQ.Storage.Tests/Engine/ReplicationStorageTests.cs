using Xunit;
using System.Buffers;
using System.Text;
using OrleansMQ.Protocol.Batches;
using OrleansMQ.Storage.Engine;
using static OrleansMQ.Storage.Tests.Engine.StorageEngineTests;
using static OrleansMQ.Storage.Tests.Engine.TestSupport;

namespace OrleansMQ.Storage.Tests.Engine;

/// <summary>
/// The storage pieces replication uses, on real files: a follower's append of the leader's bytes
/// at their offsets, follower truncation (live, after a clean reopen and after a replay of the
/// whole log), the high-watermark cap on consumer reads, and DeleteRecords' log start.
/// </summary>
public sealed class ReplicationStorageTests : IDisposable
{
    private readonly TempDir _leaderDir = new();
    private readonly TempDir _dir = new();

    public void Dispose()
    {
        _leaderDir.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task Replica_append_stores_the_leaders_bytes_at_their_offsets_byte_for_byte()
    {
        using var leader = StorageEngine.Open(SmallOptions(_leaderDir.Path));
        var lp = leader.GetOrCreatePartition("orders", 0);
        for (int i = 0; i < 12; i++)
        {
            var batch = Batch($"b{i}", 1 + (i % 4), keys: 2);
            RecordBatch.StampPartitionLeaderEpoch(batch, 3 + (i / 5)); // the leader's epochs, which the follower must keep
            await leader.AppendAsync(lp, batch);
        }

        await WaitForHighWatermark(lp, lp.LogEndOffset);
        var fetched = new ArrayBufferWriter<byte>();
        leader.Read(lp, 0, int.MaxValue, fetched, out var status);
        Assert.Equal(ReadStatus.Ok, status);

        using var follower = StorageEngine.Open(SmallOptions(_dir.Path));
        var fp = follower.GetOrCreatePartition("orders", 0, new PartitionOptions { IndexKeys = true });
        // Two fetch responses: the first six batches, then the rest, each appended in one call.
        int split = SplitAfter(fetched.WrittenSpan, 6);
        var first = await follower.AppendReplicaAsync(fp, fetched.WrittenSpan[..split]);
        Assert.Equal(0, first.BaseOffset);
        var second = await follower.AppendReplicaAsync(fp, fetched.WrittenSpan[split..]);
        Assert.Equal(first.LastOffset + 1, second.BaseOffset);
        Assert.Equal(lp.LogEndOffset - 1, second.LastOffset);
        Assert.Equal(lp.LogEndOffset, fp.LogEndOffset);
        await WaitForHighWatermark(fp, fp.LogEndOffset);

        var copy = new ArrayBufferWriter<byte>();
        follower.Read(fp, 0, int.MaxValue, copy, out status);
        Assert.Equal(ReadStatus.Ok, status);
        Assert.Equal(fetched.WrittenSpan.ToArray(), copy.WrittenSpan.ToArray());
        Assert.Equal(ReadAll(leader, lp), ReadAll(follower, fp));
        Assert.Contains(follower.LookupByKey(fp, "k-1"u8, 0, long.MaxValue, 100), h => h.Offset == 2); // b1's second record

        // A producer's append after replication continues from the log end, as on a new leader.
        var r = await follower.AppendAsync(fp, Batch("led", 2));
        Assert.Equal(lp.LogEndOffset, r.BaseOffset);
    }

    [Fact]
    public async Task Replica_append_refuses_a_gap_an_overlap_and_a_corrupt_batch_writing_nothing()
    {
        using var engine = StorageEngine.Open(SmallOptions(_dir.Path));
        var p = engine.GetOrCreatePartition("t", 0);
        await engine.AppendReplicaAsync(p, At(0, Batch("a", 3)));
        Assert.Equal(3, p.LogEndOffset);

        // Gap: the leader's batch at 5 while the follower ends at 3.
        var gap = await Assert.ThrowsAsync<StorageException>(() => engine.AppendReplicaAsync(p, At(5, Batch("g", 1))).AsTask());
        Assert.Equal(StorageError.OffsetMismatch, gap.Error);
        Assert.Contains("5", gap.Message, StringComparison.Ordinal);
        Assert.Contains("3", gap.Message, StringComparison.Ordinal);

        // Overlap: a batch the follower already holds.
        var overlap = await Assert.ThrowsAsync<StorageException>(() => engine.AppendReplicaAsync(p, At(0, Batch("o", 1))).AsTask());
        Assert.Equal(StorageError.OffsetMismatch, overlap.Error);

        // A good first batch followed by one that skips an offset: nothing of the call is written.
        var gapInside = Concat(At(3, Batch("c", 2)), At(6, Batch("d", 2)));
        var inside = await Assert.ThrowsAsync<StorageException>(() => engine.AppendReplicaAsync(p, gapInside).AsTask());
        Assert.Equal(StorageError.OffsetMismatch, inside.Error);
        Assert.Contains("6", inside.Message, StringComparison.Ordinal);
        Assert.Contains("5", inside.Message, StringComparison.Ordinal);

        // A flipped record byte in the second batch: CorruptBatch, nothing written.
        var corrupt = Concat(At(3, Batch("c", 2)), At(5, Batch("d", 2)));
        corrupt[^3] ^= 0x5A;
        var bad = await Assert.ThrowsAsync<StorageException>(() => engine.AppendReplicaAsync(p, corrupt).AsTask());
        Assert.Equal(StorageError.CorruptBatch, bad.Error);

        Assert.Equal(3, p.LogEndOffset);
        var ok = await engine.AppendReplicaAsync(p, Concat(At(3, Batch("c", 2)), At(5, Batch("d", 2))));
        Assert.Equal((3L, 6L), (ok.BaseOffset, ok.LastOffset));
        await WaitForHighWatermark(p, 7);
        Assert.Equal(new[] { "a-0", "a-1", "a-2", "c-0", "c-1", "d-0", "d-1" }, ReadAll(engine, p).Select(r => r.Value));
    }

    [Fact]
    public async Task Truncation_removes_the_tail_and_the_next_appends_reuse_its_offsets()
    {
        using var engine = StorageEngine.Open(SmallOptions(_dir.Path));
        var p = engine.GetOrCreatePartition("t", 0, new PartitionOptions { IndexKeys = true });
        var other = engine.GetOrCreatePartition("t", 1);
        for (int i = 0; i < 10; i++)
        {
            await engine.AppendAsync(p, Batch($"old{i}", 3, keys: 3));
            await engine.AppendAsync(other, Batch($"o{i}", 2));
        }

        Assert.Equal(30, p.LogEndOffset);

        // Offset 17 lies inside the batch 15..17: the whole batch goes.
        engine.TruncateTo(p, 17);
        Assert.Equal(15, p.LogEndOffset);
        Assert.Equal(15, p.HighWatermark);
        Assert.Equal(Enumerable.Range(0, 15).Select(i => $"old{i / 3}-{i % 3}"), ReadAll(engine, p).Select(r => r.Value));
        var spans = new List<LogSpan>();
        Assert.Equal(ReadStatus.Ok, engine.ReadSpans(p, 15, int.MaxValue, spans));
        Assert.Empty(spans);
        Assert.Equal(ReadStatus.OffsetOutOfRange, engine.ReadSpans(p, 16, int.MaxValue, spans));

        // At or above the log end: nothing to do.
        engine.TruncateTo(p, 15);
        engine.TruncateTo(p, 99);
        Assert.Equal(15, p.LogEndOffset);

        // New data at the same offsets, from a producer and from a leader.
        var r = await engine.AppendAsync(p, Batch("new0", 3, keys: 3));
        Assert.Equal(15, r.BaseOffset);
        await engine.AppendReplicaAsync(p, At(18, Batch("new1", 3, keys: 3)));
        await engine.AppendAsync(other, Batch("o-after", 2));
        await WaitForHighWatermark(p, 21);
        AssertTruncatedThenNew(engine, p);
        Assert.Equal(22, ReadAll(engine, other).Count);
    }

    [Theory]
    [InlineData("clean")]       // dispose + reopen: the truncation is in the flushed queue
    [InlineData("checkpoint")]  // unclean stop with a checkpoint from before the truncation: replay meets the marker
    [InlineData("full")]        // damaged checkpoint: the whole log is replayed, old tail, marker, new data in order
    public async Task Truncation_survives_reopen_and_every_replay(string how)
    {
        var options = SmallOptions(_dir.Path);
        byte[]? oldCheckpoint = null;
        using (var engine = StorageEngine.Open(options))
        {
            var p = engine.GetOrCreatePartition("t", 0, new PartitionOptions { IndexKeys = true });
            var other = engine.GetOrCreatePartition("t", 1);
            for (int i = 0; i < 10; i++)
            {
                await engine.AppendAsync(p, Batch($"old{i}", 3, keys: 3));
                await engine.AppendAsync(other, Batch($"o{i}", 2));
            }

            await WaitForHighWatermark(p, 30);
            await WaitForHighWatermark(other, 20);
            engine.Flush();
            oldCheckpoint = File.ReadAllBytes(Path.Combine(_dir.Path, "checkpoint"));
            engine.TruncateTo(p, 15);
            await engine.AppendAsync(other, Batch("o-mid", 2));
            await engine.AppendAsync(p, Batch("new0", 3, keys: 3));
            await engine.AppendAsync(other, Batch("o-after", 2));
            await engine.AppendReplicaAsync(p, At(18, Batch("new1", 3, keys: 3)));
            await WaitForHighWatermark(p, 21);
            AssertTruncatedThenNew(engine, p);
        }

        if (how == "checkpoint")
        {
            File.Delete(Path.Combine(_dir.Path, "clean-shutdown"));
            File.WriteAllBytes(Path.Combine(_dir.Path, "checkpoint"), oldCheckpoint!);
        }
        else if (how == "full")
        {
            File.Delete(Path.Combine(_dir.Path, "clean-shutdown"));
            File.WriteAllBytes(Path.Combine(_dir.Path, "checkpoint"), new byte[32]); // bad magic: ignored
        }

        for (int open = 0; open < 2; open++)
        {
            using var engine = StorageEngine.Open(options);
            Assert.Equal(how == "clean" || open > 0, engine.Recovery.CleanShutdown);
            if (how == "full" && open == 0)
            {
                Assert.False(engine.Recovery.CheckpointValid);
            }

            Assert.True(engine.TryGetPartition("t", 0, out var p));
            Assert.True(engine.TryGetPartition("t", 1, out var other));
            Assert.Equal(21, p.LogEndOffset);
            Assert.Equal(21, p.HighWatermark);
            AssertTruncatedThenNew(engine, p);
            var others = ReadAll(engine, other).Select(r => r.Value).ToList();
            Assert.Equal(24, others.Count);
            Assert.Equal(new[] { "o-mid-0", "o-mid-1", "o-after-0", "o-after-1" }, others.Skip(20));

            // Appends continue after the reopened log end.
            var r = await engine.AppendAsync(p, Batch($"reopen{open}", 1));
            Assert.Equal(21, r.BaseOffset); // the first open's append was truncated away before the second
            engine.TruncateTo(p, 21);
        }
    }

    [Fact]
    public async Task High_watermark_cap_returns_only_batches_below_it_and_is_not_out_of_range_above()
    {
        using var engine = StorageEngine.Open(SmallOptions(_dir.Path));
        var p = engine.GetOrCreatePartition("t", 0);
        for (int i = 0; i < 5; i++)
        {
            await engine.AppendAsync(p, Batch($"b{i}", 2)); // batches at 0, 2, 4, 6, 8
        }

        await WaitForHighWatermark(p, 10);
        var spans = new List<LogSpan>();
        try
        {
            Assert.Equal(ReadStatus.Ok, engine.ReadSpans(p, 0, int.MaxValue, spans, maxOffsetExclusive: 6));
            Assert.Equal(new long[] { 0, 2, 4 }, spans.Select(s => s.BaseOffset));
            Release(spans);

            Assert.Equal(ReadStatus.Ok, engine.ReadSpans(p, 3, int.MaxValue, spans, maxOffsetExclusive: 6));
            Assert.Equal(new long[] { 2, 4 }, spans.Select(s => s.BaseOffset));
            Release(spans);

            // At and above the cap, up to the log end: no batches, and not out of range.
            foreach (long offset in new long[] { 6, 7, 10 })
            {
                Assert.Equal(ReadStatus.Ok, engine.ReadSpans(p, offset, int.MaxValue, spans, maxOffsetExclusive: 6));
                Assert.Empty(spans);
            }

            Assert.Equal(ReadStatus.OffsetOutOfRange, engine.ReadSpans(p, 11, int.MaxValue, spans, maxOffsetExclusive: 6));
            Assert.Equal(ReadStatus.Ok, engine.ReadSpans(p, 0, int.MaxValue, spans, maxOffsetExclusive: 0));
            Assert.Empty(spans);

            // The uncapped form still reads to the end.
            Assert.Equal(ReadStatus.Ok, engine.ReadSpans(p, 0, int.MaxValue, spans));
            Assert.Equal(5, spans.Count);
            Release(spans);
        }
        finally
        {
            Release(spans);
        }

        var copy = new ArrayBufferWriter<byte>();
        engine.Read(p, 0, int.MaxValue, copy, 4, out var status);
        Assert.Equal(ReadStatus.Ok, status);
        Assert.Equal(Batch("b0", 2).Length * 2, copy.WrittenCount);
        Assert.Equal(0, engine.Read(p, 8, int.MaxValue, new ArrayBufferWriter<byte>(), 8, out status));
        Assert.Equal(ReadStatus.Ok, status);
    }

    [Fact]
    public async Task Key_lookups_never_return_truncated_records()
    {
        using (var engine = StorageEngine.Open(SmallOptions(_dir.Path)))
        {
            var p = engine.GetOrCreatePartition("t", 0, new PartitionOptions { IndexKeys = true });
            for (int i = 0; i < 6; i++)
            {
                await engine.AppendAsync(p, Batch($"old{i}", 2, keys: 1)); // every record keyed k-0
            }

            engine.TruncateTo(p, 4);
            Assert.Equal(new long[] { 3, 2, 1, 0 }, engine.LookupByKey(p, "k-0"u8, 0, long.MaxValue, 100).Select(h => h.Offset));
            await engine.AppendAsync(p, Batch("new", 2, keys: 1));
            await WaitForHighWatermark(p, 6);
            AssertNewKeyHits(engine, p);
        }

        using (var engine = StorageEngine.Open(SmallOptions(_dir.Path)))
        {
            Assert.True(engine.TryGetPartition("t", 0, out var p));
            AssertNewKeyHits(engine, p);
        }

        static void AssertNewKeyHits(StorageEngine engine, PartitionLog p)
        {
            var hits = engine.LookupByKey(p, "k-0"u8, 0, long.MaxValue, 100);
            Assert.Equal(new long[] { 5, 4, 3, 2, 1, 0 }, hits.Select(h => h.Offset));
            Assert.Equal(new[] { "new-1", "new-0", "old1-1", "old1-0", "old0-1", "old0-0" }, hits.Select(h => Encoding.UTF8.GetString(h.Value)));
        }
    }

    [Fact]
    public async Task DeleteRecordsBefore_moves_the_log_start_durably()
    {
        using (var engine = StorageEngine.Open(SmallOptions(_dir.Path)))
        {
            var p = engine.GetOrCreatePartition("t", 0);
            for (int i = 0; i < 10; i++)
            {
                await engine.AppendAsync(p, Batch($"b{i}", 5, timestamp: BaseTime + (i * 100)));
            }

            await WaitForHighWatermark(p, 50);
            Assert.Equal(23, engine.DeleteRecordsBefore(p, 23));
            Assert.Equal(23, engine.DeleteRecordsBefore(p, 10)); // never backwards
            AssertStartAt23(engine, p);
            var tooFar = Assert.Throws<StorageException>(() => engine.DeleteRecordsBefore(p, 51));
            Assert.Equal(StorageError.OffsetOutOfRange, tooFar.Error);
            var truncBelow = Assert.Throws<StorageException>(() => engine.TruncateTo(p, 22));
            Assert.Equal(StorageError.OffsetOutOfRange, truncBelow.Error);
        }

        using (var engine = StorageEngine.Open(SmallOptions(_dir.Path)))
        {
            Assert.True(engine.TryGetPartition("t", 0, out var p));
            AssertStartAt23(engine, p);
            Assert.Equal(50, engine.DeleteRecordsBefore(p, 50)); // up to the high watermark: an empty partition
            Assert.Equal(50, p.LogStartOffset);
            Assert.Equal(50, (await engine.AppendAsync(p, Batch("after", 1))).BaseOffset);
        }

        using (var engine = StorageEngine.Open(SmallOptions(_dir.Path)))
        {
            Assert.True(engine.TryGetPartition("t", 0, out var p));
            Assert.Equal(50, p.LogStartOffset);
            Assert.Equal(new[] { "after-0" }, ReadAll(engine, p).Select(r => r.Value));
        }

        static void AssertStartAt23(StorageEngine engine, PartitionLog p)
        {
            Assert.Equal(23, p.LogStartOffset);
            Assert.Equal(50, p.LogEndOffset);
            var spans = new List<LogSpan>();
            Assert.Equal(ReadStatus.OffsetOutOfRange, engine.ReadSpans(p, 22, int.MaxValue, spans));
            Assert.Equal(ReadStatus.Ok, engine.ReadSpans(p, 23, int.MaxValue, spans));
            Assert.Equal(20, spans[0].BaseOffset); // the batch holding 23 is served whole
            Release(spans);
            Assert.Equal(23, ReadAll(engine, p)[0].Offset);
            Assert.Equal(23, engine.FindOffsetByTimestamp(p, 0)?.Offset);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Truncate_fully_restarts_the_partition_at_another_offset_durably(bool wholeReplay)
    {
        var options = SmallOptions(_dir.Path);
        using (var engine = StorageEngine.Open(options))
        {
            var p = engine.GetOrCreatePartition("t", 0);
            var other = engine.GetOrCreatePartition("t", 1);
            for (int i = 0; i < 10; i++)
            {
                await engine.AppendAsync(p, Batch($"old{i}", 3));
                await engine.AppendAsync(other, Batch($"o{i}", 1));
            }

            // The leader's log start (100) is past this follower's log end (30).
            engine.TruncateFullyAndStartAt(p, 100);
            AssertEmptyAt(engine, p, 100);
        }

        using (var engine = StorageEngine.Open(options))
        {
            // Nothing is left in the queue: the restart offset came from the registry.
            Assert.True(engine.TryGetPartition("t", 0, out var p));
            AssertEmptyAt(engine, p, 100);
            await engine.AppendReplicaAsync(p, At(100, Batch("new", 2)));
        }

        if (wholeReplay)
        {
            File.Delete(Path.Combine(_dir.Path, "clean-shutdown"));
            File.WriteAllBytes(Path.Combine(_dir.Path, "checkpoint"), new byte[32]);
        }

        using (var engine = StorageEngine.Open(options))
        {
            Assert.True(engine.TryGetPartition("t", 0, out var p));
            Assert.True(engine.TryGetPartition("t", 1, out var other));
            Assert.Equal(100, p.LogStartOffset);
            Assert.Equal(102, p.LogEndOffset);
            Assert.Equal(new[] { (100L, "new-0"), (101L, "new-1") }, ReadAll(engine, p).Select(r => (r.Offset, r.Value)));
            Assert.Equal(10, ReadAll(engine, other).Count);

            // And back down: a reset may also start below the old log.
            engine.TruncateFullyAndStartAt(p, 7);
            AssertEmptyAt(engine, p, 7);
            Assert.Equal(7, (await engine.AppendAsync(p, Batch("low", 1))).BaseOffset);
        }

        static void AssertEmptyAt(StorageEngine engine, PartitionLog p, long offset)
        {
            Assert.Equal((offset, offset, offset), (p.LogStartOffset, p.HighWatermark, p.LogEndOffset));
            var spans = new List<LogSpan>();
            Assert.Equal(ReadStatus.OffsetOutOfRange, engine.ReadSpans(p, 0, int.MaxValue, spans));
            Assert.Equal(ReadStatus.Ok, engine.ReadSpans(p, offset, int.MaxValue, spans));
            Assert.Empty(spans);
        }
    }

    [Fact]
    public async Task Log_start_changes_replay_in_the_order_they_happened()
    {
        var options = SmallOptions(_dir.Path);
        using (var engine = StorageEngine.Open(options))
        {
            var p = engine.GetOrCreatePartition("t", 0);
            for (int i = 0; i < 6; i++)
            {
                await engine.AppendAsync(p, Batch($"b{i}", 5)); // 0..29
            }

            await WaitForHighWatermark(p, 30);
            Assert.Equal(23, engine.DeleteRecordsBefore(p, 23));

            // 24 lies in the batch 20..24, which also holds the log start: it goes whole, and the
            // log start comes down to the cut with it (an empty partition at 20).
            engine.TruncateTo(p, 24);
            Assert.Equal((20L, 20L), (p.LogStartOffset, p.LogEndOffset));
            await engine.AppendAsync(p, Batch("n0", 5));
            await engine.AppendAsync(p, Batch("n1", 5));
            await WaitForHighWatermark(p, 30);
            Assert.Equal(22, engine.DeleteRecordsBefore(p, 22));
        }

        // A replay of the whole log applies the raise, the cut and the raise again, in that order.
        File.Delete(Path.Combine(_dir.Path, "clean-shutdown"));
        File.WriteAllBytes(Path.Combine(_dir.Path, "checkpoint"), new byte[32]);
        using (var engine = StorageEngine.Open(options))
        {
            Assert.True(engine.TryGetPartition("t", 0, out var p));
            Assert.Equal((22L, 30L), (p.LogStartOffset, p.LogEndOffset));
            Assert.Equal(new[] { "n0-2", "n0-3", "n0-4" }, ReadAll(engine, p).Take(3).Select(r => r.Value));
        }
    }

    [Fact]
    public async Task Leader_epoch_end_offsets_follow_the_stamped_batches_through_truncation_and_reopen()
    {
        using (var engine = StorageEngine.Open(SmallOptions(_dir.Path)))
        {
            var p = engine.GetOrCreatePartition("t", 0);
            Assert.Equal(-1, engine.LatestLeaderEpoch(p));
            Assert.Equal((-1, -1L), engine.EndOffsetForLeaderEpoch(p, 0));

            // Batches of two records at 0, 2, ..., 12: two from before replication (no epoch), then epochs 0, 0, 2, 2, 5.
            int[] epochs = [-1, -1, 0, 0, 2, 2, 5];
            foreach (int epoch in epochs)
            {
                var batch = Batch($"e{epoch}", 2);
                RecordBatch.StampPartitionLeaderEpoch(batch, epoch);
                await engine.AppendAsync(p, batch);
            }

            Assert.Equal(5, engine.LatestLeaderEpoch(p));
            Assert.Equal((-1, -1L), engine.EndOffsetForLeaderEpoch(p, -1));
            Assert.Equal((5, 14L), engine.EndOffsetForLeaderEpoch(p, 5));  // the latest epoch ends at the log end
            Assert.Equal((-1, -1L), engine.EndOffsetForLeaderEpoch(p, 6)); // above every epoch held
            Assert.Equal((0, 8L), engine.EndOffsetForLeaderEpoch(p, 0));
            Assert.Equal((0, 8L), engine.EndOffsetForLeaderEpoch(p, 1));   // not held: the epoch below it, ended where 2 began
            Assert.Equal((2, 12L), engine.EndOffsetForLeaderEpoch(p, 4));

            // A follower that led epoch 5 alone truncates to where its new leader's epoch 2 ended.
            engine.TruncateTo(p, engine.EndOffsetForLeaderEpoch(p, 2).EndOffset);
            Assert.Equal(2, engine.LatestLeaderEpoch(p));
            Assert.Equal((2, 12L), engine.EndOffsetForLeaderEpoch(p, 2));
            Assert.Equal((-1, -1L), engine.EndOffsetForLeaderEpoch(p, 5));
            var next = At(12, Batch("e7", 3));
            RecordBatch.StampPartitionLeaderEpoch(next, 7);
            await engine.AppendReplicaAsync(p, next);
            Assert.Equal((2, 12L), engine.EndOffsetForLeaderEpoch(p, 5));
        }

        using (var engine = StorageEngine.Open(SmallOptions(_dir.Path)))
        {
            Assert.True(engine.TryGetPartition("t", 0, out var p));
            Assert.Equal(7, engine.LatestLeaderEpoch(p));
            Assert.Equal((7, 15L), engine.EndOffsetForLeaderEpoch(p, 7));
            Assert.Equal((2, 12L), engine.EndOffsetForLeaderEpoch(p, 6));

            // DeleteRecords into epoch 0 leaves where it ends unchanged.
            Assert.Equal(6, engine.DeleteRecordsBefore(p, 6));
            Assert.Equal((0, 8L), engine.EndOffsetForLeaderEpoch(p, 0));
        }
    }

    /// <summary>Offsets 0..14 old, 15..20 new (a producer's batch at 15, a leader's at 18); never the old tail.</summary>
    private static void AssertTruncatedThenNew(StorageEngine engine, PartitionLog p)
    {
        var records = ReadAll(engine, p);
        Assert.Equal(Enumerable.Range(0, 21).Select(i => (long)i), records.Select(r => r.Offset));
        Assert.Equal(
            Enumerable.Range(0, 15).Select(i => $"old{i / 3}-{i % 3}").Concat(new[] { "new0-0", "new0-1", "new0-2", "new1-0", "new1-1", "new1-2" }),
            records.Select(r => r.Value));
        Assert.Equal(new[] { "new1-0", "new0-0", "old4-0", "old3-0", "old2-0", "old1-0", "old0-0" }, engine.LookupByKey(p, "k-0"u8, 0, long.MaxValue, 100).Select(h => Encoding.UTF8.GetString(h.Value)));
    }

    /// <summary>The batch with <paramref name="baseOffset"/> stamped, as a leader's fetch response carries it.</summary>
    private static byte[] At(long baseOffset, byte[] batch)
    {
        RecordBatch.StampBaseOffset(batch, baseOffset);
        return batch;
    }

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(b => b).ToArray();

    private static int SplitAfter(ReadOnlySpan<byte> batches, int count)
    {
        int at = 0;
        for (int i = 0; i < count; i++)
        {
            at += (int)RecordBatch.ReadTotalLength(batches[at..]);
        }

        return at;
    }

    private static void Release(List<LogSpan> spans)
    {
        foreach (var s in spans)
        {
            s.Release();
        }

        spans.Clear();
    }
}
