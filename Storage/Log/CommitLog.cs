using System.Buffers.Binary;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Metrics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using OrleansMQ.Protocol.Batches;
using OrleansMQ.Storage.Common;

namespace OrleansMQ.Storage.Log;

/// <summary>
/// The one sequential log of a silo: every partition's RecordBatches, appended to fixed-size,
/// preallocated, memory-mapped segment files named by their start position.
/// </summary>
/// <remarks>
/// Positions: <c>MinPosition &lt;= FlushedPosition &lt;= CommittedPosition</c>. Bytes below
/// <see cref="CommittedPosition"/> are whole entries and may be read without locks; bytes below
/// <see cref="FlushedPosition"/> are on the device.
/// One append path: <see cref="Append"/> takes the put lock only to copy the batch into the
/// mapping; validation happens before, durability waits after, both outside the lock.
/// </remarks>
public sealed unsafe partial class CommitLog : IFlushTarget, IDisposable
{
    private readonly string _directory;
    private readonly long _segmentSize;
    private readonly bool _prepareAhead;
    private readonly ILogger _logger;
    private readonly PutLock _putLock;
    private readonly FlushPolicy _flushPolicy;
    private readonly Histogram<double>? _flushDuration;
    private FlushRunner _flusher = null!;
    private readonly Lock _segmentsLock = new();   // guards segment list changes (roll, retention), never held by readers
    private readonly Lock _flushLock = new();      // one msync sequence at a time

    private Segment[] _segments;                  // copy-on-write snapshot, oldest first
    private Segment _current;
    private Task<Segment>? _prepared;
    private long _writePosition;                  // guarded by the put lock
    private long _committed;
    private long _flushed;
    private volatile bool _closed;
    private Action? _onCommitted;

    private CommitLog(string directory, StorageOptions options, ILogger logger, Segment[] segments, Segment current, long writePosition)
    {
        _directory = directory;
        _segmentSize = options.SegmentSize;
        _prepareAhead = options.PrepareNextSegment;
        _logger = logger;
        _putLock = PutLock.Create(options.PutLock);
        _flushPolicy = options.FlushPolicy;
        // One recording per flush pass (at most a few hundred a second), on the flush thread.
        _flushDuration = options.Meter?.CreateHistogram<double>("orleansmq_commitlog_flush_duration_seconds", "s", "CommitLog flush (msync) latency per flush pass.");
        _segments = segments;
        _current = current;
        _writePosition = writePosition;
        _committed = writePosition;
        _flushed = writePosition;
    }

    /// <summary>Start of the oldest segment still on disk.</summary>
    public long MinPosition => Volatile.Read(ref _segments)[0].StartPosition;

    /// <summary>End of the last whole entry; everything below may be read.</summary>
    public long CommittedPosition => Volatile.Read(ref _committed);

    /// <summary>Everything below this position has been written to the device.</summary>
    public long FlushedPosition => Volatile.Read(ref _flushed);

    /// <summary>The flush policy in force.</summary>
    public FlushPolicy FlushPolicy => _flushPolicy;

    /// <summary>Flushes performed so far (with the append count: appends per flush).</summary>
    public long FlushCount => _flusher.FlushCount;
    /// <summary>Size of new segments.</summary>
    public long SegmentSize => _segmentSize;

    /// <summary>A snapshot of the segments, oldest first.</summary>
    public IReadOnlyList<Segment> Segments => Volatile.Read(ref _segments);

    /// <summary>Bytes held by segment files.</summary>
    public long DiskBytes
    {
        get
        {
            long total = 0;
            foreach (var s in Volatile.Read(ref _segments))
            {
                total += s.File.Size;
            }

            return total;
        }
    }

    /// <summary>Called after every append, outside the put lock (the engine wakes the dispatcher here).</summary>
    internal void SetCommitListener(Action onCommitted) => _onCommitted = onCommitted;

    /// <summary>
    /// Opens the log in <paramref name="directory"/>, validating entries from
    /// <paramref name="recoverFrom"/> (an entry boundary, e.g. the checkpoint) to the end and
    /// truncating a torn or corrupt tail. Never throws on damaged data; the report says what was dropped.
    /// </summary>
    public static CommitLog Open(string directory, StorageOptions options, long recoverFrom, ILogger logger, out CommitLogRecovery recovery)
    {
        Directory.CreateDirectory(directory);
        long damagedFrom = long.MaxValue;
        var segments = LoadSegments(directory, options, recoverFrom, logger, ref damagedFrom);
        var scan = Recover(segments, Math.Min(recoverFrom, damagedFrom), options.MaxBatchBytes + EntryFormat.HeaderSize, logger);
        recovery = scan;

        // The write position's segment. A log that ends exactly at a segment end gets a new one.
        long write = scan.ValidEnd;
        var list = new List<Segment>(segments);
        while (list.Count > 0 && list[^1].StartPosition > write)
        {
            list[^1].Destroy();
            list.RemoveAt(list.Count - 1);
        }

        if (list.Count == 0 || list[^1].EndPosition == write)
        {
            list.Add(CreateSegment(directory, write, options.SegmentSize, prefault: false));
        }

        var log = new CommitLog(directory, options, logger, list.ToArray(), list[^1], write);
        log._flusher = log._flushPolicy.Start(log);
        if (options.PrepareNextSegment)
        {
            PrefaultInBackground(log._current);
        }

        log.PrepareNext();
        return log;
    }

    private static long RoundUpToPage(long size) => (size + Environment.SystemPageSize - 1) / Environment.SystemPageSize * Environment.SystemPageSize;

    private static List<Segment> LoadSegments(string directory, StorageOptions options, long recoverFrom, ILogger logger, ref long damagedFrom)
    {
        var files = new List<(long Start, string Path, long Size)>();
        foreach (var path in Directory.EnumerateFiles(directory))
        {
            var name = Path.GetFileName(path);
            if (name.Length != 20 || !long.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out long start))
            {
                if (name != "set-aside")
                {
                    CommitLogMessages.UnexpectedFile(logger, path);
                }

                continue;
            }

            long size = new FileInfo(path).Length;
            files.Add((start, path, size));
        }

        files.Sort((a, b) => a.Start.CompareTo(b.Start));

        // A file shorter than a segment can be (a torn extend, a truncated copy) is extended with
        // zeros back to its place in the sequence, and validation starts at its beginning so the
        // scan truncates at the last intact entry.
        for (int i = 0; i < files.Count; i++)
        {
            long size = files[i].Size;
            if (size >= StorageOptions.MinSegmentSize && size % Environment.SystemPageSize == 0)
            {
                continue;
            }

            long expected = i + 1 < files.Count ? files[i + 1].Start - files[i].Start : Math.Max(options.SegmentSize, RoundUpToPage(size));
            if (expected >= size && expected >= StorageOptions.MinSegmentSize && expected % Environment.SystemPageSize == 0)
            {
                using (var fs = new FileStream(files[i].Path, FileMode.Open, FileAccess.ReadWrite))
                {
                    fs.SetLength(expected);
                }

                CommitLogMessages.SegmentExtended(logger, files[i].Path, size, expected);
                files[i] = (files[i].Start, files[i].Path, expected);
                damagedFrom = Math.Min(damagedFrom, files[i].Start);
            }
        }

        // Keep the newest contiguous run of well-formed segments. A segment of an impossible size
        // or a hole in the sequence means the files before it cannot be placed; they are moved
        // aside (never deleted) so nothing is destroyed by a startup decision.
        int firstKept = 0;
        for (int i = 0; i < files.Count; i++)
        {
            bool badSize = files[i].Size < StorageOptions.MinSegmentSize || files[i].Size % Environment.SystemPageSize != 0;
            bool gap = i > firstKept && files[i - 1].Start + files[i - 1].Size != files[i].Start;
            if (badSize)
            {
                CommitLogMessages.SegmentBadSize(logger, files[i].Path, files[i].Size);
                firstKept = i + 1;
            }
            else if (gap)
            {
                CommitLogMessages.SegmentGap(logger, files[i].Path, files[i - 1].Path);
                firstKept = i;
            }
        }

        if (firstKept > 0)
        {
            var aside = Path.Combine(directory, "set-aside");
            Directory.CreateDirectory(aside);
            for (int i = 0; i < firstKept; i++)
            {
                File.Move(files[i].Path, Path.Combine(aside, Path.GetFileName(files[i].Path)), overwrite: true);
                CommitLogMessages.SegmentSetAside(logger, files[i].Path, aside);
            }
        }

        var segments = new List<Segment>();
        for (int i = firstKept; i < files.Count; i++)
        {
            segments.Add(new Segment(files[i].Start, MappedFile.Open(files[i].Path, files[i].Size)));
        }

        if (segments.Count == 0)
        {
            // A fresh log, or one whose files are gone: positions must keep growing past anything the
            // queues may still reference, so start at the recovery point rather than at zero.
            long start = Math.Max(0, recoverFrom);
            start -= start % Environment.SystemPageSize;
            segments.Add(CreateSegment(directory, start, options.SegmentSize, prefault: false));
        }

        return segments;
    }

    /// <summary>Validates entries from <paramref name="recoverFrom"/> and truncates at the first bad one.</summary>
    private static CommitLogRecovery Recover(List<Segment> segments, long recoverFrom, long maxEntryBytes, ILogger logger)
    {
        long min = segments[0].StartPosition;
        long max = segments[^1].EndPosition;
        long pos = recoverFrom < min || recoverFrom > max ? min : recoverFrom;
        long scannedFrom = pos;
        long entries = 0;
        string? reason = null;

        int segIndex = FindIndex(segments, pos);
        while (segIndex < segments.Count)
        {
            var seg = segments[segIndex];
            long off = pos - seg.StartPosition;
            long remaining = seg.File.Size - off;
            if (remaining < EntryFormat.MinBlankSize)
            {
                pos = seg.EndPosition;
                segIndex++;
                continue;
            }

            var head = new ReadOnlySpan<byte>(seg.File.BasePointer + off, EntryFormat.MinBlankSize);
            int length = EntryFormat.ReadLength(head);
            uint magic = EntryFormat.ReadMagic(head);
            if (length == 0 && magic == 0)
            {
                break; // end of written data
            }

            if (magic == EntryFormat.BlankMagic)
            {
                if (length != remaining)
                {
                    reason = $"blank entry length {length} does not reach the segment end ({remaining} bytes left)";
                    break;
                }

                pos = seg.EndPosition;
                segIndex++;
                continue;
            }

            if (magic == EntryFormat.TruncateMagic)
            {
                // A truncation marker: a header alone, checked by its own CRC.
                reason = length == EntryFormat.HeaderSize && length <= remaining
                    ? EntryFormat.CheckTruncationMarker(new ReadOnlySpan<byte>(seg.File.BasePointer + off, EntryFormat.HeaderSize))
                    : $"truncation marker length {length} is not {EntryFormat.HeaderSize} or passes the segment end";
                if (reason is not null)
                {
                    break;
                }

                entries++;
                pos += length;
                continue;
            }

            if (magic != EntryFormat.DataMagic)
            {
                reason = $"bad magic 0x{magic:X8}";
                break;
            }

            if (length < EntryFormat.MinDataEntrySize || length > remaining)
            {
                reason = $"entry length {length} outside [{EntryFormat.MinDataEntrySize}, {remaining}]";
                break;
            }

            var entry = new ReadOnlySpan<byte>(seg.File.BasePointer + off, length);
            reason = CheckEntry(entry);
            if (reason is not null)
            {
                break;
            }

            entries++;
            pos += length;
        }

        long droppedBytes = 0;
        var deleted = new List<string>();
        if (segIndex < segments.Count)
        {
            var seg = segments[segIndex];
            long off = pos - seg.StartPosition;
            // After a clean end of data only one torn entry can follow (appends are serialized), so
            // only a window of one maximal entry needs clearing; scanning a 1 GiB tail of zeros
            // would cost seconds of reads on a cold start. After damage, the whole rest goes: old
            // entries past the damage must never be revalidated later.
            long window = reason is null ? Math.Min(seg.File.Size - off, maxEntryBytes + EntryFormat.MinBlankSize) : seg.File.Size - off;
            var tail = new Span<byte>(seg.File.BasePointer + off, checked((int)Math.Min(int.MaxValue, window)));
            int lastNonZero = tail.LastIndexOfAnyExcept((byte)0);
            if (lastNonZero >= 0)
            {
                droppedBytes += lastNonZero + 1;
                tail[..(lastNonZero + 1)].Clear();
                seg.File.Flush(off, lastNonZero + 1);
            }

            for (int i = segments.Count - 1; i > segIndex; i--)
            {
                var later = segments[i];
                // A segment the writer never entered (prepared ahead) starts with zeros: nothing to
                // count. One it did enter starts with an entry.
                var first = new ReadOnlySpan<byte>(later.File.BasePointer, EntryFormat.MinBlankSize);
                var span = first.ContainsAnyExcept((byte)0)
                    ? new ReadOnlySpan<byte>(later.File.BasePointer, checked((int)Math.Min(int.MaxValue, later.File.Size)))
                    : ReadOnlySpan<byte>.Empty;
                int used = span.LastIndexOfAnyExcept((byte)0) + 1;
                droppedBytes += used;
                if (used > 0)
                {
                    deleted.Add(later.FilePath);
                }

                later.Destroy();
                segments.RemoveAt(i);
            }
        }

        var result = new CommitLogRecovery(scannedFrom, pos, entries, droppedBytes, reason, deleted);
        if (reason is not null || droppedBytes > 0)
        {
            CommitLogMessages.RecoveryTruncated(logger, entries, scannedFrom, pos, droppedBytes, reason ?? "data past the end of the log", string.Join(", ", deleted));
        }
        else
        {
            CommitLogMessages.RecoveryClean(logger, entries, scannedFrom, pos);
        }

        return result;
    }

    /// <summary>Checks an entry's two checksums and that its header agrees with its batch. Null when intact.</summary>
    internal static string? CheckEntry(ReadOnlySpan<byte> entry)
    {
        if (EntryFormat.ComputeCrc(entry) != EntryFormat.ReadCrc(entry))
        {
            return "entry checksum mismatch";
        }

        var batch = entry[EntryFormat.HeaderSize..];
        if (RecordBatch.TryReadInfo(batch, out var info) != BatchError.None || info.TotalLength != batch.Length)
        {
            return "batch header inconsistent with entry length";
        }

        if (Crc32C.Compute(batch[RecordBatch.Attributes..]) != info.Crc)
        {
            return "batch CRC-32C mismatch";
        }

        if (RecordBatch.ReadBaseOffset(batch) != EntryFormat.ReadBaseOffset(entry) || info.LastOffsetDelta + 1 != EntryFormat.ReadCount(entry))
        {
            return "entry header disagrees with its batch";
        }

        return null;
    }

    private static int FindIndex(IReadOnlyList<Segment> segments, long position)
    {
        int lo = 0, hi = segments.Count - 1;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) >> 1;
            if (segments[mid].StartPosition <= position)
            {
                lo = mid;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return lo;
    }

    private static Segment CreateSegment(string directory, long start, long size, bool prefault)
    {
        var path = Path.Combine(directory, Segment.FileNameFor(start));
        MappedFile file;
        try
        {
            file = MappedFile.Open(path, size);
        }
        catch (IOException ex) when (IsDiskFull(ex))
        {
            throw new StorageException(StorageError.StorageFull, $"No space to create CommitLog segment {path} ({size} bytes).", ex);
        }
        catch (IOException ex)
        {
            throw new StorageException(StorageError.IoError, $"Creating CommitLog segment {path} failed: {ex.Message}", ex);
        }

        if (prefault)
        {
            file.Prefault();
        }

        return new Segment(start, file);
    }

    // .NET surfaces ENOSPC as a plain IOException; its HResult carries errno 28 on Linux, and the
    // preallocation path reports it only in the message.
    internal static bool IsDiskFull(IOException ex) =>
        ex.HResult == 28
        || ex.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase)
        || ex.Message.Contains("disk was full", StringComparison.OrdinalIgnoreCase)
        || (ex.InnerException is IOException inner && IsDiskFull(inner));

    /// <summary>Starts preparing the segment after the current one, off the append path.</summary>
    private void PrepareNext()
    {
        if (!_prepareAhead)
        {
            return;
        }

        long start = _current.EndPosition;
        // Creating the file (fallocate + mmap) is what a roll waits for: milliseconds. Pre-faulting
        // follows on a dedicated thread that nobody waits for — it can take a good part of a second
        // for 1 GiB, and a roll must never wait for it (nor may a pool thread block on it).
        _prepared = Task.Factory.StartNew(
            () =>
            {
                var segment = CreateSegment(_directory, start, _segmentSize, prefault: false);
                PrefaultInBackground(segment);
                return segment;
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        // Observe failures (disk full) without faulting the finalizer: the roll retries synchronously.
        _prepared.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Pre-faults a segment on its own thread, holding a reference so it cannot be unmapped meanwhile.</summary>
    private static void PrefaultInBackground(Segment segment)
    {
        if (!segment.TryRetain())
        {
            return;
        }

        var thread = new Thread(
            static s =>
            {
                var seg = (Segment)s!;
                try
                {
                    seg.File.Prefault();
                }
                finally
                {
                    seg.Release();
                }
            })
        {
            IsBackground = true,
            Name = "omq-prefault",
            Priority = ThreadPriority.BelowNormal,
        };
        thread.Start(segment);
    }

    /// <summary>
    /// Appends one validated RecordBatch for a partition: assigns offsets from
    /// <paramref name="nextOffset"/> (advanced under the put lock), stamps baseOffset into the stored
    /// copy, and returns a ValueTask that completes at the flush policy's durability point.
    /// </summary>
    /// <param name="partitionId">Registry id written into the entry header.</param>
    /// <param name="nextOffset">The partition's next offset; read and advanced under the put lock.</param>
    /// <param name="batch">One RecordBatch, already validated by <see cref="RecordBatch.TryValidate"/>.</param>
    /// <param name="info">Its parsed header.</param>
    internal ValueTask<AppendResult> Append(int partitionId, ref long nextOffset, ReadOnlySpan<byte> batch, in RecordBatchInfo info)
    {
        CheckFits(batch.Length);
        AppendResult result;
        _putLock.Enter();
        try
        {
            result = WriteBatchLocked(partitionId, ref nextOffset, batch, info, replica: false);
        }
        finally
        {
            _putLock.Exit();
        }

        _onCommitted?.Invoke();
        return _flusher.OnAppended(result);
    }

    /// <summary>
    /// Appends validated RecordBatches copied from a partition's leader, byte for byte: the base
    /// offsets they carry are kept, never stamped, and each must equal <paramref name="nextOffset"/>
    /// when its turn comes under the put lock (else <see cref="StorageError.OffsetMismatch"/>; the
    /// batches before it stay appended). The put lock is taken per batch, so a large fetch response
    /// never holds up other partitions' appends for more than one batch copy. One durability wait
    /// covers them all: the flush runner is told of the last one only.
    /// </summary>
    internal ValueTask<AppendResult> AppendReplica(int partitionId, ref long nextOffset, ReadOnlySpan<byte> batches)
    {
        AppendResult first = default, last = default;
        bool any = false;
        try
        {
            for (var rest = batches; !rest.IsEmpty;)
            {
                RecordBatch.TryReadInfo(rest, out var info); // validated by the caller
                var batch = rest[..info.TotalLength];
                CheckFits(batch.Length);
                _putLock.Enter();
                try
                {
                    last = WriteBatchLocked(partitionId, ref nextOffset, batch, info, replica: true);
                }
                finally
                {
                    _putLock.Exit();
                }

                if (!any)
                {
                    first = last;
                    any = true;
                }

                rest = rest[info.TotalLength..];
            }
        }
        finally
        {
            if (any)
            {
                _onCommitted?.Invoke();
            }
        }

        return _flusher.OnAppended(first with { LastOffset = last.LastOffset, EndPosition = last.EndPosition });
    }

    /// <summary>
    /// Writes a truncation marker for <paramref name="partitionId"/> at <paramref name="offset"/>
    /// and, for a tail or full truncation, sets <paramref name="nextOffset"/> to it, both under the
    /// put lock, so every append that follows in the log is assigned from <paramref name="offset"/>
    /// and the dispatcher (and a recovery replay) meets the marker before any of them. Returns the
    /// position just past it.
    /// </summary>
    /// <param name="kind"><see cref="EntryFormat.TruncateTail"/>, <see cref="EntryFormat.TruncateFully"/> or <see cref="EntryFormat.TruncateHead"/>.</param>
    internal long AppendTruncationMarker(int partitionId, ref long nextOffset, long offset, int kind)
    {
        long end;
        _putLock.Enter();
        try
        {
            if (_closed)
            {
                throw new StorageException(StorageError.NotAvailable, "The CommitLog is closed.");
            }

            var (seg, pos, off) = Reserve(EntryFormat.HeaderSize);
            EntryFormat.WriteTruncationMarker(new Span<byte>(seg.File.BasePointer + off, EntryFormat.HeaderSize), partitionId, offset, kind);
            if (kind != EntryFormat.TruncateHead)
            {
                nextOffset = offset;
            }

            end = pos + EntryFormat.HeaderSize;
            _writePosition = end;
            Volatile.Write(ref _committed, end);
        }
        finally
        {
            _putLock.Exit();
        }

        _onCommitted?.Invoke();
        return end;
    }

    private void CheckFits(int batchLength)
    {
        if (EntryFormat.HeaderSize + batchLength > _segmentSize - EntryFormat.MinBlankSize)
        {
            throw new StorageException(StorageError.MessageTooLarge, $"Batch of {batchLength} bytes does not fit a {_segmentSize}-byte segment.");
        }
    }

    /// <summary>Room for an entry of <paramref name="entryLength"/> bytes at the write position, rolling when needed. Put lock held.</summary>
    private (Segment Segment, long Position, long Offset) Reserve(int entryLength)
    {
        long pos = _writePosition;
        var seg = _current;
        long off = pos - seg.StartPosition;
        if (off + entryLength > seg.File.Size)
        {
            seg = Roll(seg, off);
            pos = seg.StartPosition;
            off = 0;
        }

        return (seg, pos, off);
    }

    /// <summary>
    /// Copies one batch into the mapping with its entry header and publishes it. A producer's batch
    /// gets <paramref name="nextOffset"/> stamped as its base offset; a replica's keeps its own, which
    /// must equal <paramref name="nextOffset"/>. Put lock held.
    /// </summary>
    private AppendResult WriteBatchLocked(int partitionId, ref long nextOffset, ReadOnlySpan<byte> batch, in RecordBatchInfo info, bool replica)
    {
        if (_closed)
        {
            throw new StorageException(StorageError.NotAvailable, "The CommitLog is closed.");
        }

        long baseOffset = nextOffset;
        if (replica)
        {
            long carried = RecordBatch.ReadBaseOffset(batch);
            if (carried != baseOffset)
            {
                throw new StorageException(StorageError.OffsetMismatch, $"Replica batch carries base offset {carried}; the partition's log end offset is {baseOffset}.");
            }
        }

        int entryLength = EntryFormat.HeaderSize + batch.Length;
        var (seg, pos, off) = Reserve(entryLength);
        var entry = new Span<byte>(seg.File.BasePointer + off, entryLength);
        var stored = entry[EntryFormat.HeaderSize..];
        batch.CopyTo(stored);
        if (!replica)
        {
            RecordBatch.StampBaseOffset(stored, baseOffset);
        }

        EntryFormat.WriteHeader(entry, entryLength, partitionId, baseOffset, info.LastOffsetDelta + 1, (int)info.Compression, info.FirstTimestamp, info.MaxTimestamp);
        BinaryPrimitives.WriteUInt32LittleEndian(entry[EntryFormat.CrcOffset..], EntryFormat.ComputeCrc(entry));
        BinaryPrimitives.WriteUInt32LittleEndian(entry[EntryFormat.MagicOffset..], EntryFormat.DataMagic);

        nextOffset = baseOffset + info.LastOffsetDelta + 1;
        long end = pos + entryLength;
        _writePosition = end;
        Volatile.Write(ref _committed, end);
        return new AppendResult(baseOffset, baseOffset + info.LastOffsetDelta, pos, end);
    }

    /// <summary>Pads the current segment with a blank entry and switches to the prepared next one. Put lock held.</summary>
    private Segment Roll(Segment seg, long off)
    {
        Segment next;
        try
        {
            next = _prepared is { } p ? p.GetAwaiter().GetResult() : CreateSegment(_directory, seg.EndPosition, _segmentSize, prefault: false);
        }
        catch (StorageException)
        {
            _prepared = null; // retry creation on the next append once space is freed
            throw;
        }

        long remaining = seg.File.Size - off;
        if (remaining >= EntryFormat.MinBlankSize)
        {
            var blank = new Span<byte>(seg.File.BasePointer + off, EntryFormat.MinBlankSize);
            BinaryPrimitives.WriteInt32LittleEndian(blank, checked((int)remaining));
            BinaryPrimitives.WriteUInt32LittleEndian(blank[EntryFormat.MagicOffset..], EntryFormat.BlankMagic);
        }

        lock (_segmentsLock)
        {
            var old = _segments;
            var grown = new Segment[old.Length + 1];
            old.CopyTo(grown, 0);
            grown[^1] = next;
            Volatile.Write(ref _segments, grown);
        }

        _current = next;
        _writePosition = next.StartPosition;
        PrepareNext();
        return next;
    }

    /// <summary>Bytes msynced between publications of the flushed position.</summary>
    private const long FlushChunk = 64L << 20;

    /// <summary>
    /// msyncs every dirty byte below the committed position, in 64 MiB chunks, publishing the
    /// flushed position after each so the checkpoint (and async acknowledgements' exposure)
    /// trails the writer by at most a chunk, not by whatever piled up meanwhile.
    /// </summary>
    public long FlushCommitted()
    {
        lock (_flushLock)
        {
            long target = CommittedPosition;
            long from = _flushed;
            long started = from < target ? Stopwatch.GetTimestamp() : 0;
            while (from < target)
            {
                long chunkEnd = Math.Min(target, from + FlushChunk);
                var segments = Volatile.Read(ref _segments);
                for (int i = FindIndex(segments, from); i < segments.Length && segments[i].StartPosition < chunkEnd; i++)
                {
                    var seg = segments[i];
                    long start = Math.Max(from, seg.StartPosition) - seg.StartPosition;
                    long end = Math.Min(chunkEnd, seg.EndPosition) - seg.StartPosition;
                    if (end > start && seg.TryRetain())
                    {
                        try
                        {
                            seg.File.Flush(start, end - start);
                        }
                        finally
                        {
                            seg.Release();
                        }
                    }
                }

                Volatile.Write(ref _flushed, chunkEnd);
                from = chunkEnd;
            }

            if (started != 0)
            {
                _flushDuration?.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
            }

            return Math.Max(from, _flushed);
        }
    }

    /// <summary>The segment holding <paramref name="position"/>, retained; the caller must Release it. Null below MinPosition.</summary>
    public Segment? RetainSegment(long position)
    {
        var segments = Volatile.Read(ref _segments);
        if (position < segments[0].StartPosition || position >= segments[^1].EndPosition)
        {
            return null;
        }

        var seg = segments[FindIndex(segments, position)];
        return seg.TryRetain() ? seg : null;
    }

    /// <summary>
    /// Reads the entry at <paramref name="position"/> without retaining (the dispatcher reads only
    /// between retention's floor and the committed position). Skips blank padding: returns the
    /// position of the entry actually read in <paramref name="entryPosition"/>. False at the end.
    /// </summary>
    internal bool TryReadEntry(long position, out long entryPosition, out ReadOnlySpan<byte> entry) => TryReadEntry(position, out entryPosition, out entry, out _);

    /// <summary>As <see cref="TryReadEntry(long, out long, out ReadOnlySpan{byte})"/>, also naming the segment the entry is in.</summary>
    internal bool TryReadEntry(long position, out long entryPosition, out ReadOnlySpan<byte> entry, [NotNullWhen(true)] out Segment? segment)
    {
        long committed = CommittedPosition;
        var segments = Volatile.Read(ref _segments);
        while (position < committed)
        {
            var seg = segments[FindIndex(segments, position)];
            long off = position - seg.StartPosition;
            long remaining = seg.File.Size - off;
            if (remaining < EntryFormat.MinBlankSize)
            {
                position = seg.EndPosition;
                continue;
            }

            var head = new ReadOnlySpan<byte>(seg.File.BasePointer + off, EntryFormat.MinBlankSize);
            if (EntryFormat.ReadMagic(head) == EntryFormat.BlankMagic)
            {
                position = seg.EndPosition;
                continue;
            }

            int length = EntryFormat.ReadLength(head);
            entryPosition = position;
            entry = new ReadOnlySpan<byte>(seg.File.BasePointer + off, length);
            segment = seg;
            return true;
        }

        entryPosition = position;
        entry = default;
        segment = null;
        return false;
    }

    /// <summary>
    /// Deletes the oldest segments chosen by <paramref name="shouldDelete"/> (oldest first, stopping
    /// at the first it keeps), never the segment being written nor any at or above
    /// <paramref name="limit"/> (the dispatcher's position). Returns the new minimum position.
    /// </summary>
    internal long DeleteOldest(Func<Segment, bool> shouldDelete, long limit)
    {
        var removed = new List<Segment>();
        lock (_segmentsLock)
        {
            var segs = _segments;
            int n = 0;
            while (n < segs.Length - 1 && segs[n] != _current && segs[n].EndPosition <= limit && segs[n].EndPosition <= FlushedPosition && shouldDelete(segs[n]))
            {
                removed.Add(segs[n]);
                n++;
            }

            if (n > 0)
            {
                Volatile.Write(ref _segments, segs[n..]);
            }
        }

        foreach (var s in removed)
        {
            CommitLogMessages.SegmentDeleted(_logger, s.FilePath);
            s.Destroy();
        }

        return MinPosition;
    }

    /// <summary>Refuses further appends and flushes everything committed. Reads keep working until <see cref="Dispose"/>.</summary>
    public void StopAppends()
    {
        _putLock.Enter();
        _closed = true;
        _putLock.Exit();
        FlushCommitted();
    }

    /// <summary>Flushes, stops the flush policy and unmaps. Appends after this fail with NotAvailable.</summary>
    public void Dispose()
    {
        StopAppends();
        _flusher.Dispose();
        try
        {
            if (_prepared is { } p)
            {
                var next = p.GetAwaiter().GetResult();
                // The prepared segment holds no data; leaving it would only cost a rescan.
                next.Destroy();
            }
        }
        catch (Exception ex) when (ex is StorageException or IOException)
        {
            // Preparing the next segment failed (disk full); there is nothing to clean up.
        }

        foreach (var s in Volatile.Read(ref _segments))
        {
            s.Close();
        }
    }
}

/// <summary>What CommitLog recovery found.</summary>
/// <param name="ScannedFrom">Where validation began (the checkpoint, or the oldest segment).</param>
/// <param name="ValidEnd">End of the last intact entry: the new write position.</param>
/// <param name="EntriesValidated">Entries checked and kept.</param>
/// <param name="BytesDropped">Non-zero bytes discarded past <paramref name="ValidEnd"/>.</param>
/// <param name="Reason">Why scanning stopped early, or null at a clean end of data.</param>
/// <param name="DeletedSegments">Segment files with data that were deleted because they lay past the damage.</param>
public sealed record CommitLogRecovery(long ScannedFrom, long ValidEnd, long EntriesValidated, long BytesDropped, string? Reason, IReadOnlyList<string> DeletedSegments);

/// <summary>CommitLog log messages (source-generated: no formatting cost when the level is off).</summary>
internal static partial class CommitLogMessages
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "CommitLog: ignoring unexpected file {File}")]
    public static partial void UnexpectedFile(ILogger logger, string file);

    [LoggerMessage(Level = LogLevel.Error, Message = "CommitLog: segment {File} was {Size} bytes, expected {Expected}; extended with zeros and validated from its start")]
    public static partial void SegmentExtended(ILogger logger, string file, long size, long expected);

    [LoggerMessage(Level = LogLevel.Error, Message = "CommitLog: segment {File} has an invalid size {Size}; it and every older segment are set aside")]
    public static partial void SegmentBadSize(ILogger logger, string file, long size);

    [LoggerMessage(Level = LogLevel.Error, Message = "CommitLog: segment {File} does not follow {Previous}; the older segments are set aside")]
    public static partial void SegmentGap(ILogger logger, string file, string previous);

    [LoggerMessage(Level = LogLevel.Error, Message = "CommitLog: moved {File} to {Folder}")]
    public static partial void SegmentSetAside(ILogger logger, string file, string folder);

    [LoggerMessage(Level = LogLevel.Error, Message = "CommitLog recovery: kept {Entries} entries validated from {From} to {End}; dropped {Bytes} bytes past it ({Reason}); deleted later segments holding data: [{Deleted}]")]
    public static partial void RecoveryTruncated(ILogger logger, long entries, long from, long end, long bytes, string reason, string deleted);

    [LoggerMessage(Level = LogLevel.Information, Message = "CommitLog recovery: {Entries} entries valid from {From} to {End}")]
    public static partial void RecoveryClean(ILogger logger, long entries, long from, long end);

    [LoggerMessage(Level = LogLevel.Information, Message = "CommitLog retention: deleting segment {File}")]
    public static partial void SegmentDeleted(ILogger logger, string file);
}
