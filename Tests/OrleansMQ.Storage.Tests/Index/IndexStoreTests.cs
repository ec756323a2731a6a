using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using OrleansMQ.Storage.Index;
using Xunit;

namespace OrleansMQ.Storage.Tests.Index;

public sealed class IndexStoreTests : IDisposable
{
    // Small geometry on purpose: 64 slots force chains shared by many keys, 100 entries per file
    // force a roll every 100 puts.
    private const int Slots = 64;
    private const int MaxEntries = 100;

    private readonly IndexTempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("", 0x02CC5D05u)]
    [InlineData("a", 0x550D7456u)]
    [InlineData("abc", 0x32D153FFu)]
    [InlineData("Nobody inspects the spammish repetition", 0xE2293B2Fu)]
    public void Hash_is_xxhash32_with_the_partition_as_seed(string key, uint expected)
    {
        // Reference xxHash32 values for seed 0: the hash is on disk, so it must never drift.
        Assert.Equal(expected, IndexStore.Hash(0, Encoding.ASCII.GetBytes(key)));
    }

    [Fact]
    public void Hash_depends_on_partition_and_every_key_byte()
    {
        byte[] key = Encoding.ASCII.GetBytes("order-12345-customer-67890");
        uint h = IndexStore.Hash(7, key);
        Assert.Equal(h, IndexStore.Hash(7, key));
        Assert.NotEqual(h, IndexStore.Hash(8, key));
        for (int i = 0; i < key.Length; i++)
        {
            byte[] changed = (byte[])key.Clone();
            changed[i] ^= 1;
            Assert.NotEqual(h, IndexStore.Hash(7, changed));
        }
    }

    [Fact]
    public void Put_and_query_many_keys_across_file_rolls()
    {
        var model = new IndexModel();
        using (var store = IndexStore.Open(_dir.Path, Slots, MaxEntries, NullLogger.Instance))
        {
            for (int i = 0; i < 1000; i++)
            {
                model.Put(store, i % 3, $"key-{i % 150}", offset: i, position: i * 100L, timestamp: 1_000_000 + i);
            }

            Assert.Equal(10, store.FileCount);
            Assert.Equal(99_900, store.LastPosition);
            for (int k = 0; k < 160; k++)
            {
                for (int p = 0; p < 3; p++)
                {
                    IndexHit[] expected = model.Expected(p, $"key-{k}");
                    Assert.Equal(expected, IndexModel.Query(store, p, $"key-{k}"));
                }
            }

            // A key present in every file: hits come newest first across files.
            IndexHit[] key0 = IndexModel.Query(store, 0, "key-0");
            Assert.Equal([900L, 750, 600, 450, 300, 150, 0], key0.Select(h => h.Offset));
            Assert.All(key0, h => Assert.Equal(h.Offset * 100, h.BatchPosition));
        }

        Assert.Equal(10, _dir.FileNames().Length);
        Assert.Equal("00000000000000000000", _dir.FileNames()[0]);
        Assert.Equal("00000000000000010000", _dir.FileNames()[1]);
    }

    [Fact]
    public void Results_span_limits_the_hits_keeping_the_newest()
    {
        var model = new IndexModel();
        using var store = IndexStore.Open(_dir.Path, Slots, MaxEntries, NullLogger.Instance);
        for (int i = 0; i < 350; i++)
        {
            model.Put(store, 0, "hot", i, i * 10L, i);
        }

        IndexHit[] three = IndexModel.Query(store, 0, "hot", limit: 3);
        Assert.Equal([349L, 348, 347], three.Select(h => h.Offset));
        Assert.Equal(0, store.Query(0, "hot"u8, long.MinValue, long.MaxValue, []));
    }

    [Fact]
    public void Query_filters_by_time_range_inclusive()
    {
        var model = new IndexModel();
        var random = new Random(42);
        using var store = IndexStore.Open(_dir.Path, Slots, MaxEntries, NullLogger.Instance);
        for (int i = 0; i < 600; i++)
        {
            // Timestamps out of order, as producers may set them.
            model.Put(store, 1, $"k{i % 20}", i, i * 50L, random.Next(0, 10_000));
        }

        for (int q = 0; q < 200; q++)
        {
            long from = random.Next(-100, 10_000);
            long to = from + random.Next(0, 3_000);
            string key = $"k{q % 20}";
            Assert.Equal(model.Expected(1, key, from, to), IndexModel.Query(store, 1, key, from, to));
        }

        IndexHit any = IndexModel.Query(store, 1, "k3")[0];
        Assert.Contains(any, IndexModel.Query(store, 1, "k3", any.Timestamp, any.Timestamp));
        Assert.Empty(IndexModel.Query(store, 1, "k3", 20_000, 30_000));
        Assert.Empty(IndexModel.Query(store, 1, "k3", 5, 4));
    }

    [Fact]
    public void Same_key_in_different_partitions_stays_separate()
    {
        using var store = IndexStore.Open(_dir.Path, Slots, MaxEntries, NullLogger.Instance);
        for (int p = 0; p < 5; p++)
        {
            store.Put(p, "user-1"u8, offset: 100 + p, batchPosition: p * 10L, timestamp: 1);
        }

        for (int p = 0; p < 5; p++)
        {
            IndexHit hit = Assert.Single(IndexModel.Query(store, p, "user-1"));
            Assert.Equal(new IndexHit(p, 100 + p, p * 10L, 1), hit);
        }

        Assert.Empty(IndexModel.Query(store, 5, "user-1"));
    }

    [Fact]
    public void Reopen_after_dispose_finds_everything_and_keeps_appending()
    {
        var model = new IndexModel();
        using (var store = IndexStore.Open(_dir.Path, Slots, MaxEntries, NullLogger.Instance))
        {
            for (int i = 0; i < 550; i++)
            {
                model.Put(store, i % 2, $"key-{i % 40}", i, i * 100L, 5_000 + i);
            }

            store.Flush();
        }

        using (var store = IndexStore.Open(_dir.Path, Slots, MaxEntries, NullLogger.Instance))
        {
            Assert.Equal(6, store.FileCount);
            Assert.Equal(54_900, store.LastPosition);
            AssertAllKeys(store, model, 40);

            // The last file was half full: new entries go into it before the next roll.
            for (int i = 550; i < 600; i++)
            {
                model.Put(store, i % 2, $"key-{i % 40}", i, i * 100L, 5_000 + i);
            }

            Assert.Equal(6, store.FileCount);
            model.Put(store, 0, "key-0", 600, 60_000, 5_600);
            Assert.Equal(7, store.FileCount);
            AssertAllKeys(store, model, 40);
        }

        // A store reopened with another geometry still reads the old files by their headers.
        using (var store = IndexStore.Open(_dir.Path, 16, 1000, NullLogger.Instance))
        {
            AssertAllKeys(store, model, 40);
        }
    }

    [Fact]
    public void TruncateFromPosition_cuts_the_straddling_file_and_Put_continues()
    {
        var model = new IndexModel();
        using (var store = IndexStore.Open(_dir.Path, Slots, MaxEntries, NullLogger.Instance))
        {
            for (int i = 0; i < 550; i++)
            {
                model.Put(store, 0, $"key-{i % 30}", i, i * 100L, i);
            }

            store.TruncateFromPosition(25_050);
            model.TruncateFrom(25_050);
            Assert.Equal(25_000, store.LastPosition);
            Assert.Equal(3, store.FileCount);
            Assert.Equal(3, _dir.FileNames().Length);
            AssertAllKeys(store, model, 30);

            // Writing after the cut: new keys, and reused positions that were removed.
            for (int i = 251; i < 400; i++)
            {
                model.Put(store, 0, $"key-{(i % 30) + 5}", 10_000 + i, i * 100L, i);
            }

            Assert.Equal(4, store.FileCount);
            AssertAllKeys(store, model, 40);
        }

        using (var store = IndexStore.Open(_dir.Path, Slots, MaxEntries, NullLogger.Instance))
        {
            Assert.Equal(39_900, store.LastPosition);
            AssertAllKeys(store, model, 40);
        }
    }

    [Fact]
    public void TruncateFromPosition_at_a_file_start_and_at_zero()
    {
        var model = new IndexModel();
        using var store = IndexStore.Open(_dir.Path, Slots, MaxEntries, NullLogger.Instance);
        for (int i = 0; i < 300; i++)
        {
            model.Put(store, 0, $"key-{i % 7}", i, i * 100L, i);
        }

        store.TruncateFromPosition(20_000); // exactly where the third file begins
        model.TruncateFrom(20_000);
        Assert.Equal(2, store.FileCount);
        Assert.Equal(19_900, store.LastPosition);
        AssertAllKeys(store, model, 7);

        store.TruncateFromPosition(1_000_000); // beyond the end: nothing to remove
        Assert.Equal(19_900, store.LastPosition);
        AssertAllKeys(store, model, 7);

        store.TruncateFromPosition(0);
        model.TruncateFrom(0);
        Assert.Equal(0, store.FileCount);
        Assert.Equal(-1, store.LastPosition);
        Assert.Empty(_dir.FileNames());
        Assert.Empty(IndexModel.Query(store, 0, "key-1"));

        model.Put(store, 0, "key-1", 1, 0, 1);
        Assert.Single(IndexModel.Query(store, 0, "key-1"));
    }

    [Fact]
    public void TruncateFromPosition_removes_every_key_of_a_batch()
    {
        var model = new IndexModel();
        using var store = IndexStore.Open(_dir.Path, Slots, MaxEntries, NullLogger.Instance);
        for (int batch = 0; batch < 40; batch++)
        {
            for (int r = 0; r < 7; r++)
            {
                model.Put(store, 0, $"key-{r}", (batch * 7) + r, batch * 1000L, batch);
            }
        }

        store.TruncateFromPosition(25_000);
        model.TruncateFrom(25_000);
        Assert.Equal(24_000, store.LastPosition);
        AssertAllKeys(store, model, 7);
    }

    [Fact]
    public void A_batch_with_more_keys_than_a_file_holds_spans_files_with_sequence_names()
    {
        var model = new IndexModel();
        using (var store = IndexStore.Open(_dir.Path, Slots, 10, NullLogger.Instance))
        {
            model.Put(store, 0, "before", 0, 0, 0);
            for (int r = 0; r < 35; r++)
            {
                model.Put(store, 0, $"key-{r}", 1 + r, 500, 1);
            }

            model.Put(store, 0, "after", 36, 900, 2);
            AssertAllKeys(store, model, 35);
        }

        Assert.Equal(
            ["00000000000000000000", "00000000000000000500", "00000000000000000500.1", "00000000000000000500.2"],
            _dir.FileNames());
        using (var store = IndexStore.Open(_dir.Path, Slots, 10, NullLogger.Instance))
        {
            Assert.Equal(4, store.FileCount);
            AssertAllKeys(store, model, 35);
            Assert.Single(IndexModel.Query(store, 0, "before"));
            Assert.Single(IndexModel.Query(store, 0, "after"));

            store.TruncateFromPosition(500);
            model.TruncateFrom(500);
            Assert.Equal(1, store.FileCount);
            Assert.Equal(0, store.LastPosition);
            AssertAllKeys(store, model, 35);
        }
    }

    [Fact]
    public void DeleteBefore_removes_old_files_but_never_the_newest()
    {
        var model = new IndexModel();
        using var store = IndexStore.Open(_dir.Path, Slots, MaxEntries, NullLogger.Instance);
        for (int i = 0; i < 550; i++)
        {
            model.Put(store, 0, $"key-{i % 25}", i, i * 100L, i);
        }

        store.DeleteBefore(19_900); // file 1 ends exactly there: kept
        Assert.Equal(5, store.FileCount);
        store.DeleteBefore(25_000);
        Assert.Equal(4, store.FileCount);
        Assert.Equal(4, _dir.FileNames().Length);
        Assert.Equal("00000000000000020000", _dir.FileNames()[0]);
        for (int k = 0; k < 25; k++)
        {
            Assert.Equal(model.Expected(0, $"key-{k}", minPosition: 20_000), IndexModel.Query(store, 0, $"key-{k}"));
        }

        store.DeleteBefore(long.MaxValue);
        Assert.Equal(1, store.FileCount);
        Assert.Equal(54_900, store.LastPosition);
        model.Put(store, 0, "key-1", 550, 55_000, 550);
        Assert.Equal(model.Expected(0, "key-1", minPosition: 50_000), IndexModel.Query(store, 0, "key-1"));
    }

    [Fact]
    public void Put_rejects_positions_going_backwards_and_bad_arguments()
    {
        using var store = IndexStore.Open(_dir.Path, Slots, MaxEntries, NullLogger.Instance);
        store.Put(0, "a"u8, 0, 1000, 0);
        store.Put(0, "b"u8, 1, 1000, 0); // same batch: fine
        Assert.Throws<ArgumentOutOfRangeException>(() => store.Put(0, "c"u8, 2, 999, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => store.Put(-1, "c"u8, 2, 2000, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => store.Query(-1, "a"u8, 0, 1, new IndexHit[1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => IndexStore.Open(_dir.Path, 0, MaxEntries, NullLogger.Instance));
        Assert.Throws<ArgumentOutOfRangeException>(() => IndexStore.Open(_dir.Path, Slots, 0, NullLogger.Instance));
        Assert.Equal(1000, store.LastPosition);
    }

    [Fact]
    public void Disposed_store_refuses_calls()
    {
        var store = IndexStore.Open(_dir.Path, Slots, MaxEntries, NullLogger.Instance);
        store.Put(0, "a"u8, 0, 0, 0);
        store.Dispose();
        store.Dispose();
        Assert.Throws<ObjectDisposedException>(() => store.Put(0, "a"u8, 1, 1, 1));
        Assert.Throws<ObjectDisposedException>(() => store.Query(0, "a"u8, 0, 1, new IndexHit[1]));
    }

    [Fact]
    public void Put_and_Query_allocate_nothing()
    {
        using var store = IndexStore.Open(_dir.Path, Slots, 10_000, NullLogger.Instance);
        byte[] key = Encoding.ASCII.GetBytes("some-key-0001");
        var results = new IndexHit[16];
        // The warm-up runs the measured loop itself (first file, JIT tiering and on-stack
        // replacement may allocate once on this thread); the second pass must allocate nothing.
        Run(store, key, results, 0, 2_000);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run(store, key, results, 2_000, 5_000);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);

        static void Run(IndexStore store, byte[] key, IndexHit[] results, int from, int to)
        {
            for (int i = from; i < to; i++)
            {
                key[^1] = (byte)i;
                store.Put(i % 4, key, i, i, i);
                store.Query(i % 4, key, 0, long.MaxValue, results);
            }
        }
    }

    private static void AssertAllKeys(IndexStore store, IndexModel model, int keys)
    {
        for (int k = 0; k < keys; k++)
        {
            for (int p = 0; p < 2; p++)
            {
                Assert.Equal(model.Expected(p, $"key-{k}"), IndexModel.Query(store, p, $"key-{k}"));
            }
        }
    }
}
