using Microsoft.Extensions.Logging.Abstractions;
using OrleansMQ.Storage.Index;
using Xunit;

namespace OrleansMQ.Storage.Tests.Index;

public sealed class IndexStoreConcurrencyTests : IDisposable
{
    private const int Keys = 97;

    private readonly IndexTempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string KeyOf(long offset) => $"key-{offset % Keys}";

    [Fact]
    public async Task Readers_during_puts_rolls_retention_and_flush_see_only_valid_hits()
    {
        using var store = IndexStore.Open(_dir.Path, 64, 100, NullLogger.Instance);
        const int Total = 30_000;
        long published = -1; // highest offset whose Put has returned
        long retiredBelow = 0; // set before each DeleteBefore: positions below may be gone
        using var done = new CancellationTokenSource();

        var writer = Task.Run(() =>
        {
            try
            {
                for (long i = 0; i < Total; i++)
                {
                    store.Put((int)(i % 3), IndexModel.Key(KeyOf(i)), i, i * 10, i);
                    Volatile.Write(ref published, i);
                    if (i % 1_000 == 999)
                    {
                        // Retire files while readers walk them.
                        Volatile.Write(ref retiredBelow, Math.Max(0, (i - 5_000) * 10));
                        store.DeleteBefore(Volatile.Read(ref retiredBelow));
                    }

                    if (i % 2_500 == 0)
                    {
                        store.Flush();
                    }
                }
            }
            finally
            {
                done.Cancel();
            }
        });

        Task[] readers = [.. Enumerable.Range(0, 3).Select(r => Task.Run(() =>
        {
            var random = new Random(r);
            var results = new IndexHit[32];
            long queries = 0;
            while (!done.IsCancellationRequested || queries < 100)
            {
                int key = random.Next(Keys);
                int partition = random.Next(3);
                byte[] keyBytes = IndexModel.Key($"key-{key}");
                uint hash = IndexStore.Hash(partition, keyBytes);
                long before = Volatile.Read(ref published);
                int n = store.Query(partition, keyBytes, long.MinValue, long.MaxValue, results);
                Assert.InRange(n, 0, results.Length);
                for (int h = 0; h < n; h++)
                {
                    IndexHit hit = results[h];

                    // Each hit must be a real put: offset, position and timestamp agree, and the
                    // key put at that offset hashes like the queried one.
                    Assert.Equal(partition, hit.PartitionId);
                    Assert.Equal(partition, (int)(hit.Offset % 3));
                    Assert.Equal(hit.Offset * 10, hit.BatchPosition);
                    Assert.Equal(hit.Offset, hit.Timestamp);
                    Assert.Equal(hash, IndexStore.Hash(partition, IndexModel.Key(KeyOf(hit.Offset))));
                    if (h > 0)
                    {
                        Assert.True(hit.Offset < results[h - 1].Offset, "hits must be newest first");
                    }
                }

                // Nothing published before the query started and still retained may be missed:
                // the newest such match is the first hit or older than it.
                long expected = NewestMatchAtOrBelow(before, partition, hash);
                if (expected >= 0 && expected * 10 >= Volatile.Read(ref retiredBelow))
                {
                    Assert.True(n > 0, "a published entry was missed");
                    Assert.True(results[0].Offset >= expected, "a published entry was missed");
                }

                queries++;
            }
        }))];

        await writer;
        await Task.WhenAll(readers);
        Assert.Equal((Total - 1) * 10L, store.LastPosition);
    }

    private static long NewestMatchAtOrBelow(long offset, int partition, uint hash)
    {
        for (long i = offset; i >= 0; i--)
        {
            if (i % 3 == partition && IndexStore.Hash(partition, IndexModel.Key(KeyOf(i))) == hash)
            {
                return i;
            }
        }

        return -1;
    }
}
