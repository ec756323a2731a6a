using System.Buffers.Binary;
using Microsoft.Extensions.Logging.Abstractions;
using OrleansMQ.Storage.Index;
using Xunit;

namespace OrleansMQ.Storage.Tests.Index;

/// <summary>Damaged files on disk: the store must log, skip and keep serving, never crash or hang.</summary>
public sealed class IndexStoreCorruptionTests : IDisposable
{
    private const int Slots = 64;
    private const int MaxEntries = 100;
    private const int HeaderSize = 64;

    private readonly IndexTempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string FilePath(long position) => Path.Combine(_dir.Path, position.ToString("D20", System.Globalization.CultureInfo.InvariantCulture));

    private IndexModel Fill(int count, int slots = Slots)
    {
        var model = new IndexModel();
        using var store = IndexStore.Open(_dir.Path, slots, MaxEntries, NullLogger.Instance);
        for (int i = 0; i < count; i++)
        {
            model.Put(store, i % 2, $"key-{i % 50}", i, i * 100L, i);
        }

        store.Flush();
        return model;
    }

    [Fact]
    public void Damaged_and_foreign_files_are_logged_and_skipped()
    {
        IndexModel model = Fill(450); // files at 0, 10000, 20000, 30000, 40000

        // File 10000: bad magic. File 20000: wrong length. File 30000: entryCount out of range.
        using (var fs = new FileStream(FilePath(10_000), FileMode.Open))
        {
            fs.Write("JUNK"u8);
        }

        using (var fs = new FileStream(FilePath(20_000), FileMode.Open))
        {
            fs.SetLength(fs.Length + 13);
        }

        using (var fs = new FileStream(FilePath(30_000), FileMode.Open))
        {
            byte[] count = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(count, MaxEntries + 1);
            fs.Position = 16;
            fs.Write(count);
        }

        // Garbage with index names (random bytes, too short, empty) and a file that is not ours.
        var random = new Random(7);
        byte[] garbage = new byte[5000];
        random.NextBytes(garbage);
        File.WriteAllBytes(FilePath(90_000), garbage);
        File.WriteAllBytes(FilePath(95_000), new byte[10]);
        File.WriteAllBytes(FilePath(97_000), []);
        File.WriteAllText(Path.Combine(_dir.Path, "notes.txt"), "hello");

        // A valid file under another name: its header disagrees with the name.
        File.Copy(FilePath(0), FilePath(5_000));

        var logger = new ListLogger();
        using (var store = IndexStore.Open(_dir.Path, Slots, MaxEntries, logger))
        {
            Assert.Equal(2, store.FileCount);
            Assert.Equal(44_900, store.LastPosition);
            string[] warnings = [.. logger.Warnings];
            foreach (long bad in new long[] { 5_000, 10_000, 20_000, 30_000, 90_000, 95_000, 97_000 })
            {
                Assert.Contains(warnings, w => w.Contains(FilePath(bad), StringComparison.Ordinal));
            }

            Assert.Contains(warnings, w => w.Contains("bad magic", StringComparison.Ordinal));
            Assert.Contains(warnings, w => w.Contains("notes.txt", StringComparison.Ordinal));
            Assert.Equal(["00000000000000000000", "00000000000000040000", "notes.txt"], _dir.FileNames());

            for (int k = 0; k < 50; k++)
            {
                for (int p = 0; p < 2; p++)
                {
                    IndexHit[] expected = [.. model.Expected(p, $"key-{k}").Where(h => h.BatchPosition < 10_000 || h.BatchPosition >= 40_000)];
                    Assert.Equal(expected, IndexModel.Query(store, p, $"key-{k}"));
                }
            }

            // The store is usable: it appends to the surviving newest file.
            store.Put(0, "new"u8, 1, 45_000, 1);
            Assert.Single(IndexModel.Query(store, 0, "new"));
        }
    }

    [Fact]
    public void Random_bytes_in_slots_and_entries_never_throw_or_hang()
    {
        Fill(400);
        var random = new Random(1234);
        foreach (string path in Directory.GetFiles(_dir.Path))
        {
            byte[] bytes = File.ReadAllBytes(path);
            random.NextBytes(bytes.AsSpan(HeaderSize));
            File.WriteAllBytes(path, bytes);
        }

        RunWithTimeout(() =>
        {
            using var store = IndexStore.Open(_dir.Path, Slots, MaxEntries, NullLogger.Instance);
            Assert.Equal(4, store.FileCount);
            var results = new IndexHit[64];
            for (int k = 0; k < 2000; k++)
            {
                byte[] key = IndexModel.Key($"key-{k}");
                int n = store.Query(k % 5, key, long.MinValue, long.MaxValue, results);
                Assert.InRange(n, 0, results.Length);
            }

            // Recovery over garbage also ends, and leaves a consistent (possibly empty) index.
            store.TruncateFromPosition(long.MaxValue);
            for (int k = 0; k < 200; k++)
            {
                Assert.InRange(store.Query(0, IndexModel.Key($"key-{k}"), long.MinValue, long.MaxValue, results), 0, results.Length);
            }
        });
    }

    [Fact]
    public void Cyclic_forward_and_out_of_range_links_end_the_walk()
    {
        // One slot: every entry is in the same chain, so each link we damage is on the path.
        IndexModel model = Fill(100, slots: 1);
        string path = FilePath(0);
        long entries = HeaderSize + 4;
        var cases = new (long Offset, int Value, string Why)[]
        {
            (HeaderSize, int.MaxValue, "slot past the end"),
            (HeaderSize, -5, "negative slot"),
            (HeaderSize, MaxEntries + 1, "slot one past maxEntries"),
            (entries + (40 * 99) + 32, 100, "entry 100 links to itself"),
            (entries + (40 * 99) + 32, 100_000, "entry 100 links past the end"),
            (entries + (40 * 49) + 32, 80, "entry 50 links forward"),
            (entries + (40 * 49) + 32, -1, "entry 50 links backwards past zero"),
        };

        byte[] original = File.ReadAllBytes(path);
        foreach ((long offset, int value, string why) in cases)
        {
            byte[] bytes = (byte[])original.Clone();
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan((int)offset), value);
            File.WriteAllBytes(path, bytes);
            RunWithTimeout(() =>
            {
                using var store = IndexStore.Open(_dir.Path, 1, MaxEntries, NullLogger.Instance);
                IndexHit[] hits = IndexModel.Query(store, 0, "key-0");
                Assert.True(hits.Length <= model.Expected(0, "key-0").Length, why);
            });
        }
    }

    [Fact]
    public void Recovery_stops_at_torn_entries_past_the_durable_prefix()
    {
        IndexModel model = Fill(50);

        // As after a crash: the header page reached the disk with a higher count, the entry page
        // for the last 20 entries did not (zeros), and a slot points into the lost range.
        string path = FilePath(0);
        byte[] bytes = File.ReadAllBytes(path);
        long entries = HeaderSize + (4 * Slots);
        bytes.AsSpan((int)(entries + (40 * 30)), 40 * 20).Clear();
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(16), 60);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(HeaderSize + 8), 45);
        File.WriteAllBytes(path, bytes);

        using var store = IndexStore.Open(_dir.Path, Slots, MaxEntries, NullLogger.Instance);
        store.TruncateFromPosition(4_000); // the checkpoint said entries below 4000 are durable
        model.TruncateFrom(3_000);
        Assert.Equal(2_900, store.LastPosition);
        for (int k = 0; k < 50; k++)
        {
            for (int p = 0; p < 2; p++)
            {
                Assert.Equal(model.Expected(p, $"key-{k}"), IndexModel.Query(store, p, $"key-{k}"));
            }
        }
    }

    private static void RunWithTimeout(Action action)
    {
        var task = Task.Factory.StartNew(action, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        Assert.True(task.Wait(TimeSpan.FromSeconds(30)), "the operation did not finish: a corrupt chain made it loop");
        task.GetAwaiter().GetResult();
    }
}
