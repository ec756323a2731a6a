using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace OrleansMQ.Storage.Tests.Queues;

using OrleansMQ.Storage.Queues;

/// <summary>Truncation, retention and opening damaged directories, on real files.</summary>
public sealed class ConsumeQueueRecoveryTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly ListLogger _log = new();

    public void Dispose() => _dir.Dispose();

    private ConsumeQueue Open() => ConsumeQueue.Open(_dir.Queue, Cq.EntriesPerFile, _log);

    private string FilePath(long index) => Path.Combine(_dir.Queue, Cq.FileName(index));

    private void Build(long count)
    {
        using var queue = Open();
        Cq.AppendRange(queue, 0, count);
        queue.Flush();
    }

    [Fact]
    public void TruncateFromPosition_in_the_middle_of_a_file_then_append_again()
    {
        using (var queue = Open())
        {
            Cq.AppendRange(queue, 0, 10);
            queue.Flush();
            // A position between entry 5 and entry 6 removes 6 and later.
            queue.TruncateFromPosition(Cq.Entry(6).BatchPosition - 50);

            Assert.Equal(6, queue.EntryCount);
            Assert.Equal(6, queue.FlushedIndex);
            Assert.Equal(Cq.Entry(5).NextOffset, queue.NextOffset);
            Assert.False(queue.TryGet(6, out _));
            Assert.Equal(-1, queue.FindByOffset(Cq.Entry(6).BaseOffset));
            Assert.Equal([Cq.FileName(0), Cq.FileName(4)], Cq.FileNames(_dir.Queue));

            // The cut slots read as zero on disk.
            byte[] file4 = File.ReadAllBytes(FilePath(4));
            Assert.All(file4[(2 * ConsumeQueue.EntrySize)..], b => Assert.Equal(0, b));

            // Truncating at or past the end changes nothing.
            queue.TruncateFromPosition(long.MaxValue);
            Assert.Equal(6, queue.EntryCount);

            Cq.AppendRange(queue, 6, 9);
            Assert.Equal(9, queue.EntryCount);
        }

        using (var queue = Open())
        {
            Assert.Equal(9, queue.EntryCount);
            for (long i = 0; i < 9; i++)
            {
                Assert.True(queue.TryGet(i, out QueueEntry entry));
                Assert.Equal(Cq.Entry(i), entry);
            }
        }

        Assert.Empty(_log.Warnings);
    }

    [Fact]
    public void TruncateFromPosition_across_files_deletes_them_and_append_rolls_again()
    {
        using (var queue = Open())
        {
            Cq.AppendRange(queue, 0, 17);
            queue.TruncateFromPosition(Cq.Entry(4).BatchPosition);

            Assert.Equal(4, queue.EntryCount);
            Assert.Equal(Cq.Entry(3).NextOffset, queue.NextOffset);
            Assert.Equal([Cq.FileName(0)], Cq.FileNames(_dir.Queue));

            // Timestamps continue from the kept entry, not from the removed ones.
            queue.Append(Cq.Entry(4) with { Timestamp = 0 });
            Assert.True(queue.TryGet(4, out QueueEntry entry));
            Assert.Equal(Cq.Entry(3).Timestamp, entry.Timestamp);
            Cq.AppendRange(queue, 5, 6);
            Assert.Equal([Cq.FileName(0), Cq.FileName(4)], Cq.FileNames(_dir.Queue));
        }

        using (var queue = Open())
        {
            Assert.Equal(6, queue.EntryCount);
            Assert.Equal(Cq.Entry(5).NextOffset, queue.NextOffset);
        }
    }

    [Fact]
    public void TruncateFromPosition_of_everything_keeps_offsets_from_going_back()
    {
        using var queue = Open();
        Cq.AppendRange(queue, 0, 10);
        queue.DeleteBefore(Cq.Entry(8).BatchPosition);
        Assert.Equal([Cq.FileName(8)], Cq.FileNames(_dir.Queue));

        queue.TruncateFromPosition(Cq.Entry(8).BatchPosition);
        Assert.Equal(8, queue.EntryCount);
        Assert.Equal(8, queue.FirstIndex);
        Assert.Equal(Cq.Entry(8).BaseOffset, queue.NextOffset);
        Assert.Equal(Cq.Entry(8).BaseOffset, queue.FirstOffset);
        Assert.Empty(Cq.FileNames(_dir.Queue));
        Assert.Throws<InvalidOperationException>(() => queue.Append(Cq.Entry(7)));

        Cq.AppendRange(queue, 8, 13);
        Assert.Equal([Cq.FileName(8), Cq.FileName(12)], Cq.FileNames(_dir.Queue));
        Assert.True(queue.TryGet(12, out QueueEntry entry));
        Assert.Equal(Cq.Entry(12), entry);
    }

    [Fact]
    public void DeleteBefore_moves_the_start_and_keeps_the_file_holding_the_last_entry()
    {
        using (var queue = Open())
        {
            Cq.AppendRange(queue, 0, 10); // files 0, 4, 8; the last entry (9) is in file 8

            long firstOffset = queue.DeleteBefore(Cq.Entry(5).BatchPosition);
            Assert.Equal(Cq.Entry(5).BaseOffset, firstOffset);
            Assert.Equal(5, queue.FirstIndex);
            Assert.Equal(Cq.Entry(5).BaseOffset, queue.FirstOffset);
            Assert.Equal([Cq.FileName(4), Cq.FileName(8)], Cq.FileNames(_dir.Queue));
            Assert.False(queue.TryGet(4, out _));
            Assert.True(queue.TryGet(5, out _));

            // Never backwards.
            Assert.Equal(Cq.Entry(5).BaseOffset, queue.DeleteBefore(0));
            Assert.Equal(5, queue.FirstIndex);

            // Everything expired: the partition is empty, log start == next offset, and the last
            // file stays so the offset survives a restart.
            long next = queue.NextOffset;
            Assert.Equal(next, queue.DeleteBefore(long.MaxValue));
            Assert.Equal(10, queue.FirstIndex);
            Assert.Equal(10, queue.EntryCount);
            Assert.Equal(next, queue.FirstOffset);
            Assert.Equal(next, queue.NextOffset);
            Assert.Equal(10, queue.FindByOffset(0));
            Assert.Equal(-1, queue.FindByOffset(next));
            Assert.Equal(-1, queue.FindByTimestamp(0));
            Assert.False(queue.TryGet(9, out _));
            Assert.Equal([Cq.FileName(8)], Cq.FileNames(_dir.Queue));
        }

        using (var queue = Open())
        {
            // The logical start is not persisted: it restarts at the first file until retention runs again.
            Assert.Equal(8, queue.FirstIndex);
            Assert.Equal(10, queue.EntryCount);
            Assert.Equal(Cq.Entry(9).NextOffset, queue.NextOffset);
            Assert.Equal(Cq.Entry(9).NextOffset, queue.DeleteBefore(long.MaxValue));
            Assert.Equal(10, queue.FirstIndex);

            Cq.AppendRange(queue, 10, 13);
            Assert.Equal(10, queue.FirstIndex);
            Assert.Equal(Cq.Entry(10).BaseOffset, queue.FirstOffset);
            Assert.Equal([Cq.FileName(8), Cq.FileName(12)], Cq.FileNames(_dir.Queue));
        }
    }

    [Fact]
    public void DeleteBefore_keeps_a_file_whose_only_entry_is_the_last()
    {
        using var queue = Open();
        Cq.AppendRange(queue, 0, 9); // entry 8 alone in file 8
        queue.DeleteBefore(long.MaxValue);
        Assert.Equal([Cq.FileName(8)], Cq.FileNames(_dir.Queue));
        Assert.Equal(Cq.Entry(8).NextOffset, queue.NextOffset);
    }

    [Fact]
    public void Open_with_a_wrong_size_middle_file_keeps_the_prefix()
    {
        Build(12);
        File.WriteAllBytes(FilePath(4), new byte[100]);

        using (var queue = Open())
        {
            Assert.Equal(4, queue.EntryCount);
            Assert.Equal(Cq.Entry(3).NextOffset, queue.NextOffset);
            Assert.Equal([Cq.FileName(0)], Cq.FileNames(_dir.Queue));
            Assert.Contains(_log.Warnings, w => w.Contains(Cq.FileName(4), StringComparison.Ordinal));
            Assert.Contains(_log.Warnings, w => w.Contains(Cq.FileName(8), StringComparison.Ordinal));

            Cq.AppendRange(queue, 4, 6);
        }

        using (var queue = Open())
        {
            Assert.Equal(6, queue.EntryCount);
        }
    }

    [Fact]
    public void Open_with_a_zeroed_middle_file_ends_the_queue_there()
    {
        Build(12);
        File.WriteAllBytes(FilePath(4), new byte[Cq.EntriesPerFile * ConsumeQueue.EntrySize]);

        using var queue = Open();
        Assert.Equal(4, queue.EntryCount);
        Assert.Equal(Cq.Entry(3).NextOffset, queue.NextOffset);
        Assert.Equal([Cq.FileName(0), Cq.FileName(4)], Cq.FileNames(_dir.Queue));
        Assert.Contains(_log.Warnings, w => w.Contains(Cq.FileName(8), StringComparison.Ordinal));

        // The empty file is reused for the next entries.
        Cq.AppendRange(queue, 4, 9);
        Assert.Equal([Cq.FileName(0), Cq.FileName(4), Cq.FileName(8)], Cq.FileNames(_dir.Queue));
        Assert.True(queue.TryGet(8, out QueueEntry entry));
        Assert.Equal(Cq.Entry(8), entry);
    }

    [Fact]
    public void Open_with_a_gap_in_the_file_sequence_keeps_the_prefix()
    {
        Build(16);
        File.Delete(FilePath(8));

        using var queue = Open();
        Assert.Equal(8, queue.EntryCount);
        Assert.Equal([Cq.FileName(0), Cq.FileName(4)], Cq.FileNames(_dir.Queue));
        Assert.Contains(_log.Warnings, w => w.Contains(Cq.FileName(12), StringComparison.Ordinal));
    }

    [Fact]
    public void Open_with_a_damaged_entry_in_the_last_file_cuts_there_and_zeroes_the_rest()
    {
        Build(7);
        // Entry 5 claims an offset below entry 4's: a torn or stray write.
        byte[] file4 = File.ReadAllBytes(FilePath(4));
        file4[ConsumeQueue.EntrySize] = 0;
        file4[ConsumeQueue.EntrySize + 1] = 0;
        File.WriteAllBytes(FilePath(4), file4);

        using (var queue = Open())
        {
            Assert.Equal(5, queue.EntryCount);
            Assert.Equal(Cq.Entry(4).NextOffset, queue.NextOffset);
            Assert.Contains(_log.Warnings, w => w.Contains(Cq.FileName(4), StringComparison.Ordinal));
            Assert.All(File.ReadAllBytes(FilePath(4))[ConsumeQueue.EntrySize..], b => Assert.Equal(0, b));
            Cq.AppendRange(queue, 5, 6);
        }

        _log.Records.Clear();
        using (var queue = Open())
        {
            // Entry 6 from before the damage must not come back after the re-appended entry 5.
            Assert.Equal(6, queue.EntryCount);
            Assert.Empty(_log.Warnings);
        }
    }

    [Fact]
    public void Open_with_a_wrong_size_first_file_starts_empty()
    {
        Build(6);
        File.WriteAllBytes(FilePath(0), [1, 2, 3]);

        using var queue = Open();
        Assert.Equal(0, queue.EntryCount);
        Assert.Equal(0, queue.NextOffset);
        Assert.Empty(Cq.FileNames(_dir.Queue));
        Cq.AppendRange(queue, 0, 5);
        Assert.Equal(5, queue.EntryCount);
    }

    [Fact]
    public void Open_ignores_files_with_other_names_and_survives_random_garbage()
    {
        Build(3);
        File.WriteAllText(Path.Combine(_dir.Queue, "notes.tmp"), "x");
        var random = new Random(42);
        byte[] garbage = new byte[Cq.EntriesPerFile * ConsumeQueue.EntrySize];
        random.NextBytes(garbage);
        File.WriteAllBytes(FilePath(0), garbage);

        using var queue = Open();
        Assert.Contains(_log.Warnings, w => w.Contains("notes.tmp", StringComparison.Ordinal));
        Assert.True(File.Exists(Path.Combine(_dir.Queue, "notes.tmp")));
        Assert.InRange(queue.EntryCount, 0, Cq.EntriesPerFile);
        for (long i = 0; i < queue.EntryCount; i++)
        {
            Assert.True(queue.TryGet(i, out QueueEntry entry));
            Assert.True(entry.Size > 0);
        }

        queue.Append(new QueueEntry(queue.NextOffset, long.MaxValue / 2, 1, 0, 0));
    }

    [Fact]
    public void Rolling_onto_a_stale_file_replaces_it()
    {
        using var queue = ConsumeQueue.Open(_dir.Queue, Cq.EntriesPerFile, NullLogger.Instance);
        Cq.AppendRange(queue, 0, 4);
        // A stale file where the next roll goes (e.g. a crash between truncation steps).
        File.WriteAllBytes(FilePath(4), new byte[7]);
        Cq.AppendRange(queue, 4, 5);
        Assert.Equal(Cq.EntriesPerFile * ConsumeQueue.EntrySize, new FileInfo(FilePath(4)).Length);
        Assert.True(queue.TryGet(4, out QueueEntry entry));
        Assert.Equal(Cq.Entry(4), entry);
    }
}
