using System.Buffers.Binary;
using OrleansMQ.Protocol.Batches;
using OrleansMQ.Storage.Engine.Dispatch;
using OrleansMQ.Storage.Engine.Reads;
using OrleansMQ.Storage.Log;
using OrleansMQ.Storage.Queues;

namespace OrleansMQ.Storage.Engine.Queries;

/// <summary>
/// Kafka's leader-epoch lookups (OffsetForLeaderEpoch), answered from the partitionLeaderEpoch each
/// stored batch carries. Epochs never decrease along a partition's log (a leader stamps its epoch,
/// followers copy it, and a truncation removes a divergent tail before a higher epoch follows), so
/// a binary search over the ConsumeQueue finds an epoch's end in O(log n) reads of one batch header
/// each, where Kafka keeps a separate leader-epoch checkpoint file. Nothing extra is stored, so
/// truncation, DeleteRecords and recovery need no bookkeeping here. Batches with no epoch (-1, as
/// clients send them and as data written before replication carries) come first and count for none.
/// </summary>
internal sealed class LeaderEpochQueries
{
    /// <summary>Kafka's UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET.</summary>
    public const int UndefinedEpoch = -1;

    private static readonly TimeSpan DispatchTimeout = TimeSpan.FromSeconds(30);

    private readonly LocalSegmentSource _local;
    private readonly ISegmentSource? _offloaded;
    private readonly CommitLog _log;
    private readonly CommitLogDispatcher _dispatcher;

    public LeaderEpochQueries(LocalSegmentSource local, ISegmentSource? offloaded, CommitLog log, CommitLogDispatcher dispatcher)
    {
        _local = local;
        _offloaded = offloaded;
        _log = log;
        _dispatcher = dispatcher;
    }

    /// <summary>See <see cref="StorageEngine.LatestLeaderEpoch"/>.</summary>
    public int LatestLeaderEpoch(PartitionLog partition)
    {
        WaitDispatched(partition);
        var queue = partition.Queue;
        long count = queue.EntryCount;
        return count > queue.FirstIndex ? Math.Max(UndefinedEpoch, EpochAt(partition, count - 1)) : UndefinedEpoch;
    }

    /// <summary>See <see cref="StorageEngine.EndOffsetForLeaderEpoch"/>.</summary>
    public (int LeaderEpoch, long EndOffset) EndOffsetFor(PartitionLog partition, int requestedEpoch)
    {
        if (requestedEpoch < 0)
        {
            return (UndefinedEpoch, UndefinedEpoch);
        }

        WaitDispatched(partition);
        var queue = partition.Queue;
        long first = queue.FirstIndex, count = queue.EntryCount;
        if (count > first && EpochAt(partition, count - 1) == requestedEpoch)
        {
            return (requestedEpoch, partition.LogEndOffset);
        }

        // The first batch whose epoch is above the requested one: its base offset ends that epoch.
        long lo = first, hi = count;
        while (lo < hi)
        {
            long mid = lo + ((hi - lo) >> 1);
            if (EpochAt(partition, mid) <= requestedEpoch)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        if (lo == count)
        {
            return (UndefinedEpoch, UndefinedEpoch); // above every epoch held (or none held)
        }

        long end = Math.Max(Entry(partition, lo).BaseOffset, partition.LogStartOffset);
        int floor = lo > first ? EpochAt(partition, lo - 1) : UndefinedEpoch;
        return (floor >= 0 ? floor : requestedEpoch, end);
    }

    private void WaitDispatched(PartitionLog partition)
    {
        // Batches written but not yet in the queue would be missed by the search.
        long committed = _log.CommittedPosition;
        if (!_dispatcher.WaitForPosition(committed, DispatchTimeout))
        {
            throw new StorageException(StorageError.NotAvailable, $"Leader epoch lookup on {partition}: the dispatcher did not reach CommitLog position {committed} within {DispatchTimeout.TotalSeconds} s.");
        }
    }

    private static QueueEntry Entry(PartitionLog partition, long index) =>
        partition.Queue.TryGet(index, out var e)
            ? e
            : throw new StorageException(StorageError.NotAvailable, $"Leader epoch lookup on {partition}: queue entry {index} went away (retention or truncation meanwhile); retry.");

    /// <summary>The partitionLeaderEpoch of the batch at queue index <paramref name="index"/>, read from whichever source holds it.</summary>
    private int EpochAt(PartitionLog partition, long index)
    {
        var e = Entry(partition, index);
        if (_local.TryRetainBatch(e.BatchPosition, e.Size, e.BaseOffset, out var span))
        {
            try
            {
                return BinaryPrimitives.ReadInt32BigEndian(span.Bytes[RecordBatch.PartitionLeaderEpoch..]);
            }
            finally
            {
                span.Release();
            }
        }

        long entryPos = e.BatchPosition - EntryFormat.HeaderSize;
        if (_offloaded is { } offloaded && offloaded.Locate(entryPos, 0) == EntryPlace.Held)
        {
            // Offloaded batches: a blocking read through the tier's cache, as key lookups do (rare).
            var read = offloaded.ReadEntryAsync(entryPos, EntryFormat.HeaderSize + e.Size, CancellationToken.None);
            using var entry = read.IsCompletedSuccessfully ? read.Result : read.AsTask().GetAwaiter().GetResult();
            if (entry.Status == EntryReadStatus.Ok)
            {
                return BinaryPrimitives.ReadInt32BigEndian(entry.Span[(EntryFormat.HeaderSize + RecordBatch.PartitionLeaderEpoch)..]);
            }
        }

        throw new StorageException(StorageError.NotAvailable, $"Leader epoch lookup on {partition}: the batch at offset {e.BaseOffset} is not readable (retention removed it meanwhile?); retry.");
    }
}
