using OrleansMQ.Protocol.Batches;

namespace OrleansMQ.Storage.Engine.Appends;

/// <summary>
/// Checks every RecordBatch of an append before anything is written, so one bad batch refuses the
/// whole call (magic 2, lengths, size limit before any CRC work, CRC-32C). A replica append also
/// checks the offsets the batches carry: the first must be the partition's log end offset and
/// each next one must follow the previous batch's last offset (the put lock checks the first
/// again, against appends that raced this check).
/// </summary>
internal static class BatchValidation
{
    /// <summary>Validates a producer's batches; returns how many and the first one's header.</summary>
    public static int ValidateAll(PartitionLog partition, ReadOnlySpan<byte> batches, int limit, out RecordBatchInfo first)
    {
        first = default;
        int count = 0;
        for (var rest = batches; !rest.IsEmpty; count++)
        {
            var info = Validate(partition, rest, limit, count);
            if (count == 0)
            {
                first = info;
            }

            rest = rest[info.TotalLength..];
        }

        if (count == 0)
        {
            throw new StorageException(StorageError.CorruptBatch, $"Append to {partition} carried no RecordBatch.");
        }

        return count;
    }

    /// <summary>
    /// Validates a leader's batches for a follower: as <see cref="ValidateAll"/>, plus contiguous
    /// offsets starting at <paramref name="logEndOffset"/>.
    /// </summary>
    public static void ValidateReplica(PartitionLog partition, ReadOnlySpan<byte> batches, int limit, long logEndOffset)
    {
        long expected = logEndOffset;
        int count = 0;
        for (var rest = batches; !rest.IsEmpty; count++)
        {
            var info = Validate(partition, rest, limit, count);
            long baseOffset = RecordBatch.ReadBaseOffset(rest);
            if (baseOffset != expected)
            {
                throw new StorageException(
                    StorageError.OffsetMismatch,
                    count == 0
                        ? $"Replica batch for {partition} carries base offset {baseOffset}; expected the log end offset {expected}."
                        : $"Replica batch {count} for {partition} carries base offset {baseOffset}; expected {expected}, right after the previous batch.");
            }

            expected = baseOffset + info.LastOffsetDelta + 1;
            rest = rest[info.TotalLength..];
        }

        if (count == 0)
        {
            throw new StorageException(StorageError.CorruptBatch, $"Replica append to {partition} carried no RecordBatch.");
        }
    }

    private static RecordBatchInfo Validate(PartitionLog partition, ReadOnlySpan<byte> rest, int limit, int index)
    {
        var error = RecordBatch.TryValidate(rest, limit, out var info);
        if (error != BatchError.None)
        {
            throw new StorageException(
                error == BatchError.TooLarge ? StorageError.MessageTooLarge : StorageError.CorruptBatch,
                $"Batch {index} for {partition}: {BatchErrors.Describe(error)}");
        }

        return info;
    }
}
