using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace OrleansMQ.Storage.Tests.Queues;

using OrleansMQ.Storage.Queues;

public sealed class ConsumeQueueTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private ConsumeQueue Open(int entriesPerFile = Cq.EntriesPerFile, long initialNextOffset = 0) =>
        ConsumeQueue.Open(_dir.Queue, entriesPerFile, NullLogger.Instance, initialNextOffset);

    [Fact]
    public void TruncateFromOffset_removes_whole_batches_from_the_offset_on_and_survives_reopen()
    {
        using (var queue = Cq.AppendRange(Open(), 0, 10)) // files 0, 4, 8
        {
            // Entry 5 covers 15..17: offset 16 takes it whole; entries 5-9 go, file 8 with them.
            queue.TruncateFromOffset(16);
            Assert.Equal(5, queue.EntryCount);
            Assert.Equal(Cq.Entry(4).NextOffset, queue.NextOffset);
            Assert.Equal(-1, queue.FindByOffset(15));
            Assert.Equal(new[] { Cq.FileName(0), Cq.FileName(4) }, Cq.FileNames(_dir.Queue));

            queue.TruncateFromOffset(queue.NextOffset); // at the end: nothing to do
            Assert.Equal(5, queue.EntryCount);

            // New batches reuse the offsets, at later positions.
            queue.Append(new QueueEntry(Cq.Entry(4).NextOffset, 90_000, 20, 2, 1));
            Assert.Equal(6, queue.EntryCount);
        }

        using (var queue = Open())
        {
            Assert.False(queue.Damaged);
            Assert.Equal(6, queue.EntryCount);
            Assert.True(queue.TryGet(5, out var e));
            Assert.Equal(new QueueEntry(Cq.Entry(4).NextOffset, 90_000, 20, 2, Cq.Entry(4).Timestamp), e);
            Assert.Equal(Cq.Entry(4).NextOffset + 3, queue.NextOffset);

            // Below the first entry: everything goes, and the queue remembers the offset in memory.
            queue.TruncateFromOffset(0);
            Assert.Equal((0L, 0L), (queue.FirstIndex, queue.EntryCount));
            Assert.True(queue.IsPhysicallyEmpty);
            Assert.Empty(Cq.FileNames(_dir.Queue));
        }
    }

    [Fact]
    public void Reset_empties_the_queue_and_moves_its_next_offset_either_way()
    {
        using (var queue = Cq.AppendRange(Open(), 0, 10))
        {
            queue.Reset(100);
            Assert.True(queue.IsPhysicallyEmpty);
            Assert.Equal((100L, 100L), (queue.FirstOffset, queue.NextOffset));
            Assert.Empty(Cq.FileNames(_dir.Queue));
            queue.Append(new QueueEntry(100, 90_000, 20, 1, 1));
            Assert.Equal(102, queue.NextOffset);
            queue.Reset(7);
            Assert.Equal(7, queue.NextOffset);
            queue.Reset(9); // already empty
            Assert.Equal(9, queue.NextOffset);
        }

        // On disk nothing is left: the engine keeps the offset elsewhere and opens the queue with it.
        using (var queue = Open(initialNextOffset: 9))
        {
            Assert.Equal(9, queue.NextOffset);
            queue.Append(new QueueEntry(9, 1, 20, 0, 1));
            Assert.Equal((9L, 10L), (queue.FirstOffset, queue.NextOffset));
        }
    }

    [Fact]
    public void Append_and_TryGet_round_trip_across_file_rolls()
    {
        using var queue = Open();
        Cq.AppendRange(queue, 0, 37);

        Assert.Equal(0, queue.FirstIndex);
        Assert.Equal(37, queue.EntryCount);
        for (long i = 0; i < 37; i++)
        {
            Assert.True(queue.TryGet(i, out QueueEntry entry));
            Assert.Equal(Cq.Entry(i), entry);
        }

        Assert.False(queue.TryGet(37, out _));
        Assert.False(queue.TryGet(-1, out _));

        // 37 entries at 4 per file: 10 files named by their first entry index, each 4 * 32 bytes.
        string[] expected = [.. Enumerable.Range(0, 10).Select(f => Cq.FileName(f * 4L))];
        Assert.Equal(expected, Cq.FileNames(_dir.Queue));
        Assert.All(Directory.EnumerateFiles(_dir.Queue), f => Assert.Equal(4 * ConsumeQueue.EntrySize, new FileInfo(f).Length));
    }

    [Fact]
    public void Entries_are_stored_little_endian_in_the_documented_layout()
    {
        using (var queue = Open())
        {
            queue.Append(new QueueEntry(0x0102030405060708, 0x1112131415161718, 0x21222324, 0x00000031, 0x4142434445464748));
        }

        byte[] bytes = File.ReadAllBytes(Path.Combine(_dir.Queue, Cq.FileName(0)));
        byte[] expected =
        [
            0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
            0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11,
            0x24, 0x23, 0x22, 0x21,
            0x31, 0x00, 0x00, 0x00,
            0x48, 0x47, 0x46, 0x45, 0x44, 0x43, 0x42, 0x41,
        ];
        Assert.Equal(expected, bytes[..32]);
        Assert.All(bytes[32..], b => Assert.Equal(0, b));
    }

    [Fact]
    public void Reopen_restores_count_offsets_and_continues_appending()
    {
        using (var queue = Open())
        {
            Cq.AppendRange(queue, 0, 37);
        }

        using (var queue = Open())
        {
            Assert.Equal(0, queue.FirstIndex);
            Assert.Equal(37, queue.EntryCount);
            Assert.Equal(Cq.Entry(36).NextOffset, queue.NextOffset);
            Assert.Equal(0, queue.FirstOffset);
            Assert.True(queue.TryGet(36, out QueueEntry last));
            Assert.Equal(Cq.Entry(36), last);

            // The restored writer state still enforces the order.
            Assert.Throws<InvalidOperationException>(() => queue.Append(Cq.Entry(36)));
            Cq.AppendRange(queue, 37, 40);
        }

        // 40 entries fill exactly 10 files: the next append after reopening rolls to a new one.
        using (var queue = Open())
        {
            Assert.Equal(40, queue.EntryCount);
            Cq.AppendRange(queue, 40, 41);
            Assert.Equal(11, Cq.FileNames(_dir.Queue).Length);
            Assert.True(queue.TryGet(40, out QueueEntry entry));
            Assert.Equal(Cq.Entry(40), entry);
        }
    }

    [Fact]
    public void Empty_queue_reports_initial_next_offset()
    {
        using var queue = Open(initialNextOffset: 500);
        Assert.Equal(0, queue.EntryCount);
        Assert.Equal(500, queue.NextOffset);
        Assert.Equal(500, queue.FirstOffset);
        Assert.Equal(-1, queue.FindByOffset(500));
        Assert.Equal(0, queue.FindByOffset(10));
        Assert.Equal(-1, queue.FindByTimestamp(0));
        Assert.Throws<InvalidOperationException>(() => queue.Append(new QueueEntry(499, 0, 10, 0, 0)));

        queue.Append(new QueueEntry(500, 0, 10, 4, 0));
        Assert.Equal(505, queue.NextOffset);
        Assert.Equal(500, queue.FirstOffset);
    }

    [Fact]
    public void Append_rejects_offsets_and_positions_that_go_backwards_and_invalid_entries()
    {
        using var queue = Open();
        queue.Append(new QueueEntry(10, 1000, 50, 4, 0));

        Assert.Throws<InvalidOperationException>(() => queue.Append(new QueueEntry(14, 2000, 50, 0, 0)));
        Assert.Throws<InvalidOperationException>(() => queue.Append(new QueueEntry(15, 1000, 50, 0, 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => queue.Append(new QueueEntry(15, 2000, 0, 0, 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => queue.Append(new QueueEntry(15, 2000, 50, -1, 0)));
        Assert.Equal(1, queue.EntryCount);

        queue.Append(new QueueEntry(15, 2000, 50, 0, 0));
        queue.Append(new QueueEntry(20, 3000, 50, 0, 0)); // A gap is fine (compaction, aborted transactions).
        Assert.Equal(21, queue.NextOffset);
    }

    [Fact]
    public void FindByOffset_handles_exact_base_mid_batch_gaps_below_start_and_past_end()
    {
        using var queue = Open();
        // Batches: [0..0] [3..4] [6..8] [9..9] [12..13] [15..17] ...; offsets 1, 2, 5, 10, 11 ... are gaps.
        Cq.AppendRange(queue, 0, 30);

        Assert.Equal(0, queue.FindByOffset(0));
        Assert.Equal(1, queue.FindByOffset(3));   // exact base
        Assert.Equal(1, queue.FindByOffset(4));   // last offset of the batch
        Assert.Equal(2, queue.FindByOffset(7));   // mid batch
        Assert.Equal(1, queue.FindByOffset(1));   // gap: the next batch
        Assert.Equal(1, queue.FindByOffset(2));
        Assert.Equal(2, queue.FindByOffset(5));
        Assert.Equal(4, queue.FindByOffset(10));
        Assert.Equal(0, queue.FindByOffset(-5));  // below start

        for (long offset = 0; offset < queue.NextOffset; offset++)
        {
            long i = offset / 3;
            long expected = offset % 3 <= i % 3 ? i : i + 1;
            Assert.Equal(expected, queue.FindByOffset(offset));
        }

        long next = Cq.Entry(29).NextOffset;
        Assert.Equal(next, queue.NextOffset);
        Assert.Equal(29, queue.FindByOffset(next - 1));
        Assert.Equal(-1, queue.FindByOffset(next));
        Assert.Equal(-1, queue.FindByOffset(long.MaxValue));

        // After retention the start moves: offsets below it map to FirstIndex.
        queue.DeleteBefore(Cq.Entry(10).BatchPosition);
        Assert.Equal(10, queue.FindByOffset(0));
        Assert.Equal(10, queue.FindByOffset(Cq.Entry(10).BaseOffset));
        Assert.Equal(11, queue.FindByOffset(Cq.Entry(11).BaseOffset));
    }

    [Fact]
    public void FindByTimestamp_uses_the_running_max_of_non_monotonic_batch_timestamps()
    {
        using var queue = Open();
        long[] batchTimestamps = [100, 50, 200, 150, 300, 300, 10];
        for (int i = 0; i < batchTimestamps.Length; i++)
        {
            queue.Append(new QueueEntry(i * 2, 1000 + (i * 100), 80, 1, batchTimestamps[i]));
        }

        long[] stored = [.. Enumerable.Range(0, batchTimestamps.Length).Select(i => queue.TryGet(i, out QueueEntry e) ? e.Timestamp : -1)];
        Assert.Equal([100, 100, 200, 200, 300, 300, 300], stored);

        Assert.Equal(0, queue.FindByTimestamp(long.MinValue));
        Assert.Equal(0, queue.FindByTimestamp(0));
        Assert.Equal(0, queue.FindByTimestamp(50));
        Assert.Equal(0, queue.FindByTimestamp(100));
        Assert.Equal(2, queue.FindByTimestamp(101));
        Assert.Equal(2, queue.FindByTimestamp(150));
        Assert.Equal(4, queue.FindByTimestamp(201));
        Assert.Equal(4, queue.FindByTimestamp(300));
        Assert.Equal(-1, queue.FindByTimestamp(301));

        // The running max survives a reopen and keeps applying.
        queue.Dispose();
        using var reopened = Open();
        reopened.Append(new QueueEntry(20, 5000, 80, 0, 5));
        Assert.True(reopened.TryGet(7, out QueueEntry appended));
        Assert.Equal(300, appended.Timestamp);
        Assert.Equal(-1, reopened.FindByTimestamp(301));
    }

    [Fact]
    public void Append_and_lookups_allocate_nothing_per_entry()
    {
        using var queue = Open(entriesPerFile: 65_536);
        // Warm up: the first append creates the file, and the first calls get jitted.
        for (int round = 0; round < 2; round++)
        {
            Measure(queue, round * 10_000, (round + 1) * 10_000, out long appendBytes, out long lookupBytes);
            if (round == 1)
            {
                Assert.Equal(0, appendBytes);
                Assert.Equal(0, lookupBytes);
            }
        }

        static void Measure(ConsumeQueue queue, long from, long to, out long appendBytes, out long lookupBytes)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (long i = from; i < to; i++)
            {
                queue.Append(Cq.Entry(i));
            }

            appendBytes = GC.GetAllocatedBytesForCurrentThread() - before;
            before = GC.GetAllocatedBytesForCurrentThread();
            long sum = 0;
            for (long i = from; i < to; i++)
            {
                sum += queue.TryGet(i, out QueueEntry entry) ? entry.Size : 0;
                sum += queue.FindByOffset(i) + queue.FindByTimestamp(i) + queue.NextOffset + queue.FirstOffset;
            }

            lookupBytes = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.NotEqual(0, sum);
        }
    }

    [Fact]
    public void Flush_advances_FlushedIndex()
    {
        using (var queue = Open())
        {
            Assert.Equal(0, queue.FlushedIndex);
            queue.Flush();
            Assert.Equal(0, queue.FlushedIndex);
            Cq.AppendRange(queue, 0, 9);
            Assert.Equal(0, queue.FlushedIndex);
            queue.Flush();
            Assert.Equal(9, queue.FlushedIndex);
            Cq.AppendRange(queue, 9, 10);
            queue.Flush();
            Assert.Equal(10, queue.FlushedIndex);
        }

        using (var queue = Open())
        {
            // Whether a crashed process left the pages synced is unknown, so they count as unflushed.
            Assert.Equal(0, queue.FlushedIndex);
            queue.Flush();
            Assert.Equal(10, queue.FlushedIndex);
        }
    }

    [Fact]
    public void Use_after_dispose_throws_ObjectDisposedException()
    {
        var queue = Open();
        Cq.AppendRange(queue, 0, 3);
        queue.Dispose();
        queue.Dispose();

        Assert.Throws<ObjectDisposedException>(() => queue.Append(Cq.Entry(3)));
        Assert.Throws<ObjectDisposedException>(() => queue.TryGet(0, out _));
        Assert.Throws<ObjectDisposedException>(() => queue.FindByOffset(0));
        Assert.Throws<ObjectDisposedException>(() => queue.NextOffset);
        Assert.Throws<ObjectDisposedException>(() => queue.Flush());
        Assert.Throws<ObjectDisposedException>(() => queue.DeleteBefore(0));
    }

    [Fact]
    public void Open_validates_arguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ConsumeQueue.Open(_dir.Queue, 0, NullLogger.Instance));
        Assert.Throws<ArgumentOutOfRangeException>(() => ConsumeQueue.Open(_dir.Queue, ConsumeQueue.MaxEntriesPerFile + 1, NullLogger.Instance));
        Assert.Throws<ArgumentOutOfRangeException>(() => ConsumeQueue.Open(_dir.Queue, 4, NullLogger.Instance, -1));
    }
}
