using Xunit;
using OrleansMQ.Storage.Engine;
using static OrleansMQ.Storage.Tests.Engine.StorageEngineTests;
using static OrleansMQ.Storage.Tests.Engine.TestSupport;

namespace OrleansMQ.Storage.Tests.Engine;

/// <summary>
/// Damage to the log's tail — a torn or truncated write, flipped bits — found at start-up after
/// an unclean stop. Every intact entry before the damage is kept; nothing after it is served; the
/// engine starts and appends continue from the right offsets.
/// </summary>
public sealed class RecoveryTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string CommitLogDir => Path.Combine(_dir.Path, "commitlog");

    /// <summary>Writes batches to two partitions; returns each batch's CommitLog entry position and end, in log order.</summary>
    private async Task<List<(string Topic, long BaseOffset, int Count, long Position, long End)>> WriteLog(int batches)
    {
        var written = new List<(string, long, int, long, long)>();
        using var engine = StorageEngine.Open(SmallOptions(_dir.Path));
        var a = engine.GetOrCreatePartition("a", 0, new PartitionOptions { IndexKeys = true });
        var b = engine.GetOrCreatePartition("b", 0);
        for (int i = 0; i < batches; i++)
        {
            var p = i % 3 == 0 ? b : a;
            int count = 1 + (i % 4);
            var r = await engine.AppendAsync(p, Batch($"{p.Topic}{i}", count, valuePadding: 500, keys: 3));
            written.Add((p.Topic, r.BaseOffset, count, r.Position, r.EndPosition));
        }

        return written;
    }

    /// <summary>Makes the last stop look unclean with the checkpoint lost: start-up must validate everything.</summary>
    private void ForgetCleanStop()
    {
        File.Delete(Path.Combine(_dir.Path, "clean-shutdown"));
        File.Delete(Path.Combine(_dir.Path, "checkpoint"));
    }

    private static long ExpectedEnd(IEnumerable<(string Topic, long BaseOffset, int Count, long Position, long End)> kept, string topic)
        => kept.Where(k => k.Topic == topic).Select(k => k.BaseOffset + k.Count).DefaultIfEmpty(0).Max();

    private static async Task AssertKept(StorageEngine engine, List<(string Topic, long BaseOffset, int Count, long Position, long End)> kept)
    {
        foreach (var topic in new[] { "a", "b" })
        {
            Assert.True(engine.TryGetPartition(topic, 0, out var p));
            long end = ExpectedEnd(kept, topic);
            Assert.Equal(end, p.LogEndOffset);
            Assert.Equal(end, p.HighWatermark);
            var records = ReadAll(engine, p);
            Assert.Equal(end, records.Count);
            var expectedValues = kept.Where(k => k.Topic == topic).SelectMany(k => Enumerable.Range(0, k.Count).Select(j => (k.BaseOffset + j, j))).ToList();
            Assert.Equal(expectedValues.Select(e => e.Item1), records.Select(r => r.Offset));

            // The next append continues right after the last kept offset.
            var r = await engine.AppendAsync(p, Batch("after", 1));
            Assert.Equal(end, r.BaseOffset);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public async Task Truncated_tail_keeps_every_entry_before_the_cut(int seed)
    {
        var written = await WriteLog(120);
        ForgetCleanStop();
        var rnd = new Random(seed);
        long cut = written[^1].End - rnd.NextInt64(1, written[^1].End - written[^30].Position);
        var last = Directory.GetFiles(CommitLogDir).Order().Last(f => long.Parse(Path.GetFileName(f), System.Globalization.CultureInfo.InvariantCulture) <= cut);
        long segStart = long.Parse(Path.GetFileName(last), System.Globalization.CultureInfo.InvariantCulture);
        foreach (var later in Directory.GetFiles(CommitLogDir).Where(f => string.CompareOrdinal(f, last) > 0))
        {
            File.Delete(later);
        }

        using (var fs = new FileStream(last, FileMode.Open))
        {
            fs.SetLength(cut - segStart); // a torn write: the file ends mid-entry
        }

        var kept = written.Where(w => w.End <= cut).ToList();
        using var engine = StorageEngine.Open(SmallOptions(_dir.Path));
        Assert.False(engine.Recovery.CleanShutdown);
        Assert.Equal(kept.Count == 0 ? 0 : kept[^1].End, engine.Recovery.CommitLog.ValidEnd);
        await AssertKept(engine, kept);
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    [InlineData(14)]
    [InlineData(15)]
    [InlineData(16)]
    public async Task A_flipped_bit_in_the_tail_truncates_from_the_damaged_entry(int seed)
    {
        var written = await WriteLog(120);
        ForgetCleanStop();
        var rnd = new Random(seed);
        var victim = written[written.Count - 1 - rnd.Next(40)];
        long bit = victim.Position + rnd.NextInt64(0, victim.End - victim.Position);
        var file = Directory.GetFiles(CommitLogDir).Order().Last(f => long.Parse(Path.GetFileName(f), System.Globalization.CultureInfo.InvariantCulture) <= bit);
        long segStart = long.Parse(Path.GetFileName(file), System.Globalization.CultureInfo.InvariantCulture);
        using (var fs = new FileStream(file, FileMode.Open))
        {
            fs.Position = bit - segStart;
            int old = fs.ReadByte();
            fs.Position = bit - segStart;
            fs.WriteByte((byte)(old ^ (1 << rnd.Next(8))));
        }

        var kept = written.Where(w => w.End <= victim.Position).ToList();
        var logs = new ListLoggerFactory();
        using var engine = StorageEngine.Open(SmallOptions(_dir.Path), logs);
        Assert.Equal(victim.Position, engine.Recovery.CommitLog.ValidEnd);
        // The log says where it cut, how much it dropped and why.
        var report = Assert.Single(logs.Logger.Records, r => r.Level == Microsoft.Extensions.Logging.LogLevel.Error && r.Message.Contains("dropped", StringComparison.Ordinal));
        Assert.Contains($"to {victim.Position}", report.Message, StringComparison.Ordinal);
        Assert.Contains($"dropped {engine.Recovery.CommitLog.BytesDropped} bytes", report.Message, StringComparison.Ordinal);
        Assert.Contains(engine.Recovery.CommitLog.Reason!, report.Message, StringComparison.Ordinal);
        Assert.NotNull(engine.Recovery.CommitLog.Reason);
        Assert.True(engine.Recovery.CommitLog.BytesDropped > 0);
        await AssertKept(engine, kept);
    }

    [Fact]
    public async Task Recovery_from_a_checkpoint_rebuilds_queues_and_index_past_it()
    {
        var options = SmallOptions(_dir.Path);
        options.CheckpointInterval = TimeSpan.FromHours(1); // only explicit flushes write it
        byte[] checkpoint;
        var written = new List<(string Topic, long BaseOffset, int Count, long Position, long End)>();
        using (var engine = StorageEngine.Open(options))
        {
            var a = engine.GetOrCreatePartition("a", 0, new PartitionOptions { IndexKeys = true });
            var b = engine.GetOrCreatePartition("b", 0);
            for (int i = 0; i < 30; i++)
            {
                var r = await engine.AppendAsync(i % 2 == 0 ? a : b, Batch($"x{i}", 2, keys: 2));
                written.Add((i % 2 == 0 ? "a" : "b", r.BaseOffset, 2, r.Position, r.EndPosition));
            }

            await WaitForHighWatermark(a, 30);
            await WaitForHighWatermark(b, 30);
            engine.Flush();
            checkpoint = File.ReadAllBytes(Path.Combine(_dir.Path, "checkpoint"));
            for (int i = 30; i < 60; i++)
            {
                var r = await engine.AppendAsync(i % 2 == 0 ? a : b, Batch($"x{i}", 2, keys: 2));
                written.Add((i % 2 == 0 ? "a" : "b", r.BaseOffset, 2, r.Position, r.EndPosition));
            }
        }

        // Unclean stop with the older checkpoint: queue and index entries past it are rebuilt.
        File.Delete(Path.Combine(_dir.Path, "clean-shutdown"));
        File.WriteAllBytes(Path.Combine(_dir.Path, "checkpoint"), checkpoint);
        using (var engine = StorageEngine.Open(options))
        {
            Assert.False(engine.Recovery.CleanShutdown);
            Assert.True(engine.Recovery.CheckpointValid);
            Assert.Equal(30, engine.Recovery.EntriesReplayed);
            Assert.True(engine.TryGetPartition("a", 0, out var a));
            Assert.Equal(30, engine.LookupByKey(a, "k-1"u8, 0, long.MaxValue, 1000).Count); // 30 batches, one k-1 record each
            await AssertKept(engine, written);
        }
    }

    [Fact]
    public async Task Lost_or_resized_consume_queues_are_rebuilt_from_the_commitlog()
    {
        var written = await WriteLog(150);
        // Partition "a" loses its queue files entirely; the others must be re-read with a new file size.
        Directory.Delete(Path.Combine(_dir.Path, "consumequeue", "0"), recursive: true);
        var options = SmallOptions(_dir.Path);
        options.ConsumeQueueEntriesPerFile = 100;
        using (var engine = StorageEngine.Open(options))
        {
            Assert.True(engine.Recovery.CleanShutdown);
            await AssertKept(engine, written);
            Assert.True(engine.TryGetPartition("a", 0, out var a));
            Assert.NotEmpty(engine.LookupByKey(a, "k-1"u8, 0, long.MaxValue, 10));
        }

        // A flipped byte inside a queue file is found at open, and the queue is rebuilt.
        var file = Directory.GetFiles(Path.Combine(_dir.Path, "consumequeue", "1")).Order().First();
        var bytes = File.ReadAllBytes(file);
        bytes[32 * 3] ^= 0xFF;
        File.WriteAllBytes(file, bytes);
        written.AddRange(new[] { ("a", ExpectedEnd(written, "a"), 1, 0L, 0L), ("b", ExpectedEnd(written, "b"), 1, 0L, 0L) }); // the "after" batches
        using (var engine = StorageEngine.Open(options))
        {
            await AssertKept(engine, written);
        }
    }

    [Fact]
    public async Task A_queue_entry_pointing_at_another_partitions_batch_is_refused_on_read()
    {
        var written = await WriteLog(12); // b: batches 0,3,6,9; a: 1,2,4,5,7,8,10,11
        // a's third queue entry (batch 4) now points at b's batch 3: offsets and positions stay
        // monotonic, so only the CommitLog header can tell.
        var queueFile = Directory.GetFiles(Path.Combine(_dir.Path, "consumequeue", "0")).Order().First();
        var bytes = File.ReadAllBytes(queueFile);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan((2 * 32) + 8), written[3].Position + 48);
        File.WriteAllBytes(queueFile, bytes);

        using var engine = StorageEngine.Open(SmallOptions(_dir.Path));
        Assert.True(engine.TryGetPartition("a", 0, out var a));
        var spans = new List<LogSpan>();
        Assert.Equal(ReadStatus.StorageError, engine.ReadSpans(a, written[4].BaseOffset, 1 << 20, spans));
        Assert.Empty(spans);
        Assert.Equal(ReadStatus.Ok, engine.ReadSpans(a, 0, 1 << 20, spans));
        Assert.Equal(new[] { written[1].BaseOffset, written[2].BaseOffset }, spans.Select(s => s.BaseOffset));
        spans.ForEach(s => s.Release());
        spans.Clear();
        Assert.Equal(ReadStatus.Ok, engine.ReadSpans(a, written[5].BaseOffset, 1 << 20, spans)); // past it, reads go on
        Assert.Equal(written[5].BaseOffset, spans[0].BaseOffset);
        spans.ForEach(s => s.Release());
    }

    [Fact]
    public async Task Garbage_files_and_a_damaged_checkpoint_never_stop_startup()
    {
        var written = await WriteLog(20);
        File.Delete(Path.Combine(_dir.Path, "clean-shutdown"));
        File.WriteAllText(Path.Combine(_dir.Path, "checkpoint"), "not a checkpoint");
        File.WriteAllText(Path.Combine(CommitLogDir, "README"), "stray file");
        File.WriteAllBytes(Path.Combine(_dir.Path, "index", "00000000000000000099"), new byte[100]);
        using var engine = StorageEngine.Open(SmallOptions(_dir.Path));
        Assert.False(engine.Recovery.CheckpointValid);
        await AssertKept(engine, written);
    }
}
