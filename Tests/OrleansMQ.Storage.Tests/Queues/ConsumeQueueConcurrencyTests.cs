using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace OrleansMQ.Storage.Tests.Queues;

using OrleansMQ.Storage.Queues;

public sealed class ConsumeQueueConcurrencyTests : IDisposable
{
    private const int Appends = 100_000;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// One writer appends (rolling ~400 files) and applies retention while readers look entries
    /// up and a flusher syncs. Every entry's fields are a function of its index, so a torn,
    /// misplaced or unpublished entry shows as a mismatch; a read of an unmapped file would crash.
    /// </summary>
    [Fact]
    public async Task Readers_never_see_torn_or_out_of_range_entries_while_the_writer_appends_and_deletes()
    {
        using var queue = ConsumeQueue.Open(_dir.Queue, 256, NullLogger.Instance);
        using var done = new CancellationTokenSource();

        Task writer = Task.Run(() =>
        {
            try
            {
                for (long i = 0; i < Appends; i++)
                {
                    queue.Append(Cq.Entry(i));
                    // Retention often and close behind the head, so files are unmapped under readers
                    // all the time (a gate that let a reader into an unmapped file crashed this test).
                    if (i % 97 == 96)
                    {
                        queue.DeleteBefore(Cq.Entry(i - 60).BatchPosition);
                    }
                }
            }
            finally
            {
                done.Cancel();
            }
        });

        Task flusher = Task.Run(() =>
        {
            while (!done.IsCancellationRequested)
            {
                queue.Flush();
                Assert.True(queue.FlushedIndex <= queue.EntryCount);
            }
        });

        long[] lookups = new long[3];
        Task[] readers = [.. Enumerable.Range(0, lookups.Length).Select(r => Task.Run(() => lookups[r] = Read(queue, seed: r, done.Token)))];

        await Task.WhenAll([writer, flusher, .. readers]);

        Assert.Equal(Appends, queue.EntryCount);
        Assert.All(lookups, n => Assert.True(n > 1000, $"only {n} lookups ran"));
        for (long i = queue.FirstIndex; i < Appends; i++)
        {
            Assert.True(queue.TryGet(i, out QueueEntry entry));
            Assert.Equal(Cq.Entry(i), entry);
        }
    }

    private static long Read(ConsumeQueue queue, int seed, CancellationToken done)
    {
        var random = new Random(seed);
        long lookups = 0;
        while (!done.IsCancellationRequested || lookups < 2000)
        {
            long count = queue.EntryCount;
            if (count == 0)
            {
                continue;
            }

            lookups++;
            long index = random.NextInt64(count);
            if (queue.TryGet(index, out QueueEntry entry))
            {
                Assert.Equal(Cq.Entry(index), entry);
            }
            else
            {
                // Published entries only disappear below the retention start.
                Assert.True(index < queue.FirstIndex, $"entry {index} < count {count} missing");
            }

            // An offset certainly below NextOffset (batch count-1 ends at 3(count-1) or later).
            long offset = random.NextInt64(3 * (count - 1) + 1);
            long found = queue.FindByOffset(offset);
            long i = offset / 3;
            long expected = offset % 3 <= i % 3 ? i : i + 1;
            if (found != expected)
            {
                // Only the retention start may move the answer forward.
                Assert.True(found > expected && found <= queue.FirstIndex, $"offset {offset}: found {found}, expected {expected}");
            }

            long byTime = queue.FindByTimestamp(Cq.Entry(index).Timestamp);
            Assert.True(byTime == index || (byTime > index && byTime <= queue.FirstIndex), $"timestamp of {index}: found {byTime}");

            // FirstOffset first: both only grow, and FirstOffset <= NextOffset at any one time.
            long firstOffset = queue.FirstOffset;
            long next = queue.NextOffset;
            long last = (next - 1) / 3;
            Assert.Equal(next, Cq.Entry(last).NextOffset);
            Assert.True(last + 1 >= count, $"next offset {next} is behind count {count}");
            Assert.True(firstOffset <= next, $"first offset {firstOffset} > next offset {next}");
        }

        return lookups;
    }
}
