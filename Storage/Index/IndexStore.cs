using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using Microsoft.Extensions.Logging;

namespace OrleansMQ.Storage.Index;

/// <summary>
/// The key index: a directory of <see cref="IndexFile"/>s, oldest first, each named by the
/// CommitLog position of its first entry. The dispatcher appends one entry per keyed record
/// (<see cref="Put"/>) behind the CommitLog writer; lookups (<see cref="Query"/>) find the
/// batches that may hold a key within a time range. See docs/storage-format.md, "IndexFile".
/// </summary>
/// <remarks>
/// Threading: <see cref="Put"/>, <see cref="TruncateFromPosition"/> and
/// <see cref="DeleteBefore"/> are serialised by a lock (the dispatcher is the only caller of
/// Put, so it is uncontended). <see cref="Query"/> and <see cref="Flush"/> take no lock: they
/// work on a snapshot of the file list and hold a reference on each file while reading it, so a
/// file retired meanwhile stays mapped until they are done.
/// Durability: nothing is msynced until <see cref="Flush"/>; <see cref="Dispose"/> does not
/// flush. After a crash the engine calls <see cref="TruncateFromPosition"/> with the
/// checkpoint's dispatched position and re-dispatches from there.
/// </remarks>
public sealed class IndexStore : IDisposable
{
    /// <summary>Upper bound for slotCount (1 GiB of slots per file).</summary>
    public const int MaxSlotCount = 1 << 28;

    /// <summary>Upper bound for maxEntriesPerFile (10 GiB of entries per file).</summary>
    public const int MaxEntriesPerFileLimit = 1 << 28;

    private readonly string _directory;
    private readonly int _slotCount;
    private readonly int _maxEntries;
    private readonly ILogger _logger;
    private readonly Lock _writeLock = new();

    // Oldest first. Replaced as a whole (copy-on-write) when files come and go, which is rare,
    // so readers can iterate a stable snapshot without a lock.
    private IndexFile[] _files;
    private long _lastPosition;
    private int _disposed;

    private IndexStore(string directory, int slotCount, int maxEntries, ILogger logger, IndexFile[] files)
    {
        _directory = directory;
        _slotCount = slotCount;
        _maxEntries = maxEntries;
        _logger = logger;
        _files = files;
        _lastPosition = files.Length > 0 ? files[^1].EndPosition : -1;
    }

    /// <summary>
    /// CommitLog batch position of the newest entry, or -1 when the index is empty.
    /// </summary>
    public long LastPosition => Volatile.Read(ref _lastPosition);

    /// <summary>Number of IndexFiles currently in use.</summary>
    public int FileCount => Volatile.Read(ref _files).Length;

    /// <summary>
    /// Opens (creating the directory if needed) the index in <paramref name="directory"/>.
    /// Files are loaded in name order; a file whose header is damaged (bad magic, version,
    /// geometry, size, counts or a beginPosition that disagrees with its name) is logged as a
    /// warning and deleted rather than failing the broker, because the index can be rebuilt
    /// from the CommitLog and losing it only makes key lookups miss. Files whose names are not
    /// index names are logged and left alone. Existing files keep the geometry in their header;
    /// <paramref name="slotCount"/> and <paramref name="maxEntriesPerFile"/> apply to new files.
    /// </summary>
    public static IndexStore Open(string directory, int slotCount, int maxEntriesPerFile, ILogger logger)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentOutOfRangeException.ThrowIfLessThan(slotCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(slotCount, MaxSlotCount);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEntriesPerFile, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxEntriesPerFile, MaxEntriesPerFileLimit);
        ArgumentNullException.ThrowIfNull(logger);
        if (!BitConverter.IsLittleEndian)
        {
            // The mapped files are read and written with native loads and stores.
            throw new PlatformNotSupportedException("The index file format requires a little-endian CPU.");
        }

        Directory.CreateDirectory(directory);
        var candidates = new List<(long Position, int Sequence, string Path)>();
        foreach (string path in Directory.EnumerateFiles(directory))
        {
            if (IndexFile.TryParseFileName(System.IO.Path.GetFileName(path), out long position, out int sequence))
            {
                candidates.Add((position, sequence, path));
            }
            else
            {
                IndexLog.ForeignFileIgnored(logger, path);
            }
        }

        candidates.Sort(static (a, b) => a.Position != b.Position ? a.Position.CompareTo(b.Position) : a.Sequence.CompareTo(b.Sequence));
        var files = new List<IndexFile>(candidates.Count);
        foreach ((long position, int sequence, string path) in candidates)
        {
            IndexFile? file;
            string? error;
            try
            {
                file = IndexFile.TryOpen(path, position, sequence, out error);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                IndexLog.OpenFailedDeleted(logger, path, ex);
                TryDelete(path);
                continue;
            }

            if (file is null)
            {
                IndexLog.BadFileDeleted(logger, path, error ?? "invalid header");
                TryDelete(path);
                continue;
            }

            files.Add(file);
        }

        var store = new IndexStore(directory, slotCount, maxEntriesPerFile, logger, [.. files]);
        IndexLog.Opened(logger, directory, files.Count, store.LastPosition);
        return store;
    }

    /// <summary>
    /// The 32-bit key hash stored in entries: xxHash32 of the key bytes with the partition id as
    /// the seed. Part of the on-disk format, so it must never change and must not depend on the
    /// process (unlike <see cref="HashCode"/> or string.GetHashCode, which are randomised).
    /// </summary>
    public static uint Hash(int partitionId, ReadOnlySpan<byte> key)
    {
        const uint Prime1 = 2654435761U;
        const uint Prime2 = 2246822519U;
        const uint Prime3 = 3266489917U;
        const uint Prime4 = 668265263U;
        const uint Prime5 = 374761393U;

        uint seed = (uint)partitionId;
        int length = key.Length;
        int i = 0;
        uint h;
        if (length >= 16)
        {
            uint v1 = seed + Prime1 + Prime2;
            uint v2 = seed + Prime2;
            uint v3 = seed;
            uint v4 = seed - Prime1;
            for (; i <= length - 16; i += 16)
            {
                v1 = Round(v1, BinaryPrimitives.ReadUInt32LittleEndian(key[i..]));
                v2 = Round(v2, BinaryPrimitives.ReadUInt32LittleEndian(key[(i + 4)..]));
                v3 = Round(v3, BinaryPrimitives.ReadUInt32LittleEndian(key[(i + 8)..]));
                v4 = Round(v4, BinaryPrimitives.ReadUInt32LittleEndian(key[(i + 12)..]));
            }

            h = BitOperations.RotateLeft(v1, 1) + BitOperations.RotateLeft(v2, 7)
                + BitOperations.RotateLeft(v3, 12) + BitOperations.RotateLeft(v4, 18);
        }
        else
        {
            h = seed + Prime5;
        }

        h += (uint)length;
        for (; i <= length - 4; i += 4)
        {
            h += BinaryPrimitives.ReadUInt32LittleEndian(key[i..]) * Prime3;
            h = BitOperations.RotateLeft(h, 17) * Prime4;
        }

        for (; i < length; i++)
        {
            h += key[i] * Prime5;
            h = BitOperations.RotateLeft(h, 11) * Prime1;
        }

        h ^= h >> 15;
        h *= Prime2;
        h ^= h >> 13;
        h *= Prime3;
        h ^= h >> 16;
        return h;

        static uint Round(uint acc, uint input) => BitOperations.RotateLeft(acc + (input * Prime2), 13) * Prime1;
    }

    /// <summary>
    /// Indexes one keyed record. <paramref name="batchPosition"/> must not be below
    /// <see cref="LastPosition"/>: entries are kept in CommitLog order, which truncation relies
    /// on. Rolls to a new file, named by <paramref name="batchPosition"/>, when the current one
    /// is full. Allocates nothing except when it rolls.
    /// </summary>
    public void Put(int partitionId, ReadOnlySpan<byte> key, long offset, long batchPosition, long timestamp)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(partitionId);
        ArgumentOutOfRangeException.ThrowIfNegative(batchPosition);
        uint hash = Hash(partitionId, key);
        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            if (batchPosition < _lastPosition)
            {
                ThrowPositionBackwards(batchPosition, _lastPosition);
            }

            IndexFile[] files = _files;
            IndexFile current = files.Length > 0 && !files[^1].IsFull ? files[^1] : Roll(files, batchPosition);
            current.Append(hash, partitionId, offset, batchPosition, timestamp);
            Volatile.Write(ref _lastPosition, batchPosition);
        }
    }

    /// <summary>
    /// Finds up to <c>results.Length</c> entries for <paramref name="key"/> in
    /// <paramref name="partitionId"/> with a timestamp in [<paramref name="fromTimestamp"/>,
    /// <paramref name="toTimestamp"/>], newest first (newest file first, each file's chain
    /// newest first), and returns how many were written to <paramref name="results"/>.
    /// </summary>
    /// <remarks>
    /// Entries match on partition and 32-bit hash only; hashes collide, so every hit is a
    /// candidate and the engine must confirm the key by reading the record at
    /// <see cref="IndexHit.BatchPosition"/>. The partition is required because it is part of
    /// the hash; a topic-wide lookup is the engine's job (one query per partition).
    /// Safe to call concurrently with <see cref="Put"/>; allocation-free.
    /// </remarks>
    public int Query(int partitionId, ReadOnlySpan<byte> key, long fromTimestamp, long toTimestamp, Span<IndexHit> results)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(partitionId);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (results.IsEmpty || fromTimestamp > toTimestamp)
        {
            return 0;
        }

        uint hash = Hash(partitionId, key);
        IndexFile[] files = Volatile.Read(ref _files);
        int found = 0;
        for (int i = files.Length - 1; i >= 0 && found < results.Length; i--)
        {
            IndexFile file = files[i];
            if (!file.TryAcquire())
            {
                continue; // retired since the snapshot was taken
            }

            try
            {
                found += file.Query(hash, partitionId, fromTimestamp, toTimestamp, results[found..]);
            }
            finally
            {
                file.Release();
            }
        }

        return found;
    }

    /// <summary>
    /// Recovery: removes every entry with batchPosition &gt;= <paramref name="commitLogPosition"/>.
    /// Files that begin at or after it are deleted; the file that straddles it is cut in place:
    /// its leading entries below the position are kept and its slots, links and header are
    /// rebuilt from them (see <see cref="IndexFile.TruncateFrom"/>). The newest remaining file is
    /// always rebuilt this way, so it also repairs chains torn by a crash. Meant to run before
    /// queries are served: concurrent queries stay safe but may miss entries meanwhile.
    /// </summary>
    public void TruncateFromPosition(long commitLogPosition)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(commitLogPosition);
        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            IndexFile[] files = _files;
            int keep = files.Length;
            while (keep > 0 && files[keep - 1].BeginPosition >= commitLogPosition)
            {
                keep--;
            }

            if (keep > 0 && files[keep - 1].TruncateFrom(commitLogPosition) == 0)
            {
                keep--;
            }

            if (keep < files.Length)
            {
                Volatile.Write(ref _files, files[..keep]);

                // Unlinked under the lock: the next Put may create a file with the same name.
                for (int i = keep; i < files.Length; i++)
                {
                    files[i].Delete();
                }
            }

            long last = keep > 0 ? files[keep - 1].EndPosition : -1;
            Volatile.Write(ref _lastPosition, last);
            IndexLog.Truncated(_logger, commitLogPosition, files.Length - keep, last);
        }
    }

    /// <summary>
    /// Retention: deletes the oldest files whose every entry is below
    /// <paramref name="minCommitLogPosition"/> (endPosition &lt; it). The newest file, which
    /// Put appends to, is never deleted.
    /// </summary>
    public void DeleteBefore(long minCommitLogPosition)
    {
        IndexFile[] files;
        int remove = 0;
        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            files = _files;
            while (remove < files.Length - 1 && files[remove].EndPosition < minCommitLogPosition)
            {
                remove++;
            }

            if (remove == 0)
            {
                return;
            }

            Volatile.Write(ref _files, files[remove..]);
        }

        // Outside the lock: these names are older than anything Put will create again.
        for (int i = 0; i < remove; i++)
        {
            files[i].Delete();
        }
    }

    /// <summary>msyncs every file written since the last flush. Does not block Put.</summary>
    public void Flush()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        foreach (IndexFile file in Volatile.Read(ref _files))
        {
            if (file.TryAcquire())
            {
                try
                {
                    file.Flush();
                }
                finally
                {
                    file.Release();
                }
            }
        }
    }

    /// <summary>
    /// Closes every file (unmapped once running queries finish). Does not flush: call
    /// <see cref="Flush"/> first when the data must be durable.
    /// </summary>
    public void Dispose()
    {
        IndexFile[] files;
        lock (_writeLock)
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            files = _files;
            Volatile.Write(ref _files, []);
        }

        foreach (IndexFile file in files)
        {
            file.Dispose();
        }
    }

    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"IndexStore(directory={_directory}, slotCount={_slotCount}, maxEntriesPerFile={_maxEntries}, files={FileCount}, lastPosition={LastPosition})");

    private IndexFile Roll(IndexFile[] files, long batchPosition)
    {
        // Two files begin at the same position only when one batch carried more keys than a
        // file holds; the sequence suffix keeps their names distinct and ordered.
        int sequence = files.Length > 0 && files[^1].BeginPosition == batchPosition ? files[^1].Sequence + 1 : 0;
        string path = System.IO.Path.Combine(_directory, IndexFile.FileName(batchPosition, sequence));
        if (File.Exists(path))
        {
            // Only a file Open could not delete gets here; it is not part of the index.
            IndexLog.StaleFileDeleted(_logger, path);
            File.Delete(path);
        }

        var file = IndexFile.Create(path, _slotCount, _maxEntries, batchPosition, sequence);
        var next = new IndexFile[files.Length + 1];
        files.CopyTo(next, 0);
        next[^1] = file;
        Volatile.Write(ref _files, next);
        return file;
    }

    private static void ThrowPositionBackwards(long batchPosition, long lastPosition) =>
        throw new ArgumentOutOfRangeException(
            nameof(batchPosition),
            batchPosition,
            string.Create(CultureInfo.InvariantCulture, $"Index entries must be put in CommitLog order; the last entry is at {lastPosition}."));

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
