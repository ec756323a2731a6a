using System.Text;
using OrleansMQ.Storage.Index;

namespace OrleansMQ.Storage.Tests.Index;

/// <summary>A temp folder that can list its index files.</summary>
internal sealed class IndexTempDirectory : TempDir
{
    public IndexTempDirectory()
        : base("omq-index")
    {
    }

    public string[] FileNames() =>
        [.. Directory.GetFiles(Path).Select(System.IO.Path.GetFileName).Order(StringComparer.Ordinal)!];
}

/// <summary>
/// What the index should return, computed the slow way: every put kept in order, matched by
/// partition and hash exactly as the index matches (so hash collisions are expected too).
/// </summary>
internal sealed class IndexModel
{
    public List<(int Partition, byte[] Key, long Offset, long Position, long Timestamp)> Puts { get; } = [];

    public static byte[] Key(string key) => Encoding.UTF8.GetBytes(key);

    public void Put(IndexStore store, int partition, string key, long offset, long position, long timestamp)
    {
        byte[] bytes = Key(key);
        store.Put(partition, bytes, offset, position, timestamp);
        Puts.Add((partition, bytes, offset, position, timestamp));
    }

    public void TruncateFrom(long position) => Puts.RemoveAll(p => p.Position >= position);

    public IndexHit[] Expected(int partition, string key, long from = long.MinValue, long to = long.MaxValue, int limit = 1024, long minPosition = long.MinValue)
    {
        uint hash = IndexStore.Hash(partition, Key(key));
        var hits = new List<IndexHit>();
        for (int i = Puts.Count - 1; i >= 0 && hits.Count < limit; i--)
        {
            var p = Puts[i];
            if (p.Partition == partition && p.Position >= minPosition && p.Timestamp >= from && p.Timestamp <= to
                && IndexStore.Hash(p.Partition, p.Key) == hash)
            {
                hits.Add(new IndexHit(p.Partition, p.Offset, p.Position, p.Timestamp));
            }
        }

        return [.. hits];
    }

    public static IndexHit[] Query(IndexStore store, int partition, string key, long from = long.MinValue, long to = long.MaxValue, int limit = 1024)
    {
        var buffer = new IndexHit[limit];
        int n = store.Query(partition, Key(key), from, to, buffer);
        return buffer[..n];
    }
}
