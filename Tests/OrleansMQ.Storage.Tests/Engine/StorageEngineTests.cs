using Xunit;
using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using OrleansMQ.Protocol.Batches;
using OrleansMQ.Storage.Log;
using OrleansMQ.Storage.Engine;
using static OrleansMQ.Storage.Tests.Engine.TestSupport;

namespace OrleansMQ.Storage.Tests.Engine;

public sealed class StorageEngineTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Appends_get_consecutive_offsets_and_read_back_byte_for_byte()
    {
        using var engine = StorageEngine.Open(SmallOptions(_dir.Path));
        var p = engine.GetOrCreatePartition("orders", 0);
        var sent = new List<byte[]>();
        long expected = 0;
        for (int i = 0; i < 20; i++)
        {
            var batch = Batch($"b{i}", 1 + (i % 5));
            sent.Add(batch);
            var r = await engine.AppendAsync(p, batch);
            Assert.Equal(expected, r.BaseOffset);
            Assert.Equal(expected + (i % 5), r.LastOffset);
            expected = r.LastOffset + 1;
        }

        Assert.Equal(expected, p.LogEndOffset);
        await WaitForHighWatermark(p, expected);

        var spans = new List<LogSpan>();
        Assert.Equal(ReadStatus.Ok, engine.ReadSpans(p, 0, int.MaxValue, spans));
        Assert.Equal(20, spans.Count);
        long offset = 0;
        for (int i = 0; i < 20; i++)
        {
            var stored = spans[i].Bytes.ToArray();
            Assert.Equal(offset, RecordBatch.ReadBaseOffset(stored));
            // Only baseOffset differs from what the producer sent; the batch CRC still holds.
            var original = (byte[])sent[i].Clone();
            RecordBatch.StampBaseOffset(original, offset);
            Assert.Equal(original, stored);
            Assert.Equal(BatchError.None, RecordBatch.TryValidate(stored, int.MaxValue, out var info));
            offset += info.LastOffsetDelta + 1;
            spans[i].Release();
        }
    }

    [Fact]
    public async Task Partitions_have_independent_offsets_in_one_commitlog()
    {
        using var engine = StorageEngine.Open(SmallOptions(_dir.Path));
        var a = engine.GetOrCreatePartition("t", 0);
        var b = engine.GetOrCreatePartition("t", 1);
        var c = engine.GetOrCreatePartition("other", 0);
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal(i * 2, (await engine.AppendAsync(a, Batch($"a{i}", 2))).BaseOffset);
            Assert.Equal(i, (await engine.AppendAsync(b, Batch($"b{i}", 1))).BaseOffset);
            Assert.Equal(i * 3, (await engine.AppendAsync(c, Batch($"c{i}", 3))).BaseOffset);
        }

        Assert.Single(Directory.GetFiles(Path.Combine(_dir.Path, "commitlog")).Where(f => !f.EndsWith(".tmp", StringComparison.Ordinal)).Take(1));
        await WaitForHighWatermark(c, 30);
        Assert.Equal(Enumerable.Range(0, 10).SelectMany(i => new[] { $"a{i}-0", $"a{i}-1" }), ReadAll(engine, a).Select(r => r.Value));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"b{i}-0"), ReadAll(engine, b).Select(r => r.Value));
        Assert.Equal(30, ReadAll(engine, c).Count);
    }

    [Fact]
    public async Task Segments_roll_with_twenty_digit_names_and_everything_survives_reopen()
    {
        var options = SmallOptions(_dir.Path);
        long end;
        var values = new List<string>();
        using (var engine = StorageEngine.Open(options))
        {
            var p = engine.GetOrCreatePartition("big", 0);
            for (int i = 0; i < 60; i++)
            {
                await engine.AppendAsync(p, Batch($"r{i}", 4, valuePadding: 12_000)); // ~48 KiB each → ~3 segments
                values.AddRange(Enumerable.Range(0, 4).Select(j => $"r{i}-{j}" + new string('.', 12_000)));
            }

            end = p.LogEndOffset;
            await WaitForHighWatermark(p, end);
            Assert.Equal(values, ReadAll(engine, p).Select(r => r.Value));
        }

        var files = Directory.GetFiles(Path.Combine(_dir.Path, "commitlog")).Select(Path.GetFileName).Order().ToList();
        Assert.True(files.Count >= 3, $"expected a roll, got {string.Join(",", files)}");
        for (int i = 0; i < files.Count; i++)
        {
            Assert.Equal(((long)i << 20).ToString("D20", System.Globalization.CultureInfo.InvariantCulture), files[i]);
            Assert.Equal(1L << 20, new FileInfo(Path.Combine(_dir.Path, "commitlog", files[i]!)).Length);
        }

        // The end of the first segment is padded with a blank entry ("BLNK").
        var first = File.ReadAllBytes(Path.Combine(_dir.Path, "commitlog", files[0]!));
        int pos = 0;
        while (BinaryPrimitives.ReadUInt32LittleEndian(first.AsSpan(pos + 4)) == 0x31514D4F)
        {
            pos += BinaryPrimitives.ReadInt32LittleEndian(first.AsSpan(pos));
        }

        Assert.Equal(0x4B4E4C42u, BinaryPrimitives.ReadUInt32LittleEndian(first.AsSpan(pos + 4)));
        Assert.Equal(first.Length - pos, BinaryPrimitives.ReadInt32LittleEndian(first.AsSpan(pos)));

        using (var engine = StorageEngine.Open(options))
        {
            Assert.True(engine.Recovery.CleanShutdown);
            Assert.True(engine.TryGetPartition("big", 0, out var p));
            Assert.Equal(end, p.LogEndOffset);
            Assert.Equal(end, p.HighWatermark);
            Assert.Equal(values, ReadAll(engine, p).Select(r => r.Value));
            Assert.Equal(end, (await engine.AppendAsync(p, Batch("after", 1))).BaseOffset);
        }
    }

    [Fact]
    public async Task Read_budget_returns_whole_batches_and_always_the_first()
    {
        using var engine = StorageEngine.Open(SmallOptions(_dir.Path));
        var p = engine.GetOrCreatePartition("t", 0);
        for (int i = 0; i < 5; i++)
        {
            await engine.AppendAsync(p, Batch($"x{i}", 10, valuePadding: 100)); // ~1.2 KiB each
        }

        await WaitForHighWatermark(p, 50);
        var spans = new List<LogSpan>();
        Assert.Equal(ReadStatus.Ok, engine.ReadSpans(p, 0, 1, spans));
        Assert.Single(spans); // larger than the budget, still returned
        spans.ForEach(s => s.Release());
        spans.Clear();

        int one = RecordBatchLength(engine, p);
        Assert.Equal(ReadStatus.Ok, engine.ReadSpans(p, 0, (one * 3) + 10, spans));
        Assert.Equal(3, spans.Count);
        spans.ForEach(s => s.Release());
        spans.Clear();

        // An offset in the middle of a batch returns the batch that holds it (Kafka clients skip the earlier records).
        Assert.Equal(ReadStatus.Ok, engine.ReadSpans(p, 25, 1, spans));
        Assert.Equal(20, spans[0].BaseOffset);
        spans.ForEach(s => s.Release());
        spans.Clear();

        Assert.Equal(ReadStatus.Ok, engine.ReadSpans(p, 50, 1000, spans)); // at the end: nothing yet
        Assert.Empty(spans);
        Assert.Equal(ReadStatus.OffsetOutOfRange, engine.ReadSpans(p, 51, 1000, spans));
        Assert.Equal(ReadStatus.OffsetOutOfRange, engine.ReadSpans(p, -1, 1000, spans));

        var buffer = new ArrayBufferWriter<byte>();
        int n = engine.Read(p, 0, 2 * one, buffer, out var status);
        Assert.Equal(ReadStatus.Ok, status);
        Assert.Equal(2 * one, n);
        Assert.Equal(BatchError.None, RecordBatch.TryValidate(buffer.WrittenSpan, int.MaxValue, out _));
    }

    private static int RecordBatchLength(StorageEngine engine, PartitionLog p)
    {
        var spans = new List<LogSpan>();
        engine.ReadSpans(p, 0, 1, spans);
        int len = spans[0].Length;
        spans.ForEach(s => s.Release());
        return len;
    }

    [Fact]
    public async Task Bad_batches_are_refused_with_a_clear_error_and_nothing_is_written()
    {
        var options = SmallOptions(_dir.Path);
        options.MaxBatchBytes = 4096;
        using var engine = StorageEngine.Open(options);
        var p = engine.GetOrCreatePartition("t", 0);
        await engine.AppendAsync(p, Batch("ok", 1));
        long position = engine.CommitLog.CommittedPosition;

        var badCrc = Batch("bad", 3);
        badCrc[^1] ^= 0x40;
        var badMagic = Batch("bad", 3);
        badMagic[16] = 1;
        var lyingLength = Batch("bad", 3);
        BinaryPrimitives.WriteInt32BigEndian(lyingLength.AsSpan(8), lyingLength.Length + 100);
        var tooBig = Batch("big", 10, valuePadding: 1000);
        var truncated = Batch("bad", 3)[..40];
        var goodThenBad = Batch("good", 1).Concat(badCrc).ToArray();

        Assert.Equal(StorageError.CorruptBatch, Refused(engine, p, badCrc).Error);
        Assert.Contains("CRC", Refused(engine, p, badCrc).Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(StorageError.CorruptBatch, Refused(engine, p, badMagic).Error);
        Assert.Equal(StorageError.CorruptBatch, Refused(engine, p, lyingLength).Error);
        Assert.Equal(StorageError.MessageTooLarge, Refused(engine, p, tooBig).Error);
        Assert.Equal(StorageError.CorruptBatch, Refused(engine, p, truncated).Error);
        Assert.Equal(StorageError.CorruptBatch, Refused(engine, p, goodThenBad).Error);
        Assert.Equal(StorageError.CorruptBatch, Refused(engine, p, Array.Empty<byte>()).Error);

        Assert.Equal(position, engine.CommitLog.CommittedPosition);
        Assert.Equal(1, p.LogEndOffset);
        Assert.Equal(1, (await engine.AppendAsync(p, Batch("ok2", 1))).BaseOffset);
    }

    [Fact]
    public async Task Several_batches_in_one_append_are_stored_in_order()
    {
        using var engine = StorageEngine.Open(SmallOptions(_dir.Path));
        var p = engine.GetOrCreatePartition("t", 0);
        var r = await engine.AppendAsync(p, Batch("a", 2).Concat(Batch("b", 3)).ToArray());
        Assert.Equal(0, r.BaseOffset);
        Assert.Equal(4, r.LastOffset);
        await WaitForHighWatermark(p, 5);
        Assert.Equal(new[] { "a-0", "a-1", "b-0", "b-1", "b-2" }, ReadAll(engine, p).Select(x => x.Value));
    }

    [Fact]
    public async Task Offset_by_timestamp_finds_the_first_record_at_or_after_it()
    {
        using var engine = StorageEngine.Open(SmallOptions(_dir.Path));
        var p = engine.GetOrCreatePartition("t", 0);
        for (int i = 0; i < 50; i++)
        {
            await engine.AppendAsync(p, Batch($"b{i}", 4, timestamp: BaseTime + (i * 10))); // records at +10i .. +10i+3
        }

        await WaitForHighWatermark(p, 200);
        Assert.Equal((0L, BaseTime), engine.FindOffsetByTimestamp(p, 0));
        Assert.Equal((0L, BaseTime), engine.FindOffsetByTimestamp(p, BaseTime));
        Assert.Equal((2L, BaseTime + 2), engine.FindOffsetByTimestamp(p, BaseTime + 2));
        Assert.Equal((4L, BaseTime + 10), engine.FindOffsetByTimestamp(p, BaseTime + 4)); // gap: next batch
        Assert.Equal((123L, BaseTime + 303), engine.FindOffsetByTimestamp(p, BaseTime + 303));
        Assert.Null(engine.FindOffsetByTimestamp(p, BaseTime + 10_000));
    }

    [Theory]
    [InlineData(CompressionCodec.None)]
    [InlineData(CompressionCodec.Gzip)]
    [InlineData(CompressionCodec.Snappy)]
    [InlineData(CompressionCodec.Lz4)]
    [InlineData(CompressionCodec.Zstd)]
    public async Task Keys_are_indexed_and_found_by_key_and_time_range(CompressionCodec codec)
    {
        using var engine = StorageEngine.Open(SmallOptions(_dir.Path));
        var p = engine.GetOrCreatePartition("keyed", 0, new PartitionOptions { IndexKeys = true });
        var plain = engine.GetOrCreatePartition("plain", 0);
        for (int i = 0; i < 40; i++)
        {
            await engine.AppendAsync(p, Batch($"v{i}", 5, timestamp: BaseTime + (i * 100), codec: codec, keys: 7));
            await engine.AppendAsync(plain, Batch($"v{i}", 5, timestamp: BaseTime + (i * 100), codec: codec, keys: 7));
        }

        await WaitForHighWatermark(p, 200);
        await WaitForHighWatermark(plain, 200);
        var all = ReadAll(engine, p).Where(r => r.Key == "k-3").OrderByDescending(r => r.Offset).ToList();
        var hits = engine.LookupByKey(p, "k-3"u8, 0, long.MaxValue, 1000);
        Assert.Equal(all.Select(r => r.Offset), hits.Select(h => h.Offset));
        Assert.All(hits, h => Assert.StartsWith("v", Encoding.UTF8.GetString(h.Value), StringComparison.Ordinal));

        var window = engine.LookupByKey(p, "k-3"u8, BaseTime + 1000, BaseTime + 1999, 1000);
        Assert.Equal(all.Where(r => r.Timestamp is >= BaseTime + 1000 and <= BaseTime + 1999).Select(r => r.Offset), window.Select(h => h.Offset));
        Assert.NotEmpty(window);
        Assert.Equal(3, engine.LookupByKey(p, "k-3"u8, 0, long.MaxValue, 3).Count);
        Assert.Empty(engine.LookupByKey(p, "missing"u8, 0, long.MaxValue, 10));
        Assert.Empty(engine.LookupByKey(plain, "k-3"u8, 0, long.MaxValue, 10)); // indexing is per topic
    }

    [Fact]
    public async Task A_batch_with_corrupt_compressed_records_is_stored_and_served_but_not_indexed_and_indexing_goes_on()
    {
        var logs = new ListLoggerFactory();
        using var engine = StorageEngine.Open(SmallOptions(_dir.Path), logs);
        var p = engine.GetOrCreatePartition("zstd", 0, new PartitionOptions { IndexKeys = true });
        var batch = Batch("z", 3, keys: 1);
        // Label plain records zstd (codec 4) and re-seal the CRC: the batch validates, but its
        // records are no zstd frame — what a buggy or hostile producer can send.
        short attributes = BinaryPrimitives.ReadInt16BigEndian(batch.AsSpan(RecordBatch.Attributes));
        BinaryPrimitives.WriteInt16BigEndian(batch.AsSpan(RecordBatch.Attributes), (short)((attributes & ~7) | 4));
        BinaryPrimitives.WriteUInt32BigEndian(batch.AsSpan(RecordBatch.Crc), Crc32C.Compute(batch.AsSpan(RecordBatch.Attributes)));

        await engine.AppendAsync(p, batch);
        await engine.AppendAsync(p, Batch("good", 2, codec: CompressionCodec.Zstd, keys: 2));
        await WaitForHighWatermark(p, 5);
        var spans = new List<LogSpan>();
        Assert.Equal(ReadStatus.Ok, engine.ReadSpans(p, 0, 100, spans));
        Assert.Equal(batch.AsSpan(RecordBatch.Attributes).ToArray(), spans[0].Bytes[RecordBatch.Attributes..].ToArray());
        spans.ForEach(s => s.Release());

        // The dispatcher went past the bad batch: the good one after it is indexed.
        Assert.Equal([4L], engine.LookupByKey(p, "k-1"u8, 0, long.MaxValue, 10).Select(h => h.Offset));
        var notIndexed = logs.Logger.Records.Where(r => r.Message.Contains("not key-indexed", StringComparison.Ordinal)).ToList();
        Assert.Single(notIndexed);
        Assert.Contains("zstd-0", notIndexed[0].Message, StringComparison.Ordinal);
        Assert.Contains("Zstd", notIndexed[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Concurrent_writers_keep_per_partition_order()
    {
        using var engine = StorageEngine.Open(SmallOptions(_dir.Path));
        var parts = Enumerable.Range(0, 4).Select(i => engine.GetOrCreatePartition("c", i)).ToArray();
        const int Writers = 8, PerWriter = 300;
        await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            for (int s = 0; s < PerWriter; s++)
            {
                await engine.AppendAsync(parts[(w + s) % 4], Batch($"w{w}s{s}", 1 + (s % 3), valuePadding: 200));
            }
        })));

        long records = 0;
        foreach (var p in parts)
        {
            await WaitForHighWatermark(p, p.LogEndOffset);
            var read = ReadAll(engine, p);
            Assert.Equal(Enumerable.Range(0, read.Count).Select(i => (long)i), read.Select(r => r.Offset));
            records += read.Count;
            // Each writer's batches to this partition appear in the order it sent them.
            foreach (var byWriter in read.Where(r => r.Value.EndsWith("-0" + new string('.', 200), StringComparison.Ordinal)).GroupBy(r => r.Value[..r.Value.IndexOf('s', StringComparison.Ordinal)]))
            {
                var seqs = byWriter.Select(r => int.Parse(r.Value[(r.Value.IndexOf('s', StringComparison.Ordinal) + 1)..r.Value.IndexOf('-', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture)).ToList();
                Assert.Equal(seqs.Order(), seqs);
            }
        }

        Assert.Equal(Writers * PerWriter * 2, records); // 1+2+3 per three batches → average 2
    }

    [Fact]
    public async Task A_long_poll_waiter_is_woken_by_the_dispatcher()
    {
        using var engine = StorageEngine.Open(SmallOptions(_dir.Path));
        var p = engine.GetOrCreatePartition("t", 0);
        var wait = p.WaitForDataAsync(0, CancellationToken.None);
        Assert.False(wait.IsCompleted);
        await engine.AppendAsync(p, Batch("x", 1));
        await wait.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, p.HighWatermark);

        using var cts = new CancellationTokenSource(50);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => p.WaitForDataAsync(1, cts.Token));
    }

    [Fact]
    public async Task Sync_flush_acknowledges_after_the_data_is_flushed()
    {
        using var engine = StorageEngine.Open(SmallOptions(_dir.Path, FlushPolicy.Sync()));
        var p = engine.GetOrCreatePartition("t", 0);
        var results = await Task.WhenAll(Enumerable.Range(0, 64).Select(i => engine.AppendAsync(p, Batch($"s{i}", 1)).AsTask()));
        Assert.All(results, r => Assert.True(engine.CommitLog.FlushedPosition >= r.EndPosition));
        Assert.Equal(64, results.Select(r => r.BaseOffset).Distinct().Count());
        Assert.True(engine.CommitLog.FlushCount < 64, $"group commit should share flushes, got {engine.CommitLog.FlushCount}");
    }

    [Fact]
    public async Task A_deleted_partition_refuses_appends_and_a_recreated_one_starts_at_zero()
    {
        var options = SmallOptions(_dir.Path);
        int oldId;
        using (var engine = StorageEngine.Open(options))
        {
            var p = engine.GetOrCreatePartition("gone", 0);
            oldId = p.Id;
            await engine.AppendAsync(p, Batch("old", 5));
            var keep = engine.GetOrCreatePartition("kept", 0);
            await engine.AppendAsync(keep, Batch("k", 2));
            engine.DeletePartition(p);
            Assert.Equal(StorageError.UnknownPartition, Refused(engine, p, Batch("late", 1)).Error);
            Assert.False(engine.TryGetPartition("gone", 0, out _));

            var again = engine.GetOrCreatePartition("gone", 0);
            Assert.NotEqual(oldId, again.Id);
            Assert.Equal(0, (await engine.AppendAsync(again, Batch("new", 1))).BaseOffset);
            await WaitForHighWatermark(again, 1);
            Assert.Equal(new[] { "new-0" }, ReadAll(engine, again).Select(r => r.Value));
        }

        using (var engine = StorageEngine.Open(options))
        {
            Assert.True(engine.TryGetPartition("gone", 0, out var again));
            Assert.Equal(new[] { "new-0" }, ReadAll(engine, again).Select(r => r.Value));
            Assert.True(engine.TryGetPartition("kept", 0, out var keep));
            Assert.Equal(2, keep.HighWatermark);
            Assert.False(Directory.Exists(Path.Combine(_dir.Path, "consumequeue", oldId.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        }
    }

    [Fact]
    public void Invalid_options_are_refused_with_the_setting_named()
    {
        var ex = Assert.Throws<ArgumentException>(() => StorageEngine.Open(new StorageOptions { DataDirectory = _dir.Path, SegmentSize = 1000 }));
        Assert.Contains("SegmentSize", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => StorageEngine.Open(new StorageOptions { DataDirectory = _dir.Path, DiskFullThreshold = 1.5 }));
        Assert.Contains("DiskFullThreshold", ex.Message, StringComparison.Ordinal);
    }

    internal static async Task WaitForHighWatermark(PartitionLog p, long offset)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (p.HighWatermark < offset)
        {
            Assert.True(DateTime.UtcNow < deadline, $"high watermark stuck at {p.HighWatermark}, expected {offset}");
            await p.WaitForDataAsync(p.HighWatermark, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(1)).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }
}
