using System.Buffers.Binary;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Microsoft.Extensions.Logging;
using OrleansMQ.Storage.Common;

namespace OrleansMQ.Storage.Queues;

/// <summary>
/// The offset index of one partition: fixed 32-byte entries, one per RecordBatch, in offset
/// order, each pointing at the batch in the shared CommitLog. Built by the dispatcher behind
/// the CommitLog writer, and rebuilt from the CommitLog when damaged, so recovery here prefers
/// dropping data to failing.
/// </summary>
/// <remarks>
/// <para>Files live in the queue's own directory, each a <see cref="MappedFile"/> of
/// <c>entriesPerFile * 32</c> bytes named by the 20-digit global index of its first entry.
/// Entry layout (little-endian):</para>
/// <code>
///  0              8              16     20     24             32
///  +--------------+--------------+------+------+--------------+
///  | baseOffset   | batchPosition| size | delta| timestamp    |
///  +--------------+--------------+------+------+--------------+
/// </code>
/// <para>An all-zero entry (<c>size == 0</c>) marks the end of the written entries.</para>
/// <para>Indexes are global (entry <c>i</c> is the i-th entry since the queue was created) and
/// only move forward, except on recovery:
/// <c>first file start &lt;= FirstIndex &lt;= EntryCount</c> and <c>FlushedIndex &lt;= EntryCount</c>.</para>
/// <para>Thread-safety:</para>
/// <list type="bullet">
/// <item><see cref="Append"/> and <see cref="TruncateFromPosition"/> belong to one writer thread
/// (the dispatcher). <see cref="Append"/> takes no lock except when it rolls to a new file.</item>
/// <item><see cref="DeleteBefore"/>, <see cref="Flush"/> and <see cref="Dispose"/> may run on
/// any thread, concurrently with the writer and readers; they serialize among themselves.</item>
/// <item>Lookups (<see cref="TryGet"/>, <see cref="FindByOffset"/>,
/// <see cref="FindByTimestamp"/>, the offset properties) run on any number of threads without
/// locks. The writer fills an entry, then publishes the new count with a volatile write; a
/// reader reads the count first, so it never sees a half-written entry.</item>
/// <item>Files leave the set (retention, truncation) by publishing a new immutable file array,
/// waiting out a grace period on a <see cref="ReaderGate"/> (every lookup registers in it with
/// two interlocked operations), and only then unmapping. So a reader never touches an unmapped
/// file, and the mutator frees the file at once instead of keeping a retired list whose
/// safety would depend on how long a reader can be descheduled.</item>
/// </list>
/// </remarks>
[SuppressMessage("Naming", "CA1711:Identifiers should not have incorrect suffix", Justification = "ConsumeQueue is the RocketMQ name of this structure, used throughout the docs.")]
public sealed unsafe class ConsumeQueue : IDisposable
{
    /// <summary>Bytes per entry.</summary>
    public const int EntrySize = 32;

    /// <summary>Default entries per file: 262,144 entries = 8 MiB.</summary>
    public const int DefaultEntriesPerFile = 262_144;

    /// <summary>Largest accepted entries per file, so a file's byte range fits a span.</summary>
    public const int MaxEntriesPerFile = int.MaxValue / EntrySize;

    private const int FileNameLength = 20;

    // Larger names are garbage (and index arithmetic on them could overflow).
    private const long MaxFileIndex = long.MaxValue / 4;

    private readonly string _directory;
    private readonly int _entriesPerFile;
    private readonly long _fileSize;
    private readonly ILogger _logger;
    private readonly ReaderGate _gate = new();

    // Serializes changes of the file set: roll, retention, truncation, dispose.
    private readonly Lock _structureLock = new();

    // Serializes msync passes and the FlushedIndex they publish.
    private readonly Lock _flushLock = new();

    // Published state, read by lookups with Volatile.Read. Publish order matters: the writer
    // publishes a new file set before the count that needs it; retention publishes FirstIndex
    // before the file set without the files below it. Lookups read count, then files, then
    // FirstIndex (see TakeView), so the range they get always lies inside the files they hold.
    private FileSet _files;
    private long _entryCount;
    private long _firstIndex;
    private long _flushedIndex;

    // NextOffset when no entry is physically present (brand-new queue, or truncated to nothing).
    private long _emptyNextOffset;
    private int _disposed;

    // Writer-thread state for Append's checks and the running max timestamp.
    private long _lastNextOffset;
    private long _lastPosition = -1;
    private long _lastTimestamp = long.MinValue;

    private ConsumeQueue(string directory, int entriesPerFile, ILogger logger, long initialNextOffset)
    {
        _directory = directory;
        _entriesPerFile = entriesPerFile;
        _fileSize = (long)entriesPerFile * EntrySize;
        _logger = logger;
        _emptyNextOffset = initialNextOffset;
        _lastNextOffset = initialNextOffset;
        _files = new FileSet([], 0);
    }

    /// <summary>Global index of the first live entry (the partition's log start).</summary>
    public long FirstIndex => Volatile.Read(ref _firstIndex);

    /// <summary>Global index one past the last entry.</summary>
    public long EntryCount => Volatile.Read(ref _entryCount);

    /// <summary>Entries below this index have been written to disk by <see cref="Flush"/>.</summary>
    public long FlushedIndex => Volatile.Read(ref _flushedIndex);

    /// <summary>
    /// True when <see cref="Open"/> found damage and dropped entries or files; the engine then
    /// re-dispatches from the start of the CommitLog instead of from the checkpoint, because the
    /// lost entries may lie below it.
    /// </summary>
    public bool Damaged { get; private set; }

    /// <summary>Entries per file, as opened.</summary>
    public int EntriesPerFile => _entriesPerFile;

    /// <summary>
    /// The offset the next batch gets: the last entry's <see cref="QueueEntry.NextOffset"/>,
    /// kept even after retention removed every live entry; the <c>initialNextOffset</c> given
    /// to <see cref="Open"/> when the queue has never held an entry.
    /// </summary>
    public long NextOffset
    {
        get
        {
            int token = EnterRead();
            try
            {
                return NextOffsetOf(TakeView());
            }
            finally
            {
                _gate.Exit(token);
            }
        }
    }

    /// <summary>Base offset of the entry at <see cref="FirstIndex"/>, or <see cref="NextOffset"/> when empty.</summary>
    public long FirstOffset
    {
        get
        {
            int token = EnterRead();
            try
            {
                return FirstOffsetOf(TakeView());
            }
            finally
            {
                _gate.Exit(token);
            }
        }
    }

    /// <summary>
    /// Opens (or creates) the queue in <paramref name="directory"/>. Damage never throws: a gap in
    /// the file names, a file of the wrong size or an unreadable file ends the queue there (that
    /// file and every later one are logged and deleted); an invalid entry ends the entries there
    /// (the rest of its file is zeroed). The engine re-dispatches what is missing from the
    /// CommitLog. <see cref="FirstIndex"/> starts at the first file; the engine applies
    /// retention again with <see cref="DeleteBefore"/>.
    /// </summary>
    /// <param name="directory">The queue's own directory (<c>&lt;data&gt;/consumequeue/&lt;partitionId&gt;</c>).</param>
    /// <param name="entriesPerFile">Entries per file; must match the existing files.</param>
    /// <param name="logger">Receives the damage warnings.</param>
    /// <param name="initialNextOffset">NextOffset while the queue holds no entry at all.</param>
    public static ConsumeQueue Open(string directory, int entriesPerFile, ILogger logger, long initialNextOffset = 0)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentOutOfRangeException.ThrowIfLessThan(entriesPerFile, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(entriesPerFile, MaxEntriesPerFile);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentOutOfRangeException.ThrowIfNegative(initialNextOffset);

        Directory.CreateDirectory(directory);
        var queue = new ConsumeQueue(directory, entriesPerFile, logger, initialNextOffset);
        try
        {
            queue.Load();
        }
        catch
        {
            queue.Dispose();
            throw;
        }

        return queue;
    }

    /// <summary>
    /// Appends <paramref name="entry"/> (writer thread only). The stored timestamp is
    /// <c>max(entry.Timestamp, previous stored timestamp)</c>: Kafka's time index keeps the same
    /// running max, which makes the timestamps monotonic so <see cref="FindByTimestamp"/> can
    /// binary-search, and "first batch whose running max reaches t" is exactly the first batch
    /// holding a record at or after t.
    /// </summary>
    /// <exception cref="InvalidOperationException">The entry's offset is below <see cref="NextOffset"/>
    /// or its position is not past the previous entry's: the engine assigns both, so this is a bug.</exception>
    public void Append(in QueueEntry entry)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        ArgumentOutOfRangeException.ThrowIfNegative(entry.BaseOffset);
        ArgumentOutOfRangeException.ThrowIfNegative(entry.BatchPosition);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(entry.Size);
        ArgumentOutOfRangeException.ThrowIfNegative(entry.LastOffsetDelta);
        if (entry.BaseOffset < _lastNextOffset)
        {
            ThrowOffsetBehind(entry.BaseOffset, _lastNextOffset);
        }

        if (entry.BatchPosition <= _lastPosition)
        {
            ThrowPositionBehind(entry.BatchPosition, _lastPosition);
        }

        long index = _entryCount; // Only this thread writes it.
        FileSet set = Volatile.Read(ref _files);
        long rel = index - set.FirstFileIndex;
        if (rel >= (long)set.Files.Length * _entriesPerFile)
        {
            set = Roll(index);
            rel = index - set.FirstFileIndex;
        }

        // Retention may publish a newer set meanwhile, but it never removes the file that
        // holds the last entry or the slot after it, so this file stays mapped.
        byte* slot = set.Files[rel / _entriesPerFile].BasePointer + (rel % _entriesPerFile * EntrySize);
        long timestamp = Math.Max(entry.Timestamp, _lastTimestamp);
        var span = new Span<byte>(slot, EntrySize);
        BinaryPrimitives.WriteInt64LittleEndian(span, entry.BaseOffset);
        BinaryPrimitives.WriteInt64LittleEndian(span[8..], entry.BatchPosition);
        BinaryPrimitives.WriteInt32LittleEndian(span[16..], entry.Size);
        BinaryPrimitives.WriteInt32LittleEndian(span[20..], entry.LastOffsetDelta);
        BinaryPrimitives.WriteInt64LittleEndian(span[24..], timestamp);

        // Release: the entry's bytes become visible before the count that covers them.
        Volatile.Write(ref _entryCount, index + 1);
        _lastNextOffset = entry.NextOffset;
        _lastPosition = entry.BatchPosition;
        _lastTimestamp = timestamp;
    }

    /// <summary>
    /// Reads entry <paramref name="index"/>; false when it is outside
    /// [<see cref="FirstIndex"/>, <see cref="EntryCount"/>). The timestamp read is the stored
    /// running max.
    /// </summary>
    public bool TryGet(long index, out QueueEntry entry)
    {
        int token = EnterRead();
        try
        {
            View view = TakeView();
            if (index < view.First || index >= view.Count)
            {
                entry = default;
                return false;
            }

            entry = Read(view.Set, index);
            return true;
        }
        finally
        {
            _gate.Exit(token);
        }
    }

    /// <summary>
    /// The RecordBatch bytes of every live entry, summed: the partition's share of the local log.
    /// O(entries) under one read of the gate — for admin answers (DescribeLogDirs), never a hot path.
    /// </summary>
    public long SumBatchBytes()
    {
        int token = EnterRead();
        try
        {
            View view = TakeView();
            long sum = 0;
            for (long i = view.First; i < view.Count; i++)
            {
                sum += Read(view.Set, i).Size;
            }

            return sum;
        }
        finally
        {
            _gate.Exit(token);
        }
    }

    /// <summary>
    /// Index of the entry whose batch holds <paramref name="offset"/>; when the offset falls in
    /// a gap between batches (compaction, aborted transactions), the first entry after it.
    /// Returns <see cref="FirstIndex"/> when the offset is below <see cref="FirstOffset"/> (that
    /// equals <see cref="EntryCount"/> when no entry is live), and -1 when
    /// <c>offset &gt;= NextOffset</c>. O(log n).
    /// </summary>
    public long FindByOffset(long offset)
    {
        int token = EnterRead();
        try
        {
            View view = TakeView();
            if (offset >= NextOffsetOf(view))
            {
                return -1;
            }

            // First entry with BaseOffset > offset; the one before it is the candidate.
            long lo = view.First;
            long hi = view.Count;
            while (lo < hi)
            {
                long mid = lo + ((hi - lo) >> 1);
                if (ReadInt64(view.Set, mid, 0) <= offset)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid;
                }
            }

            if (lo == view.First)
            {
                return view.First;
            }

            long baseOffset = ReadInt64(view.Set, lo - 1, 0);
            int delta = ReadInt32(view.Set, lo - 1, 20);
            // Not inside the candidate: a gap. lo < Count here, because offset < NextOffset.
            return offset - baseOffset <= delta ? lo - 1 : lo;
        }
        finally
        {
            _gate.Exit(token);
        }
    }

    /// <summary>
    /// Index of the first live entry whose stored (running max) timestamp is at least
    /// <paramref name="timestamp"/>, or -1 when there is none. O(log n).
    /// </summary>
    public long FindByTimestamp(long timestamp)
    {
        int token = EnterRead();
        try
        {
            View view = TakeView();
            long lo = view.First;
            long hi = view.Count;
            while (lo < hi)
            {
                long mid = lo + ((hi - lo) >> 1);
                if (ReadInt64(view.Set, mid, 24) < timestamp)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid;
                }
            }

            return lo == view.Count ? -1 : lo;
        }
        finally
        {
            _gate.Exit(token);
        }
    }

    /// <summary>
    /// Recovery (writer thread): removes every entry whose BatchPosition is at or past
    /// <paramref name="commitLogPosition"/>, because the CommitLog was cut there. Zeroes them,
    /// deletes files that lie wholly past the new end, and syncs the zeroed range so a crash
    /// cannot bring them back. When every entry goes, NextOffset becomes the base offset of the
    /// first removed entry (in memory only; after a restart an empty queue reports
    /// <c>initialNextOffset</c>).
    /// </summary>
    public void TruncateFromPosition(long commitLogPosition)
    {
        lock (_structureLock)
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            FileSet set = _files;
            long count = _entryCount;
            // Positions are monotonic, so the removed entries are a suffix.
            long cut = LowerBoundByPosition(set, set.FirstFileIndex, count, commitLogPosition);
            if (cut < count)
            {
                TruncateLocked(set, count, cut, Read(set, cut).BaseOffset);
            }
        }
    }

    /// <summary>
    /// Follower truncation (writer thread: the dispatcher applying a truncation marker): removes
    /// every entry whose batch ends at or above <paramref name="offset"/>, so a batch that holds
    /// <paramref name="offset"/> goes whole. Zeroes them and syncs the zeroed range, as
    /// <see cref="TruncateFromPosition"/> does. Afterwards <see cref="NextOffset"/> is the last kept
    /// entry's next offset, or <paramref name="offset"/> when no entry is left (in memory only:
    /// after a restart an empty queue reports <c>initialNextOffset</c>, which the engine keeps
    /// durably for this case). Entries below <see cref="FirstIndex"/> are never touched.
    /// </summary>
    public void TruncateFromOffset(long offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        lock (_structureLock)
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            FileSet set = _files;
            long count = _entryCount;
            long first = Math.Max(Volatile.Read(ref _firstIndex), set.FirstFileIndex);

            // First entry whose batch reaches offset (offsets are monotonic, so this cuts a suffix).
            long lo = first, hi = count;
            while (lo < hi)
            {
                long mid = lo + ((hi - lo) >> 1);
                if (Read(set, mid).NextOffset <= offset)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid;
                }
            }

            if (lo < count)
            {
                TruncateLocked(set, count, lo, offset);
            }
            else if (count == set.FirstFileIndex)
            {
                // Nothing held at all: the truncation still sets where the next entry starts.
                Volatile.Write(ref _emptyNextOffset, offset);
                _lastNextOffset = offset;
            }
        }
    }

    /// <summary>
    /// Empties the queue (writer thread: the dispatcher applying a truncate-fully marker): every
    /// entry goes, those below <see cref="FirstIndex"/> too, and <see cref="NextOffset"/> becomes
    /// <paramref name="nextOffset"/>, which may lie below or above the old one. In memory only after
    /// a restart, as for <see cref="TruncateFromOffset"/>.
    /// </summary>
    public void Reset(long nextOffset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(nextOffset);
        lock (_structureLock)
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            FileSet set = _files;
            long count = _entryCount;
            if (count > set.FirstFileIndex)
            {
                TruncateLocked(set, count, set.FirstFileIndex, nextOffset);
            }
            else
            {
                Volatile.Write(ref _emptyNextOffset, nextOffset);
                _lastNextOffset = nextOffset;
            }
        }
    }

    /// <summary>True when no entry is physically held (not even below <see cref="FirstIndex"/>): <see cref="NextOffset"/> then lives in memory only.</summary>
    public bool IsPhysicallyEmpty => Volatile.Read(ref _entryCount) == Volatile.Read(ref _files).FirstFileIndex;

    /// <summary>Removes entries [<paramref name="cut"/>, <paramref name="count"/>). Structure lock held.</summary>
    private void TruncateLocked(FileSet set, long count, long cut, long nextOffsetWhenEmpty)
    {
        long start = set.FirstFileIndex;
        QueueEntry? lastKept = cut > start ? Read(set, cut - 1) : null;
        if (lastKept is null)
        {
            Volatile.Write(ref _emptyNextOffset, nextOffsetWhenEmpty);
        }

        // Unpublish first, then wait: readers that saw the old count leave before the bytes change.
        Volatile.Write(ref _entryCount, cut);
        if (Volatile.Read(ref _firstIndex) > cut)
        {
            Volatile.Write(ref _firstIndex, cut);
        }

        int keptFiles = (int)((cut - start + _entriesPerFile - 1) / _entriesPerFile);
        if (keptFiles < set.Files.Length)
        {
            Volatile.Write(ref _files, new FileSet(set.Files[..keptFiles], start));
        }

        _gate.WaitForReaders();

        // Zero the cut part of the file that keeps the new end.
        long cutRel = cut - start;
        if (cutRel % _entriesPerFile != 0)
        {
            MappedFile file = set.Files[cutRel / _entriesPerFile];
            long from = cutRel % _entriesPerFile * EntrySize;
            long to = Math.Min(count - start - (cutRel / _entriesPerFile * _entriesPerFile), _entriesPerFile) * EntrySize;
            file.GetSpan(from, (int)(to - from)).Clear();
            file.Flush(from, to - from);
        }

        // Lowest first: a crash part way leaves a gap (or, above, a file that is not full)
        // right after the new end, and Open drops every file past that, so the removed
        // entries cannot come back.
        for (int i = keptFiles; i < set.Files.Length; i++)
        {
            set.Files[i].DisposeAndDelete();
        }

        _lastNextOffset = lastKept?.NextOffset ?? nextOffsetWhenEmpty;
        _lastPosition = lastKept?.BatchPosition ?? -1;
        _lastTimestamp = lastKept?.Timestamp ?? long.MinValue;
        lock (_flushLock)
        {
            if (Volatile.Read(ref _flushedIndex) > cut)
            {
                Volatile.Write(ref _flushedIndex, cut);
            }
        }
    }

    /// <summary>
    /// Retention: moves <see cref="FirstIndex"/> to the first entry whose BatchPosition is at
    /// least <paramref name="minCommitLogPosition"/> (never backwards; <see cref="EntryCount"/>
    /// when none is), and deletes whole files below it, except the file holding the last entry,
    /// whose NextOffset must survive a restart. Returns the new <see cref="FirstOffset"/>.
    /// </summary>
    public long DeleteBefore(long minCommitLogPosition)
    {
        lock (_structureLock)
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            FileSet set = _files;
            long count = Volatile.Read(ref _entryCount);
            long first = Math.Max(_firstIndex, set.FirstFileIndex);
            long newFirst = LowerBoundByPosition(set, first, count, minCommitLogPosition);
            if (newFirst > _firstIndex)
            {
                Volatile.Write(ref _firstIndex, newFirst);
            }

            // A file goes when it ends at or below both the new start and the last entry.
            long limit = Math.Min(newFirst, count - 1);
            int doomed = limit > set.FirstFileIndex ? (int)((limit - set.FirstFileIndex) / _entriesPerFile) : 0;
            if (doomed > 0)
            {
                Volatile.Write(ref _files, new FileSet(set.Files[doomed..], set.FirstFileIndex + ((long)doomed * _entriesPerFile)));
                _gate.WaitForReaders();
                // Lowest first: a crash part way leaves a contiguous set of files.
                for (int i = 0; i < doomed; i++)
                {
                    set.Files[i].DisposeAndDelete();
                }
            }

            // Safe without the gate: only this lock's holders remove files.
            return FirstOffsetOf(TakeView());
        }
    }

    /// <summary>
    /// Writes the entries appended since the last flush to disk (msync of their range) and
    /// advances <see cref="FlushedIndex"/>. Any thread.
    /// </summary>
    public void Flush()
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        lock (_flushLock)
        {
            // Inside the gate so retention cannot unmap a file mid-msync; it waits at most one flush.
            int token = _gate.Enter();
            try
            {
                View view = TakeView();
                FileSet set = view.Set;
                long from = Math.Max(Volatile.Read(ref _flushedIndex), set.FirstFileIndex);
                while (from < view.Count)
                {
                    long rel = from - set.FirstFileIndex;
                    long slot = rel % _entriesPerFile;
                    long n = Math.Min(view.Count - from, _entriesPerFile - slot);
                    set.Files[rel / _entriesPerFile].Flush(slot * EntrySize, n * EntrySize);
                    from += n;
                }

                if (view.Count > Volatile.Read(ref _flushedIndex))
                {
                    Volatile.Write(ref _flushedIndex, view.Count);
                }
            }
            finally
            {
                _gate.Exit(token);
            }
        }
    }

    /// <summary>
    /// Unmaps the files after in-flight lookups finish. Does not flush: call <see cref="Flush"/>
    /// first for durability (the kernel still writes the dirty pages back eventually).
    /// </summary>
    public void Dispose()
    {
        lock (_structureLock)
        {
            if (_disposed != 0)
            {
                return;
            }

            Volatile.Write(ref _disposed, 1);
            FileSet set = _files;
            Volatile.Write(ref _files, new FileSet([], set.FirstFileIndex));
            _gate.WaitForReaders();
            foreach (MappedFile file in set.Files)
            {
                file.Dispose();
            }
        }
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"ConsumeQueue({_directory}: entries [{FirstIndex}, {EntryCount}), flushed {FlushedIndex}, {_entriesPerFile} per file)";

    private int EnterRead()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return _gate.Enter();
    }

    // A consistent range for one lookup. The clamps only matter while Dispose empties the set.
    private View TakeView()
    {
        while (true)
        {
            long count = Volatile.Read(ref _entryCount);
            FileSet set = Volatile.Read(ref _files);
            long first = Volatile.Read(ref _firstIndex);
            if (first > count)
            {
                // The count is older than the start: retention moved past it meanwhile (or a
                // truncation is between its two writes). Re-read rather than report an empty queue.
                continue;
            }

            long lo = set.FirstFileIndex;
            long hi = lo + ((long)set.Files.Length * _entriesPerFile);
            count = Math.Clamp(count, lo, hi);
            first = Math.Clamp(first, lo, count);
            return new View(set, first, count);
        }
    }

    private long NextOffsetOf(in View view) =>
        view.Count > view.Set.FirstFileIndex
            ? ReadInt64(view.Set, view.Count - 1, 0) + ReadInt32(view.Set, view.Count - 1, 20) + 1
            : Volatile.Read(ref _emptyNextOffset);

    private long FirstOffsetOf(in View view) =>
        view.First < view.Count ? ReadInt64(view.Set, view.First, 0) : NextOffsetOf(view);

    // First index in [lo, hi) whose BatchPosition >= position, hi when none.
    private long LowerBoundByPosition(FileSet set, long lo, long hi, long position)
    {
        while (lo < hi)
        {
            long mid = lo + ((hi - lo) >> 1);
            if (ReadInt64(set, mid, 8) < position)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private byte* EntryPointer(FileSet set, long index)
    {
        long rel = index - set.FirstFileIndex;
        Debug.Assert(rel >= 0 && rel < (long)set.Files.Length * _entriesPerFile, "index outside the file set");
        return set.Files[rel / _entriesPerFile].BasePointer + (rel % _entriesPerFile * EntrySize);
    }

    private long ReadInt64(FileSet set, long index, int field) =>
        BinaryPrimitives.ReadInt64LittleEndian(new ReadOnlySpan<byte>(EntryPointer(set, index) + field, sizeof(long)));

    private int ReadInt32(FileSet set, long index, int field) =>
        BinaryPrimitives.ReadInt32LittleEndian(new ReadOnlySpan<byte>(EntryPointer(set, index) + field, sizeof(int)));

    private QueueEntry Read(FileSet set, long index) => Decode(new ReadOnlySpan<byte>(EntryPointer(set, index), EntrySize));

    private static QueueEntry Decode(ReadOnlySpan<byte> s) => new(
        BinaryPrimitives.ReadInt64LittleEndian(s),
        BinaryPrimitives.ReadInt64LittleEndian(s[8..]),
        BinaryPrimitives.ReadInt32LittleEndian(s[16..]),
        BinaryPrimitives.ReadInt32LittleEndian(s[20..]),
        BinaryPrimitives.ReadInt64LittleEndian(s[24..]));

    private FileSet Roll(long index)
    {
        lock (_structureLock)
        {
            FileSet set = _files;
            long start = set.FirstFileIndex + ((long)set.Files.Length * _entriesPerFile);
            Debug.Assert(start == index, "a roll happens exactly when the last file is full");
            string path = PathOf(start);
            if (File.Exists(path))
            {
                // Left over from a crash between truncation steps; its content is stale.
                ConsumeQueueLog.StaleFileReplaced(_logger, path);
                File.Delete(path);
            }

            MappedFile file = MappedFile.Open(path, _fileSize, createNew: true);
            var next = new FileSet([.. set.Files, file], set.FirstFileIndex);
            Volatile.Write(ref _files, next);
            return next;
        }
    }

    private string PathOf(long firstIndex) =>
        Path.Combine(_directory, firstIndex.ToString("D20", CultureInfo.InvariantCulture));

    private void Load()
    {
        var candidates = new List<(long Index, string Path)>();
        foreach (string path in Directory.EnumerateFiles(_directory))
        {
            string name = Path.GetFileName(path);
            if (name.Length == FileNameLength && !name.AsSpan().ContainsAnyExceptInRange('0', '9')
                && long.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out long index)
                && index <= MaxFileIndex)
            {
                candidates.Add((index, path));
            }
            else
            {
                ConsumeQueueLog.UnknownFileIgnored(_logger, path);
            }
        }

        candidates.Sort((a, b) => a.Index.CompareTo(b.Index));

        // The contiguous prefix of files that open with the right size.
        var files = new List<MappedFile>(candidates.Count);
        long firstFileIndex = candidates.Count > 0 ? candidates[0].Index : 0;
        int opened = 0;
        for (; opened < candidates.Count; opened++)
        {
            (long index, string path) = candidates[opened];
            long expected = firstFileIndex + ((long)files.Count * _entriesPerFile);
            if (index != expected)
            {
                Damaged = true;
                ConsumeQueueLog.FileSequenceGap(_logger, path, expected);
                break;
            }

            try
            {
                files.Add(MappedFile.Open(path, _fileSize));
            }
            catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                Damaged = true;
                ConsumeQueueLog.FileUnusable(_logger, path, ex);
                break;
            }
        }

        try
        {
            LoadEntries(candidates, files, firstFileIndex);
        }
        catch
        {
            foreach (MappedFile file in files)
            {
                file.Dispose();
            }

            throw;
        }
    }

    private void LoadEntries(List<(long Index, string Path)> candidates, List<MappedFile> files, long firstFileIndex)
    {
        // Walk the files: full ones are checked cheaply, the one where entries end is scanned.
        var chain = new Chain(0, -1, long.MinValue);
        long count = firstFileIndex;
        int keep = files.Count;
        for (int i = 0; i < files.Count; i++)
        {
            bool isLast = i == files.Count - 1;
            int valid = !isLast && LooksFull(files[i], ref chain) ? _entriesPerFile : Scan(files[i], ref chain, count);
            count += valid;
            if (valid < _entriesPerFile)
            {
                ZeroTail(files[i], valid);
                keep = i + 1;
                break;
            }
        }

        for (int i = files.Count - 1; i >= keep; i--)
        {
            Damaged = true;
            ConsumeQueueLog.FileAfterEndDropped(_logger, files[i].Path, count);
            files[i].DisposeAndDelete();
        }

        for (int i = files.Count; i < candidates.Count; i++)
        {
            Damaged = true;
            ConsumeQueueLog.FileAfterEndDropped(_logger, candidates[i].Path, count);
            TryDelete(candidates[i].Path);
        }

        files.RemoveRange(keep, files.Count - keep);
        _files = new FileSet([.. files], firstFileIndex);
        _entryCount = count;
        _firstIndex = firstFileIndex;
        // Unknown whether a crashed process left the pages synced: the first Flush covers them all.
        _flushedIndex = firstFileIndex;
        if (count > firstFileIndex)
        {
            _lastNextOffset = chain.NextOffset;
            _lastPosition = chain.Position;
            _lastTimestamp = chain.Timestamp;
        }
    }

    // A file is taken as full when its first and last entries are valid and chain on.
    private bool LooksFull(MappedFile file, ref Chain chain)
    {
        QueueEntry first = Decode(file.GetSpan(0, EntrySize));
        QueueEntry last = Decode(file.GetSpan(_fileSize - EntrySize, EntrySize));
        Chain probe = chain;
        if (!probe.Accepts(first))
        {
            return false;
        }

        probe = Chain.After(first);
        if (_entriesPerFile > 1 && !probe.Accepts(last))
        {
            return false;
        }

        chain = _entriesPerFile > 1 ? Chain.After(last) : probe;
        return true;
    }

    // Number of valid entries from the start of the file; stops at the end marker or damage.
    private int Scan(MappedFile file, ref Chain chain, long firstIndexOfFile)
    {
        for (int i = 0; i < _entriesPerFile; i++)
        {
            ReadOnlySpan<byte> bytes = file.GetSpan((long)i * EntrySize, EntrySize);
            QueueEntry entry = Decode(bytes);
            if (!chain.Accepts(entry))
            {
                if (bytes.ContainsAnyExcept((byte)0))
                {
                    Damaged = true;
                    ConsumeQueueLog.DamagedEntry(_logger, file.Path, firstIndexOfFile + i);
                }

                return i;
            }

            chain = Chain.After(entry);
        }

        return _entriesPerFile;
    }

    // Whatever follows the end must read as zero, or a later append would resurrect it on reopen.
    private void ZeroTail(MappedFile file, int validEntries)
    {
        long from = (long)validEntries * EntrySize;
        Span<byte> tail = file.GetSpan(from, (int)(_fileSize - from));
        if (tail.ContainsAnyExcept((byte)0))
        {
            tail.Clear();
            file.Flush(from, tail.Length);
        }
    }

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

    [DoesNotReturn]
    private static void ThrowOffsetBehind(long baseOffset, long nextOffset) =>
        throw new InvalidOperationException($"Entry base offset {baseOffset} is below the queue's next offset {nextOffset}.");

    [DoesNotReturn]
    private static void ThrowPositionBehind(long position, long lastPosition) =>
        throw new InvalidOperationException($"Entry batch position {position} is not past the previous entry's {lastPosition}.");

    private sealed class FileSet(MappedFile[] files, long firstFileIndex)
    {
        public MappedFile[] Files { get; } = files;

        public long FirstFileIndex { get; } = firstFileIndex;
    }

    private readonly record struct View(FileSet Set, long First, long Count);

    // What the next valid entry must follow when scanning files on open.
    private readonly record struct Chain(long NextOffset, long Position, long Timestamp)
    {
        public bool Accepts(in QueueEntry e) =>
            e.Size > 0 && e.LastOffsetDelta >= 0 && e.BaseOffset >= NextOffset
            && e.BaseOffset < long.MaxValue - e.LastOffsetDelta // NextOffset must not overflow.
            && e.BatchPosition > Position && e.Timestamp >= Timestamp;

        public static Chain After(in QueueEntry e) => new(e.NextOffset, e.BatchPosition, e.Timestamp);
    }
}
