using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using OrleansMQ.Storage.Common;

namespace OrleansMQ.Storage.Index;

/// <summary>
/// One IndexFile: a fixed-size, memory-mapped hash table whose buckets are chains of
/// fixed-size entries, newest first (RocketMQ's IndexFile design). See docs/storage-format.md.
/// </summary>
/// <remarks>
/// <code>
/// header (64 bytes, little-endian):
///  0 magic "OMQI"   4 version = 1   8 slotCount   12 maxEntries   16 entryCount   20 reserved (0)
/// 24 beginTimestamp (min)   32 endTimestamp (max)   40 beginPosition   48 endPosition   56 reserved (0)
/// slots (slotCount x int32): 1-based number of the newest entry in the slot, 0 = empty
/// entries (40 bytes each, entry n at 64 + 4*slotCount + 40*(n-1)):
///  0 keyHash (uint32)   4 partitionId   8 offset   16 batchPosition   24 timestamp
/// 32 prevEntry (1-based, 0 = end of chain)   36 reserved (0)
/// </code>
/// Concurrency: one writer (<see cref="Append"/>, <see cref="TruncateFrom"/>, serialised by the
/// owning <see cref="IndexStore"/>) and any number of concurrent <see cref="Query"/> callers.
/// The writer stores the entry, then the slot, then entryCount, the last two with release
/// semantics, so a reader that sees a slot or count also sees the entry behind it. Readers trust
/// nothing they find in the mapping: every link is bounds-checked and must point to an older
/// entry, so a corrupt chain ends the walk instead of reading outside the file or looping.
/// Lifetime: the mapping is reference counted (<see cref="TryAcquire"/>/<see cref="Release"/>)
/// so a file retired by retention or truncation is only unmapped once the last reader leaves.
/// </remarks>
internal sealed unsafe class IndexFile : IDisposable
{
    /// <summary>"OMQI" as the bytes appear on disk, read as a little-endian uint32.</summary>
    public const uint Magic = 0x49514D4F;
    public const int Version = 1;
    public const int HeaderSize = 64;
    public const int EntrySize = 40;

    private const int MagicOffset = 0;
    private const int VersionOffset = 4;
    private const int SlotCountOffset = 8;
    private const int MaxEntriesOffset = 12;
    private const int EntryCountOffset = 16;
    private const int BeginTimestampOffset = 24;
    private const int EndTimestampOffset = 32;
    private const int BeginPositionOffset = 40;
    private const int EndPositionOffset = 48;

    private const int EntryHashOffset = 0;
    private const int EntryPartitionOffset = 4;
    private const int EntryOffsetOffset = 8;
    private const int EntryPositionOffset = 16;
    private const int EntryTimestampOffset = 24;
    private const int EntryPrevOffset = 32;

    private readonly MappedFile _file;
    private readonly byte* _base;
    private readonly long _entriesStart;
    private int _refs = 1; // the owner's reference, dropped by Dispose
    private int _closed;
    private int _dirty;

    private IndexFile(MappedFile file, long beginPosition, int sequence)
    {
        _file = file;
        _base = file.BasePointer;
        SlotCount = ReadInt32(SlotCountOffset);
        MaxEntries = ReadInt32(MaxEntriesOffset);
        _entriesStart = HeaderSize + (4L * SlotCount);
        BeginPosition = beginPosition;
        Sequence = sequence;
    }

    public string Path => _file.Path;

    public int SlotCount { get; }

    public int MaxEntries { get; }

    /// <summary>CommitLog position of the first entry; also the file's name.</summary>
    public long BeginPosition { get; }

    /// <summary>
    /// Tie-breaker in the name when several files begin at the same position (a single batch
    /// carried more keys than one file holds). 0 for almost every file.
    /// </summary>
    public int Sequence { get; }

    /// <summary>Published entry count (acquire read: the entries below it are complete).</summary>
    public int EntryCount => Volatile.Read(ref Unsafe.AsRef<int>(_base + EntryCountOffset));

    public bool IsFull => EntryCount >= MaxEntries;

    public long BeginTimestamp => Volatile.Read(ref Unsafe.AsRef<long>(_base + BeginTimestampOffset));

    public long EndTimestamp => Volatile.Read(ref Unsafe.AsRef<long>(_base + EndTimestampOffset));

    public long EndPosition => Volatile.Read(ref Unsafe.AsRef<long>(_base + EndPositionOffset));

    public static long FileSize(int slotCount, int maxEntries) =>
        HeaderSize + (4L * slotCount) + ((long)EntrySize * maxEntries);

    public static string FileName(long beginPosition, int sequence) =>
        sequence == 0
            ? beginPosition.ToString("D20", System.Globalization.CultureInfo.InvariantCulture)
            : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{beginPosition:D20}.{sequence}");

    /// <summary>Parses "&lt;20 digits&gt;" or "&lt;20 digits&gt;.&lt;sequence&gt;".</summary>
    public static bool TryParseFileName(string name, out long beginPosition, out int sequence)
    {
        beginPosition = 0;
        sequence = 0;
        if (name.Length < 20 || !IsDigits(name.AsSpan(0, 20))
            || !long.TryParse(name.AsSpan(0, 20), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out beginPosition))
        {
            return false;
        }

        if (name.Length == 20)
        {
            return true;
        }

        ReadOnlySpan<char> rest = name.AsSpan(20);
        return rest.Length is >= 2 and <= 10 && rest[0] == '.' && IsDigits(rest[1..])
            && int.TryParse(rest[1..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out sequence)
            && sequence > 0;

        static bool IsDigits(ReadOnlySpan<char> s)
        {
            foreach (char c in s)
            {
                if (c is < '0' or > '9')
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>Creates a new, empty file. The name must not exist.</summary>
    public static IndexFile Create(string path, int slotCount, int maxEntries, long beginPosition, int sequence)
    {
        var file = MappedFile.Open(path, FileSize(slotCount, maxEntries), createNew: true);
        Span<byte> h = file.GetSpan(0, HeaderSize);
        BinaryPrimitives.WriteUInt32LittleEndian(h[MagicOffset..], Magic);
        BinaryPrimitives.WriteInt32LittleEndian(h[VersionOffset..], Version);
        BinaryPrimitives.WriteInt32LittleEndian(h[SlotCountOffset..], slotCount);
        BinaryPrimitives.WriteInt32LittleEndian(h[MaxEntriesOffset..], maxEntries);
        BinaryPrimitives.WriteInt32LittleEndian(h[EntryCountOffset..], 0);

        // Min/max start inverted so the first Append's min/max comparisons set both.
        BinaryPrimitives.WriteInt64LittleEndian(h[BeginTimestampOffset..], long.MaxValue);
        BinaryPrimitives.WriteInt64LittleEndian(h[EndTimestampOffset..], long.MinValue);
        BinaryPrimitives.WriteInt64LittleEndian(h[BeginPositionOffset..], beginPosition);
        BinaryPrimitives.WriteInt64LittleEndian(h[EndPositionOffset..], beginPosition);
        var result = new IndexFile(file, beginPosition, sequence);
        result._dirty = 1;
        return result;
    }

    /// <summary>
    /// Opens an existing file after checking its header against its name and real length.
    /// Returns null with a reason when the file is not a usable IndexFile.
    /// </summary>
    public static IndexFile? TryOpen(string path, long nameBeginPosition, int sequence, out string? error)
    {
        Span<byte> h = stackalloc byte[HeaderSize];
        long length;
        using (var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            length = RandomAccess.GetLength(handle);
            if (length < HeaderSize)
            {
                error = $"it is {length} bytes, shorter than the {HeaderSize}-byte header";
                return null;
            }

            if (RandomAccess.Read(handle, h, 0) != HeaderSize)
            {
                error = "the header could not be read in full";
                return null;
            }
        }

        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(h[MagicOffset..]);
        int version = BinaryPrimitives.ReadInt32LittleEndian(h[VersionOffset..]);
        int slotCount = BinaryPrimitives.ReadInt32LittleEndian(h[SlotCountOffset..]);
        int maxEntries = BinaryPrimitives.ReadInt32LittleEndian(h[MaxEntriesOffset..]);
        int entryCount = BinaryPrimitives.ReadInt32LittleEndian(h[EntryCountOffset..]);
        long beginTs = BinaryPrimitives.ReadInt64LittleEndian(h[BeginTimestampOffset..]);
        long endTs = BinaryPrimitives.ReadInt64LittleEndian(h[EndTimestampOffset..]);
        long beginPos = BinaryPrimitives.ReadInt64LittleEndian(h[BeginPositionOffset..]);
        long endPos = BinaryPrimitives.ReadInt64LittleEndian(h[EndPositionOffset..]);

        error = magic != Magic ? $"bad magic 0x{magic:X8}"
            : version != Version ? $"unsupported version {version}"
            : slotCount < 1 || maxEntries < 1 ? $"bad geometry: slotCount {slotCount}, maxEntries {maxEntries}"
            : length != FileSize(slotCount, maxEntries) ? $"it is {length} bytes but its header (slotCount {slotCount}, maxEntries {maxEntries}) needs {FileSize(slotCount, maxEntries)}"
            : entryCount < 0 || entryCount > maxEntries ? $"entryCount {entryCount} outside [0, {maxEntries}]"
            : entryCount == 0 ? "it holds no entries"
            : beginPos != nameBeginPosition ? $"header beginPosition {beginPos} does not match the name"
            : endPos < beginPos ? $"endPosition {endPos} is below beginPosition {beginPos}"
            : beginTs > endTs ? $"beginTimestamp {beginTs} is after endTimestamp {endTs}"
            : null;
        if (error is not null)
        {
            return null;
        }

        return new IndexFile(MappedFile.Open(path, length), beginPos, sequence);
    }

    /// <summary>
    /// Appends one entry. Single writer; the caller checked <see cref="IsFull"/> and that
    /// <paramref name="batchPosition"/> does not go backwards.
    /// </summary>
    public void Append(uint hash, int partitionId, long offset, long batchPosition, long timestamp)
    {
        ref int countRef = ref Unsafe.AsRef<int>(_base + EntryCountOffset);
        int n = countRef + 1; // only this thread writes the count
        byte* e = EntryPointer(n);
        ref int slot = ref SlotRef(hash);

        Unsafe.WriteUnaligned(e + EntryHashOffset, hash);
        Unsafe.WriteUnaligned(e + EntryPartitionOffset, partitionId);
        Unsafe.WriteUnaligned(e + EntryOffsetOffset, offset);
        Unsafe.WriteUnaligned(e + EntryPositionOffset, batchPosition);
        Unsafe.WriteUnaligned(e + EntryTimestampOffset, timestamp);
        Unsafe.WriteUnaligned(e + EntryPrevOffset, slot);
        Unsafe.WriteUnaligned(e + EntryPrevOffset + 4, 0);

        // Header before the count: a reader that sees the count sees a time range covering it.
        ref long beginTs = ref Unsafe.AsRef<long>(_base + BeginTimestampOffset);
        ref long endTs = ref Unsafe.AsRef<long>(_base + EndTimestampOffset);
        if (timestamp < beginTs)
        {
            Volatile.Write(ref beginTs, timestamp);
        }

        if (timestamp > endTs)
        {
            Volatile.Write(ref endTs, timestamp);
        }

        Volatile.Write(ref Unsafe.AsRef<long>(_base + EndPositionOffset), batchPosition);
        Volatile.Write(ref slot, n);
        Volatile.Write(ref countRef, n);
        Volatile.Write(ref _dirty, 1);
    }

    /// <summary>
    /// Copies to <paramref name="results"/> the entries of the chain for <paramref name="hash"/>
    /// whose partition and hash match and whose timestamp is in [from, to], newest first.
    /// Returns how many were written. Caller holds a reference (<see cref="TryAcquire"/>).
    /// </summary>
    public int Query(uint hash, int partitionId, long fromTimestamp, long toTimestamp, Span<IndexHit> results)
    {
        ref int countRef = ref Unsafe.AsRef<int>(_base + EntryCountOffset);
        int count = Volatile.Read(ref countRef);
        if (count <= 0 || results.IsEmpty)
        {
            return 0;
        }

        // Read after the count so the range covers every published entry.
        if (EndTimestamp < fromTimestamp || BeginTimestamp > toTimestamp)
        {
            return 0;
        }

        // The writer publishes the slot before the count, so the head may be the one entry
        // past the count we read (complete, thanks to the release on the slot). A head further
        // out means more Appends finished meanwhile: re-read the count; a head beyond a count
        // that no longer moves is corruption.
        ref int slot = ref SlotRef(hash);
        int link = Volatile.Read(ref slot);
        int limit = Limit(count);
        while (link > limit)
        {
            int again = Volatile.Read(ref countRef);
            if (again <= count)
            {
                return 0;
            }

            count = again;
            limit = Limit(count);
            link = Volatile.Read(ref slot);
        }

        int found = 0;
        while (link > 0 && found < results.Length)
        {
            byte* e = EntryPointer(link);
            long timestamp = Unsafe.ReadUnaligned<long>(e + EntryTimestampOffset);
            if (Unsafe.ReadUnaligned<uint>(e + EntryHashOffset) == hash
                && Unsafe.ReadUnaligned<int>(e + EntryPartitionOffset) == partitionId
                && timestamp >= fromTimestamp && timestamp <= toTimestamp)
            {
                results[found++] = new IndexHit(
                    partitionId,
                    Unsafe.ReadUnaligned<long>(e + EntryOffsetOffset),
                    Unsafe.ReadUnaligned<long>(e + EntryPositionOffset),
                    timestamp);
            }

            // Chains only point to older entries; anything else is corruption and ends the
            // walk. Strictly decreasing links also bound the walk to `link` steps.
            int prev = Unsafe.ReadUnaligned<int>(e + EntryPrevOffset);
            if (prev >= link)
            {
                break;
            }

            link = prev;
        }

        return found;
    }

    /// <summary>
    /// Recovery: keeps the leading entries with batchPosition &lt; <paramref name="position"/>
    /// and rebuilds the slots and header from them. Entries are in position order, so the kept
    /// entries are a prefix; the scan also stops at the first entry that goes backwards or does
    /// not start at <see cref="BeginPosition"/>, which is what a torn (never flushed) entry looks
    /// like after a crash. Returns the number of entries kept; 0 means the caller deletes the file.
    /// </summary>
    /// <remarks>
    /// Runs in place. Queries running at the same time stay memory-safe but may transiently miss
    /// entries while the slots are rebuilt; truncation is a recovery step run before serving.
    /// </remarks>
    public int TruncateFrom(long position)
    {
        int count = Math.Clamp(Volatile.Read(ref Unsafe.AsRef<int>(_base + EntryCountOffset)), 0, MaxEntries);
        int keep = 0;
        long previous = BeginPosition;
        for (int n = 1; n <= count; n++)
        {
            long bp = Unsafe.ReadUnaligned<long>(EntryPointer(n) + EntryPositionOffset);
            if (bp >= position || bp < previous || (n == 1 && bp != BeginPosition))
            {
                break;
            }

            previous = bp;
            keep = n;
        }

        // Unpublish first so new readers stop at `keep`, then clear what follows it.
        Volatile.Write(ref Unsafe.AsRef<int>(_base + EntryCountOffset), keep);
        if (keep == 0)
        {
            return 0;
        }

        // Only the written tail needs clearing; Append rewrites every byte of an entry anyway.
        ClearEntries(keep + 1, count);
        _file.GetSpan(HeaderSize, 4 * SlotCount).Clear();

        // Relink every kept entry: a clean file gets back exactly the links it had, and a file
        // whose slot pages were lost in a crash gets consistent chains again.
        long minTs = long.MaxValue;
        long maxTs = long.MinValue;
        for (int n = 1; n <= keep; n++)
        {
            byte* e = EntryPointer(n);
            ref int slot = ref SlotRef(Unsafe.ReadUnaligned<uint>(e + EntryHashOffset));
            Unsafe.WriteUnaligned(e + EntryPrevOffset, slot);
            Unsafe.WriteUnaligned(e + EntryPrevOffset + 4, 0);
            Volatile.Write(ref slot, n);
            long ts = Unsafe.ReadUnaligned<long>(e + EntryTimestampOffset);
            minTs = Math.Min(minTs, ts);
            maxTs = Math.Max(maxTs, ts);
        }

        Volatile.Write(ref Unsafe.AsRef<long>(_base + BeginTimestampOffset), minTs);
        Volatile.Write(ref Unsafe.AsRef<long>(_base + EndTimestampOffset), maxTs);
        Volatile.Write(ref Unsafe.AsRef<long>(_base + EndPositionOffset), previous);
        Volatile.Write(ref Unsafe.AsRef<int>(_base + EntryCountOffset), keep);
        Volatile.Write(ref _dirty, 1);
        return keep;
    }

    /// <summary>msyncs the file if anything changed since the last flush. Caller holds a reference.</summary>
    public void Flush()
    {
        // Clear before syncing: a write racing with the msync sets the flag again and is caught
        // by the next flush rather than lost.
        if (Interlocked.Exchange(ref _dirty, 0) != 0)
        {
            _file.Flush(0, _file.Size);
        }
    }

    /// <summary>Takes a reader reference; false once the file is retired.</summary>
    public bool TryAcquire()
    {
        if (Volatile.Read(ref _closed) != 0)
        {
            return false;
        }

        int refs = Volatile.Read(ref _refs);
        while (refs > 0)
        {
            int seen = Interlocked.CompareExchange(ref _refs, refs + 1, refs);
            if (seen == refs)
            {
                return true;
            }

            refs = seen;
        }

        return false;
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _refs) == 0)
        {
            _file.Dispose();
        }
    }

    /// <summary>Drops the owner's reference; the mapping goes when the last reader releases.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0)
        {
            Release();
        }
    }

    /// <summary>
    /// Unlinks the file now (so its name can be reused at once) and retires the mapping, which
    /// stays valid for readers still holding a reference.
    /// </summary>
    public void Delete()
    {
        try
        {
            File.Delete(Path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        Dispose();
    }

    // Highest link a reader may follow: the published count plus the one entry that may be in
    // flight, never past the end of the file whatever the count field says.
    private int Limit(int count) => Math.Min(count, MaxEntries - 1) + 1;

    private int ReadInt32(int offset) => Unsafe.ReadUnaligned<int>(_base + offset);

    private ref int SlotRef(uint hash) => ref Unsafe.AsRef<int>(_base + HeaderSize + (4L * (hash % (uint)SlotCount)));

    private byte* EntryPointer(int oneBased) => _base + _entriesStart + ((long)EntrySize * (oneBased - 1));

    private void ClearEntries(int fromOneBased, int toOneBased)
    {
        long start = _entriesStart + ((long)EntrySize * (fromOneBased - 1));
        long remaining = (long)EntrySize * Math.Max(0, toOneBased - fromOneBased + 1);
        while (remaining > 0)
        {
            int chunk = (int)Math.Min(remaining, 1 << 30);
            _file.GetSpan(start, chunk).Clear();
            start += chunk;
            remaining -= chunk;
        }
    }
}
