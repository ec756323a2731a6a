using System.Globalization;
using System.Text;

namespace OrleansMQ.Silo.Replication;

/// <summary>
/// One partition's leader epochs and the offset each began at (Kafka's leader-epoch checkpoint):
/// what OffsetForLeaderEpoch answers from, and what a follower compares with its leader to find
/// where its log diverged. Entries only grow (a new epoch starts at or after the last one's start)
/// until a truncation removes those at or past the truncation offset. Persisted as a small text
/// file ("epoch startOffset" per line) written whole with write-temp-then-rename, because a torn
/// file must never leave a follower without its history.
/// </summary>
public sealed class LeaderEpochCache
{
    private readonly string _path;
    private readonly List<(int Epoch, long StartOffset)> _entries = [];

    private LeaderEpochCache(string path) => _path = path;

    /// <summary>Loads the partition's file (a missing or unreadable one is an empty history).</summary>
    public static LeaderEpochCache Load(string path)
    {
        var cache = new LeaderEpochCache(path);
        if (File.Exists(path))
        {
            foreach (var line in File.ReadAllLines(path))
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length == 2 && int.TryParse(parts[0], CultureInfo.InvariantCulture, out int epoch) && long.TryParse(parts[1], CultureInfo.InvariantCulture, out long start))
                {
                    cache._entries.Add((epoch, start));
                }
            }
        }

        return cache;
    }

    /// <summary>The latest epoch known, or -1.</summary>
    public int LatestEpoch
    {
        get
        {
            lock (_entries)
            {
                return _entries.Count == 0 ? -1 : _entries[^1].Epoch;
            }
        }
    }

    /// <summary>Records that <paramref name="epoch"/> starts at <paramref name="startOffset"/> when it is newer than the latest known.</summary>
    public void Assign(int epoch, long startOffset)
    {
        lock (_entries)
        {
            if (_entries.Count > 0 && _entries[^1].Epoch >= epoch)
            {
                return;
            }

            _entries.Add((epoch, startOffset));
            Save();
        }
    }

    /// <summary>
    /// OffsetForLeaderEpoch: the largest known epoch at or below <paramref name="epoch"/> and the
    /// offset where the next known epoch starts (<paramref name="logEnd"/> when it is the latest).
    /// (-1, -1) when the history starts after <paramref name="epoch"/>.
    /// </summary>
    public (int Epoch, long EndOffset) EndOffsetFor(int epoch, long logEnd)
    {
        lock (_entries)
        {
            for (int i = _entries.Count - 1; i >= 0; i--)
            {
                if (_entries[i].Epoch <= epoch)
                {
                    return (_entries[i].Epoch, i == _entries.Count - 1 ? logEnd : _entries[i + 1].StartOffset);
                }
            }

            return _entries.Count == 0 ? (epoch, logEnd) : (-1, -1);
        }
    }

    /// <summary>After a truncation to <paramref name="offset"/>: epochs that started at or past it are gone.</summary>
    public void TruncateFrom(long offset)
    {
        lock (_entries)
        {
            int before = _entries.Count;
            _entries.RemoveAll(e => e.StartOffset >= offset);
            if (_entries.Count != before)
            {
                Save();
            }
        }
    }

    private void Save()
    {
        var text = new StringBuilder();
        foreach (var (epoch, start) in _entries)
        {
            text.Append(epoch.ToString(CultureInfo.InvariantCulture)).Append(' ').Append(start.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        string temp = _path + ".tmp";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(Encoding.ASCII.GetBytes(text.ToString()));
            file.Flush(flushToDisk: true);
        }

        File.Move(temp, _path, overwrite: true);
    }
}
