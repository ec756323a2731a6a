using Microsoft.Extensions.Logging;
using OrleansMQ.Storage.Engine.Dispatch;
using OrleansMQ.Storage.Log;

namespace OrleansMQ.Storage.Engine.Truncation;

/// <summary>
/// Cuts a partition's log without deleting files: from the tail (a follower dropping what its
/// leader does not have, after OffsetForLeaderEpoch), entirely (a follower restarting at its
/// leader's log start) and from the head (Kafka DeleteRecords). All are rare, admin-speed
/// operations, serialized by one lock; each writes a marker and waits until the dispatcher has
/// applied it.
/// </summary>
/// <remarks>
/// <para><b>Why a marker in the CommitLog.</b> The CommitLog is shared by every partition and keeps
/// the removed batches' bytes; the ConsumeQueues are derived from it and recovery rebuilds them by
/// replaying the log from the checkpoint (or from the oldest segment when a queue is damaged),
/// skipping entries below a queue's next offset. Cutting only the queue would be undone by such a
/// replay (the old tail comes back), or would make the replay skip the new batches that reuse the
/// old offsets. So the truncation itself is a CommitLog entry (a 48-byte marker, docs/storage-format.md),
/// appended under the put lock, and the dispatcher applies it to the queue at its place in the log
/// order — live and in every replay alike. Whatever a replay starts from, it meets the old tail,
/// then the marker, then the new batches, and ends where the live engine was. Waiting for the
/// dispatcher and forcing a checkpoint past the old tail instead would not survive a replay from
/// an older position (a damaged checkpoint or queue replays the whole log).</para>
/// <para>The dispatcher flushes the CommitLog past a marker before it cuts the queue (the cut is
/// synced at once), so a queue that lost entries is never on disk without the marker that says
/// why: a replay then re-adds part of the old tail and cuts it again, never leaving a hole.</para>
/// <para>The durable log start (the partition registry's) changes only when the dispatcher applies
/// a marker, so truncations and DeleteRecords replay in the order they happened (see
/// <c>CommitLogDispatcher.ApplyTruncation</c>).</para>
/// </remarks>
internal sealed partial class LogTruncator
{
    /// <summary>How long a truncation waits for the dispatcher before giving up (it only lags by milliseconds).</summary>
    private static readonly TimeSpan DispatchTimeout = TimeSpan.FromSeconds(30);

    private readonly CommitLog _log;
    private readonly CommitLogDispatcher _dispatcher;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();

    public LogTruncator(CommitLog log, CommitLogDispatcher dispatcher, ILogger logger)
    {
        _log = log;
        _dispatcher = dispatcher;
        _logger = logger;
    }

    /// <summary>See <see cref="StorageEngine.TruncateTo"/>.</summary>
    public void TruncateTo(PartitionLog partition, long offset)
    {
        lock (_lock)
        {
            if (offset >= partition.LogEndOffset)
            {
                return;
            }

            long start = partition.LogStartOffset;
            if (offset < start)
            {
                throw new StorageException(StorageError.OffsetOutOfRange, $"Cannot truncate {partition} to offset {offset}: below its log start offset {start}.");
            }

            // The queue must know every batch written so far to find the one holding the offset.
            WaitDispatched(_log.CommittedPosition, partition);
            long target = offset;
            var queue = partition.Queue;
            long index = queue.FindByOffset(offset);
            if (index >= 0 && queue.TryGet(index, out var e) && e.BaseOffset < offset && offset <= e.BaseOffset + e.LastOffsetDelta)
            {
                target = e.BaseOffset; // a batch is never split: it goes whole
            }

            // The dispatcher settles the durable log start when it applies the marker (see there).
            long markerEnd = _log.AppendTruncationMarker(partition.Id, ref partition.NextOffset, target, EntryFormat.TruncateTail);
            WaitDispatched(markerEnd, partition);
            LogTruncated(_logger, partition, offset, target);
        }
    }

    /// <summary>See <see cref="StorageEngine.TruncateFullyAndStartAt"/>.</summary>
    public void TruncateFullyAndStartAt(PartitionLog partition, long offset)
    {
        lock (_lock)
        {
            long markerEnd = _log.AppendTruncationMarker(partition.Id, ref partition.NextOffset, offset, EntryFormat.TruncateFully);
            WaitDispatched(markerEnd, partition);
            LogRestarted(_logger, partition, offset);
        }
    }

    /// <summary>See <see cref="StorageEngine.DeleteRecordsBefore"/>.</summary>
    public long DeleteRecordsBefore(PartitionLog partition, long offset)
    {
        lock (_lock)
        {
            long end = partition.LogEndOffset;
            if (offset < 0 || offset > end)
            {
                throw new StorageException(StorageError.OffsetOutOfRange, $"Cannot delete records of {partition} before offset {offset}: outside [0, {end}] (log end offset {end}).");
            }

            // A marker too, so the start moves in log order with truncations (see the dispatcher).
            long target = Math.Min(offset, partition.HighWatermark);
            if (target > partition.LogStartOffset)
            {
                long markerEnd = _log.AppendTruncationMarker(partition.Id, ref partition.NextOffset, target, EntryFormat.TruncateHead);
                WaitDispatched(markerEnd, partition);
                LogStartMoved(_logger, partition, target);
            }

            return partition.LogStartOffset;
        }
    }

    private void WaitDispatched(long position, PartitionLog partition)
    {
        if (!_dispatcher.WaitForPosition(position, DispatchTimeout))
        {
            throw new StorageException(StorageError.NotAvailable, $"Truncating {partition}: the dispatcher did not reach CommitLog position {position} within {DispatchTimeout.TotalSeconds} s (at {_dispatcher.Position}).");
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Partition {Partition} truncated to offset {Offset} (requested; the log end is now {Target})")]
    private static partial void LogTruncated(ILogger logger, PartitionLog partition, long offset, long target);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Partition {Partition} emptied and restarted at offset {Offset}")]
    private static partial void LogRestarted(ILogger logger, PartitionLog partition, long offset);

    [LoggerMessage(Level = LogLevel.Information, Message = "Partition {Partition}: log start offset moved to {Offset} (DeleteRecords)")]
    private static partial void LogStartMoved(ILogger logger, PartitionLog partition, long offset);
}
