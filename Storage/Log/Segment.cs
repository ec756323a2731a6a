using OrleansMQ.Storage.Common;

namespace OrleansMQ.Storage.Log;

/// <summary>
/// One CommitLog segment file: a <see cref="MappedFile"/> plus a reference count, so retention can
/// delete a segment while a fetch is still sending from it (the file goes when the last reader
/// releases it, as RocketMQ's ReferenceResource does).
/// </summary>
public sealed class Segment
{
    /// <summary>No record timestamp (Kafka's NO_TIMESTAMP); record timestamps below zero count as none.</summary>
    internal const long NoTimestamp = -1;

    private const long NotSealed = long.MinValue;

    private int _refs = 1; // the log's own reference
    private int _destroyed;

    // Time retention measures a segment by the largest record timestamp it holds, as Kafka's
    // LogSegment.largestTimestamp does: a file's mtime changes when it is copied back from a backup
    // and runs on the wall clock, not on the engine's TimeProvider. The dispatcher raises it for every
    // entry it passes (a compare and a store, nothing allocated); entries it never passed in this
    // process (below the checkpoint at open) are covered by one scan of the entry headers, on first
    // demand (see RetentionTimestamp).
    private long _maxTimestamp = NoTimestamp;
    private long _sealedAtMs = NotSealed;   // engine clock, when the dispatcher (or the open) found the segment sealed
    private int _unobserved;                // 1: some entries were written before this process's dispatcher started

    internal Segment(long startPosition, MappedFile file)
    {
        StartPosition = startPosition;
        File = file;
    }

    /// <summary>CommitLog position of the first byte of this file (the file's name).</summary>
    public long StartPosition { get; }

    /// <summary>Position one past the last byte of this file.</summary>
    public long EndPosition => StartPosition + File.Size;

    internal MappedFile File { get; }

    /// <summary>The segment file's path (for diagnostics and for the delivery layer).</summary>
    public string FilePath => File.Path;

    /// <summary>The open file handle, for sendfile(2). Valid while the caller holds a reference.</summary>
    public Microsoft.Win32.SafeHandles.SafeFileHandle FileHandle => File.FileHandle;

    public static string FileNameFor(long startPosition) => startPosition.ToString("D20", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Dispatcher only (one writer): raises the segment's largest record timestamp to an entry's max timestamp.</summary>
    internal void ObserveTimestamp(long timestamp)
    {
        if (timestamp > _maxTimestamp)
        {
            Volatile.Write(ref _maxTimestamp, timestamp);
        }
    }

    /// <summary>Records when the segment was found sealed on the engine clock; the first call wins.</summary>
    internal void MarkSealed(long nowMs) => Interlocked.CompareExchange(ref _sealedAtMs, nowMs, NotSealed);

    /// <summary>Some entries were written before the dispatcher of this process started (recovery): scan the headers before answering.</summary>
    internal void MarkUnobserved() => Volatile.Write(ref _unobserved, 1);

    /// <summary>
    /// The time retention measures this segment's age from (ms since the epoch, engine clock): its
    /// largest record timestamp, as in Kafka (a CreateTime in the future keeps it, one in the distant
    /// past lets it go at once). A segment holding no record timestamp ages from when the engine found
    /// it sealed (the dispatcher moving past its end, or the open that found it; failing both, this
    /// call, at <paramref name="nowMs"/>). Only for a sealed segment whose entries are all dispatched,
    /// which is all retention and the offloader ask about: nothing can be added to it any more.
    /// </summary>
    internal long RetentionTimestamp(long nowMs)
    {
        if (Volatile.Read(ref _unobserved) == 1)
        {
            // Entry headers only (48 bytes per batch), once per segment and process, off the append
            // and recovery paths: the housekeeping thread asks when the segment's age first matters.
            long scanned = ScanMaxTimestamp();
            long seen = Volatile.Read(ref _maxTimestamp);
            while (scanned > seen)
            {
                long was = Interlocked.CompareExchange(ref _maxTimestamp, scanned, seen);
                if (was == seen)
                {
                    break;
                }

                seen = was;
            }

            Volatile.Write(ref _unobserved, 0);
        }

        long max = Volatile.Read(ref _maxTimestamp);
        if (max >= 0)
        {
            return max;
        }

        MarkSealed(nowMs);
        return Volatile.Read(ref _sealedAtMs);
    }

    /// <summary>The largest max timestamp in the entry headers, from the start to the blank padding or the end of data.</summary>
    private long ScanMaxTimestamp()
    {
        long max = NoTimestamp;
        long pos = 0;
        while (File.Size - pos >= EntryFormat.MinBlankSize)
        {
            var head = File.GetSpan(pos, EntryFormat.MinBlankSize);
            int length = EntryFormat.ReadLength(head);
            if (EntryFormat.ReadMagic(head) == EntryFormat.TruncateMagic && length == EntryFormat.HeaderSize && length <= File.Size - pos)
            {
                pos += length; // a truncation marker holds no record timestamp
                continue;
            }

            if (EntryFormat.ReadMagic(head) != EntryFormat.DataMagic || length < EntryFormat.MinDataEntrySize || length > File.Size - pos)
            {
                break;
            }

            max = Math.Max(max, EntryFormat.ReadMaxTimestamp(File.GetSpan(pos, EntryFormat.HeaderSize)));
            pos += length;
        }

        return max;
    }

    /// <summary>Takes a reference; false when the segment is already being deleted.</summary>
    public bool TryRetain()
    {
        while (true)
        {
            int refs = Volatile.Read(ref _refs);
            if (refs <= 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _refs, refs + 1, refs) == refs)
            {
                return true;
            }
        }
    }

    /// <summary>Drops a reference; the last one unmaps the file (and deletes it when destroyed).</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _refs) == 0)
        {
            if (Volatile.Read(ref _destroyed) == 1)
            {
                File.DisposeAndDelete();
            }
            else
            {
                File.Dispose();
            }
        }
    }

    /// <summary>Marks the segment for deletion and drops the log's reference.</summary>
    internal void Destroy()
    {
        if (Interlocked.Exchange(ref _destroyed, 1) == 0)
        {
            Release();
        }
    }

    /// <summary>Drops the log's reference without deleting (engine shutdown).</summary>
    internal void Close()
    {
        if (Volatile.Read(ref _destroyed) == 0)
        {
            Release();
        }
    }
}
