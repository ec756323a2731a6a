using OrleansMQ.Protocol.Batches;
using OrleansMQ.Storage.Log;
using OrleansMQ.Storage.Engine.Reads;
using OrleansMQ.Storage.Index;

namespace OrleansMQ.Storage.Engine.Queries;

/// <summary>
/// Lookups that are not reads by offset: Kafka ListOffsets by time (the ConsumeQueue's timestamps,
/// refined inside the batch) and RocketMQ's query by key (the IndexFile's hash hits, each confirmed
/// against the stored record, locally or in the blob tier).
/// </summary>
internal sealed class IndexQueries
{
    private readonly IndexStore _index;
    private readonly LocalSegmentSource _local;
    private readonly ISegmentSource? _offloaded;

    public IndexQueries(IndexStore index, LocalSegmentSource local, ISegmentSource? offloaded)
    {
        _index = index;
        _local = local;
        _offloaded = offloaded;
    }

    /// <summary>See <see cref="StorageEngine.FindOffsetByTimestamp"/>.</summary>
    public (long Offset, long Timestamp)? FindOffsetByTimestamp(PartitionLog partition, long timestamp)
    {
        var queue = partition.Queue;
        long index = queue.FindByTimestamp(timestamp);
        if (index < 0 || !queue.TryGet(index, out var e))
        {
            return null;
        }

        // Never below the log start DeleteRecords set (Kafka searches from logStartOffset too).
        // Stored timestamps are a running max, so the batch holding the start qualifies as well.
        long start = partition.LogStartOffset;
        if (e.NextOffset <= start)
        {
            index = queue.FindByOffset(start);
            if (index < 0 || !queue.TryGet(index, out e))
            {
                return null;
            }
        }

        // Refined only when the batch is local: a ListOffsets answer does not wait on the blob
        // service, and the queue's entry (the batch's first offset and largest timestamp) is a
        // correct, if coarser, answer.
        long coarse = Math.Max(e.BaseOffset, start);
        if (!_local.TryRetainBatch(e.BatchPosition, e.Size, e.BaseOffset, out var span))
        {
            return (coarse, e.Timestamp);
        }

        try
        {
            var bytes = span.Bytes;
            if (RecordBatch.TryReadInfo(bytes, out var info) == BatchError.None)
            {
                using var section = RecordBatchRecords.GetRecords(bytes, info);
                var reader = new RecordReader(section.Span, info.RecordCount);
                while (reader.TryReadNext(out var record))
                {
                    long ts = info.IsLogAppendTime ? info.MaxTimestamp : info.FirstTimestamp + record.TimestampDelta;
                    if (ts >= timestamp && e.BaseOffset + record.OffsetDelta >= start)
                    {
                        return (e.BaseOffset + record.OffsetDelta, ts);
                    }
                }
            }

            return (coarse, e.Timestamp);
        }
        catch (InvalidDataException)
        {
            // Records unreadable (a corrupt compressed batch behind a valid CRC): the queue
            // entry's coarser answer stands.
            return (coarse, e.Timestamp);
        }
        finally
        {
            span.Release();
        }
    }

    /// <summary>See <see cref="StorageEngine.LookupByKey"/>.</summary>
    public IReadOnlyList<KeyLookupHit> LookupByKey(PartitionLog partition, ReadOnlySpan<byte> key, long fromTimestamp, long toTimestamp, int maxResults)
    {
        var hits = new IndexHit[Math.Min(maxResults * 4, 4096)];
        int n = _index.Query(partition.Id, key, fromTimestamp, toTimestamp, hits);
        var results = new List<KeyLookupHit>();
        for (int i = 0; i < n && results.Count < maxResults; i++)
        {
            if (IsCurrent(partition, hits[i]) && ConfirmKey(hits[i], key, out var hit))
            {
                results.Add(hit);
            }
        }

        return results;
    }

    /// <summary>
    /// Is the hit's batch still the partition's batch for that offset? The index is append-only:
    /// after a follower truncation its entries for removed batches remain, and new batches reuse
    /// the offsets at other CommitLog positions; the old bytes are still in the log and would
    /// confirm. The ConsumeQueue knows the live batch of each offset (and the log start).
    /// </summary>
    private static bool IsCurrent(PartitionLog partition, in IndexHit hit)
    {
        if (hit.Offset < partition.LogStartOffset || hit.Offset >= partition.HighWatermark)
        {
            return false;
        }

        var queue = partition.Queue;
        long index = queue.FindByOffset(hit.Offset);
        return index >= 0 && queue.TryGet(index, out var e) && e.BatchPosition == hit.BatchPosition;
    }

    /// <summary>
    /// Reads the hit's entry from whichever source holds it. A remote read blocks, as the synchronous
    /// <c>Read</c> does; an unreachable tier leaves the hit unconfirmed (the lookup answers what it can
    /// confirm).
    /// </summary>
    private bool ConfirmKey(in IndexHit hit, ReadOnlySpan<byte> key, out KeyLookupHit result)
    {
        result = default;
        long entryPos = hit.BatchPosition - EntryFormat.HeaderSize;
        ISegmentSource? source = _local.Locate(entryPos, 0) == EntryPlace.Held ? _local
            : _offloaded?.Locate(entryPos, 0) == EntryPlace.Held ? _offloaded
            : null;
        if (source is null)
        {
            return false;
        }

        try
        {
            var read = source.ReadEntryAsync(entryPos, 0, CancellationToken.None);
            using var entry = read.IsCompletedSuccessfully ? read.Result : read.AsTask().GetAwaiter().GetResult();
            return entry.Status == EntryReadStatus.Ok
                && ConfirmKeyInBatch(entry.Span[EntryFormat.HeaderSize..], hit, key, out result);
        }
        catch (StorageException ex) when (ex.Error == StorageError.TierUnavailable)
        {
            return false;
        }
        catch (InvalidDataException)
        {
            return false;
        }
    }

    /// <summary>Is the record at the hit's offset in <paramref name="batch"/> keyed <paramref name="key"/>? Its value when so.</summary>
    private static bool ConfirmKeyInBatch(ReadOnlySpan<byte> batch, in IndexHit hit, ReadOnlySpan<byte> key, out KeyLookupHit result)
    {
        result = default;
        if (RecordBatch.TryReadInfo(batch, out var info) != BatchError.None)
        {
            return false;
        }

        long baseOffset = RecordBatch.ReadBaseOffset(batch);
        using var section = RecordBatchRecords.GetRecords(batch, info); // InvalidDataException: the callers' "not confirmed"
        var reader = new RecordReader(section.Span, info.RecordCount);
        while (reader.TryReadNext(out var record))
        {
            if (baseOffset + record.OffsetDelta == hit.Offset)
            {
                if (record.KeyIsNull || !record.Key.SequenceEqual(key))
                {
                    return false;
                }

                result = new KeyLookupHit(hit.Offset, hit.Timestamp, record.Value.ToArray());
                return true;
            }
        }

        return false;
    }
}
