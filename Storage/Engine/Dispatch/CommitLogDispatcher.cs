using Microsoft.Extensions.Logging;
using OrleansMQ.Storage.Log;
using OrleansMQ.Storage.Queues;
using OrleansMQ.Storage.Engine.Partitions;
using OrleansMQ.Storage.Index;

namespace OrleansMQ.Storage.Engine.Dispatch;

/// <summary>
/// The dispatcher: one thread that reads the CommitLog behind the writer and, per entry, appends
/// a ConsumeQueue entry to its partition, indexes its keys and wakes the partition's long-polling
/// fetches. Its position is the high watermark's source: every CommitLog entry below it is in the
/// queues and the index. The writer wakes it through <see cref="OnCommitted"/> only when it sleeps.
/// </summary>
internal sealed partial class CommitLogDispatcher : IDisposable
{
    private readonly CommitLog _log;
    private readonly PartitionTable _partitions;
    private readonly KeyIndexer _keys;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ManualResetEventSlim _wake = new(false, spinCount: 0);
    private readonly Thread _thread;
    private readonly long _indexFrom;             // recovery: positions below are already in the index
    private long _dispatched;
    private Segment? _segment;                    // dispatcher only: the segment of the last entry dispatched
    private int _sleeping;
    private volatile bool _stopping;

    /// <param name="dispatchFrom">CommitLog position to start from (recovery's replay start).</param>
    /// <param name="indexFrom">Positions below are already in the index and are not indexed again.</param>
    public CommitLogDispatcher(CommitLog log, PartitionTable partitions, IndexStore index, TimeProvider time, ILogger logger, long dispatchFrom, long indexFrom)
    {
        _log = log;
        _partitions = partitions;
        _keys = new KeyIndexer(index, logger);
        _time = time;
        _logger = logger;
        _dispatched = dispatchFrom;
        _indexFrom = indexFrom;
        _thread = new Thread(Loop) { IsBackground = true, Name = "omq-dispatch" };
    }

    /// <summary>CommitLog position below which every entry is in the ConsumeQueues and index.</summary>
    public long Position => Volatile.Read(ref _dispatched);

    public void Start() => _thread.Start();

    /// <summary>The CommitLog's commit listener (writer side): wakes the thread if it sleeps.</summary>
    public void OnCommitted()
    {
        // An atomic exchange (full fence) pairs with the dispatcher's own exchange before it re-checks
        // the committed position, so a wake-up is never lost.
        if (Volatile.Read(ref _sleeping) == 1 && Interlocked.Exchange(ref _sleeping, 0) == 1)
        {
            _wake.Set();
        }
    }

    /// <summary>
    /// Blocks until the dispatched position reaches <paramref name="position"/> (a truncation waits
    /// here for its marker), waking the thread if it sleeps. False when the timeout passes first.
    /// Not on the dispatcher thread. Polls: only rare operations wait, and the append path stays
    /// free of a per-entry signal.
    /// </summary>
    public bool WaitForPosition(long position, TimeSpan timeout)
    {
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        var spin = default(SpinWait);
        while (Volatile.Read(ref _dispatched) < position)
        {
            if (Environment.TickCount64 > deadline)
            {
                return false;
            }

            OnCommitted();
            spin.SpinOnce(sleep1Threshold: 20);
        }

        return true;
    }

    /// <summary>Stops the thread and waits for it; <see cref="DrainAll"/> then dispatches the rest on the caller's thread.</summary>
    public void Stop()
    {
        _stopping = true;
        _wake.Set();
        _thread.Join();
    }

    /// <summary>Dispatches everything committed (shutdown, after <see cref="Stop"/>).</summary>
    public void DrainAll()
    {
        while (DispatchAvailable(int.MaxValue, restoreOffsets: false) > 0)
        {
        }
    }

    public void Dispose() => _wake.Dispose();

    private void Loop()
    {
        while (!_stopping)
        {
            try
            {
                if (DispatchAvailable(4096, restoreOffsets: false) > 0)
                {
                    continue;
                }

                Interlocked.Exchange(ref _sleeping, 1);
                if (Volatile.Read(ref _dispatched) < _log.CommittedPosition)
                {
                    Volatile.Write(ref _sleeping, 0);
                    continue;
                }

                _wake.Wait(100);
                _wake.Reset();
                Volatile.Write(ref _sleeping, 0);
            }
            catch (Exception ex) when (ex is IOException or InvalidOperationException or InvalidDataException)
            {
                LogDispatcherFailed(_logger, ex, Volatile.Read(ref _dispatched));
                Thread.Sleep(100);
            }
        }
    }

    /// <summary>
    /// Dispatches up to <paramref name="max"/> entries from the dispatched position. Returns how
    /// many. Recovery's replay passes <paramref name="restoreOffsets"/> to move each partition's
    /// next offset past what the log holds.
    /// </summary>
    public long DispatchAvailable(int max, bool restoreOffsets)
    {
        long pos = Volatile.Read(ref _dispatched);
        long count = 0;
        var byId = _partitions.ById;
        PartitionLog? lastNotified = null;
        while (count < max && _log.TryReadEntry(pos, out long entryPos, out var entry, out var segment))
        {
            if (segment != _segment)
            {
                // The dispatcher only moves forward, so the segment it leaves is sealed: a segment
                // without record timestamps ages from now. Once per segment.
                _segment?.MarkSealed(_time.GetUtcNow().ToUnixTimeMilliseconds());
                _segment = segment;
            }

            int id = EntryFormat.ReadPartition(entry);
            if (EntryFormat.ReadMagic(entry) == EntryFormat.TruncateMagic)
            {
                byId = _partitions.ById; // markers are rare: always the newest table
                var target = (uint)id < (uint)byId.Length ? byId[id] : null;
                if (target is not null && !target.IsDeleted)
                {
                    ApplyTruncation(target, EntryFormat.ReadBaseOffset(entry), EntryFormat.ReadFlags(entry), entryPos + entry.Length, restoreOffsets);
                }

                pos = entryPos + entry.Length;
                Volatile.Write(ref _dispatched, pos);
                count++;
                continue;
            }

            segment.ObserveTimestamp(EntryFormat.ReadMaxTimestamp(entry));
            var p = (uint)id < (uint)byId.Length ? byId[id] : null;
            if (p is null)
            {
                byId = _partitions.ById;
                p = (uint)id < (uint)byId.Length ? byId[id] : null;
            }

            long baseOffset = EntryFormat.ReadBaseOffset(entry);
            int entryCount = EntryFormat.ReadCount(entry);
            if (p is null || p.IsDeleted)
            {
                if (!_partitions.IsDeletedId(id))
                {
                    LogUnknownPartition(_logger, entryPos, id);
                }
            }
            else if (baseOffset < p.Queue.NextOffset)
            {
                // Already in the queue (replay overlapping what was flushed); nothing to do.
            }
            else
            {
                long batchPos = entryPos + EntryFormat.HeaderSize;
                int batchLen = entry.Length - EntryFormat.HeaderSize;
                p.Queue.Append(new QueueEntry(baseOffset, batchPos, batchLen, entryCount - 1, EntryFormat.ReadMaxTimestamp(entry)));
                if (restoreOffsets && p.NextOffset < baseOffset + entryCount)
                {
                    p.NextOffset = baseOffset + entryCount;
                }

                if (p.Options.IndexKeys && batchPos >= _indexFrom)
                {
                    _keys.Index(p, entry[EntryFormat.HeaderSize..], baseOffset, batchPos);
                }

                if (lastNotified != p)
                {
                    lastNotified?.NotifyData();
                    lastNotified = p;
                }
            }

            pos = entryPos + entry.Length;
            Volatile.Write(ref _dispatched, pos);
            count++;
        }

        lastNotified?.NotifyData();
        if (count == 0 && pos != Volatile.Read(ref _dispatched))
        {
            Volatile.Write(ref _dispatched, pos); // skipped blank padding only
        }

        return count;
    }

    /// <summary>
    /// Applies a truncation marker (docs/storage.md, "Follower truncation"): the partition's queue
    /// loses every batch at or above <paramref name="offset"/> (tail), or every batch (fully), or
    /// only its log start moves up (head, DeleteRecords). The log is flushed past the marker first:
    /// the queue's cut is synced to disk at once, and a queue that lost entries must never be on disk
    /// while the marker that explains it is not (recovery would find the old tail in the log,
    /// re-dispatch part of it and leave a hole). Replay also moves the partition's next offset to a
    /// tail or full marker's: every entry after it in the log was assigned from there.
    /// </summary>
    /// <remarks>
    /// The durable log start (partition registry) changes only here, in log order, before the
    /// dispatched position passes the marker: no checkpoint can skip a marker whose registry change
    /// is not on disk (a crash in between replays it), and a replay that applies markers again ends
    /// at the same log start, because every change is a clamp (raise to, lower to, set) and
    /// re-applying a sequence of clamps to its own result changes nothing. Head: raised to the
    /// offset. Fully: set to it (Kafka's truncateFullyAndStartAt). Tail: lowered to the cut when a
    /// DeleteRecords start lay above it (the batch holding that start went whole), raised to it when
    /// the cut leaves no entry at all, because an empty queue forgets its next offset on restart.
    /// </remarks>
    private void ApplyTruncation(PartitionLog p, long offset, int kind, long markerEnd, bool restoreOffsets)
    {
        if (_log.FlushedPosition < markerEnd)
        {
            _log.FlushCommitted();
        }

        long floor = p.LogStartFloor;
        long newFloor = floor;
        switch (kind)
        {
            case EntryFormat.TruncateHead:
                newFloor = Math.Max(floor, offset);
                break;
            case EntryFormat.TruncateFully:
                p.Queue.Reset(offset);
                newFloor = offset;
                break;
            default:
                p.Queue.TruncateFromOffset(offset);
                newFloor = floor > offset ? offset : p.Queue.IsPhysicallyEmpty ? Math.Max(floor, offset) : floor;
                break;
        }

        if (restoreOffsets && kind != EntryFormat.TruncateHead)
        {
            p.NextOffset = offset;
        }

        if (newFloor != floor)
        {
            _partitions.SetLogStartFloor(p, newFloor);
        }

        LogTruncationApplied(_logger, p, offset, kind, markerEnd);
        p.NotifyData();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Partition {Partition}: truncation marker of kind {Kind} (0 tail, 1 fully, 2 head) at offset {Offset} applied (ending at CommitLog position {Position})")]
    private static partial void LogTruncationApplied(ILogger logger, PartitionLog partition, long offset, int kind, long position);

    [LoggerMessage(Level = LogLevel.Error, Message = "Dispatcher failed at CommitLog position {Position}; retrying")]
    private static partial void LogDispatcherFailed(ILogger logger, Exception ex, long position);

    [LoggerMessage(Level = LogLevel.Error, Message = "Dispatcher: entry at {Position} names unknown partition id {Id}; skipped")]
    private static partial void LogUnknownPartition(ILogger logger, long position, int id);
}
