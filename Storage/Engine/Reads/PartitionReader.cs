using System.Buffers;
using Microsoft.Extensions.Logging;
using OrleansMQ.Storage.Log;
using OrleansMQ.Storage.Queues;

namespace OrleansMQ.Storage.Engine.Reads;

/// <summary>
/// Reads a partition's batches by offset: the ConsumeQueue turns offsets into CommitLog positions,
/// the local source serves them as retained spans (zero-copy, for <c>sendfile</c>), and the source
/// behind it (the blob tier, when configured) serves the offloaded ones as copies. Every entry's
/// header is checked against its queue entry before a byte is served: queue entries carry no
/// checksum, so a wrong one must never hand out another partition's bytes.
/// </summary>
internal sealed partial class PartitionReader
{
    private readonly LocalSegmentSource _local;
    private readonly ISegmentSource? _offloaded;
    private readonly ILogger _logger;

    /// <param name="offloaded">Where segments older than the local ones are, or null when nothing is offloaded.</param>
    public PartitionReader(LocalSegmentSource local, ISegmentSource? offloaded, ILogger logger)
    {
        _local = local;
        _offloaded = offloaded;
        _logger = logger;
    }

    /// <summary>See <see cref="StorageEngine.ReadSpans(PartitionLog, long, int, List{LogSpan}, long)"/>.</summary>
    public ReadStatus ReadSpans(PartitionLog partition, long offset, int maxBytes, List<LogSpan> spans, long maxOffsetExclusive)
    {
        var queue = partition.Queue;
        long hw = queue.NextOffset;
        // Offsets between the high watermark and the log end are written but not yet indexed: not
        // out of range, just not readable yet (a long-poll fetch waits for them). The same holds
        // above the caller's cap (the replicated high watermark): committed soon, not invalid.
        if (offset < partition.LogStartOffset || offset > Math.Max(hw, partition.LogEndOffset))
        {
            return ReadStatus.OffsetOutOfRange;
        }

        if (offset >= hw || offset >= maxOffsetExclusive)
        {
            return ReadStatus.Ok;
        }

        long index = queue.FindByOffset(offset);
        long total = 0;
        for (long end = queue.EntryCount; index >= 0 && index < end; index++)
        {
            if (!queue.TryGet(index, out var e))
            {
                break;
            }

            if ((spans.Count > 0 && total + e.Size > maxBytes) || e.BaseOffset >= maxOffsetExclusive)
            {
                break;
            }

            if (!_local.TryRetainBatch(e.BatchPosition, e.Size, e.BaseOffset, out var span))
            {
                // Offloaded (remote entries all lie below the local ones, so this is the first), or
                // retention removed it between the lookup and now.
                if (spans.Count == 0)
                {
                    return _offloaded is { } offloaded && e.BatchPosition < _local.MinPosition && offloaded.Locate(e.BatchPosition, 0) != EntryPlace.Absent
                        ? ReadStatus.Remote
                        : ReadStatus.OffsetOutOfRange;
                }

                break;
            }

            if (!HeaderMatches(span, partition.Id, e))
            {
                // The queue points somewhere wrong (queue entries carry no checksum): refuse rather
                // than serve another partition's bytes.
                span.Release();
                LogQueueEntryMismatch(_logger, partition, e.BaseOffset, e.BatchPosition);
                if (spans.Count == 0)
                {
                    return ReadStatus.StorageError;
                }

                break;
            }

            spans.Add(span);
            total += e.Size;
            if (total >= maxBytes)
            {
                break;
            }
        }

        return ReadStatus.Ok;
    }

    private static bool HeaderMatches(in LogSpan span, int partitionId, in QueueEntry e)
    {
        if (span.FilePosition < EntryFormat.HeaderSize || span.FilePosition + span.Length > span.Segment.File.Size)
        {
            return false;
        }

        var header = span.Segment.File.GetSpan(span.FilePosition - EntryFormat.HeaderSize, EntryFormat.HeaderSize);
        return EntryFormat.ReadMagic(header) == EntryFormat.DataMagic
            && EntryFormat.ReadLength(header) == e.Size + EntryFormat.HeaderSize
            && EntryFormat.ReadPartition(header) == partitionId
            && EntryFormat.ReadBaseOffset(header) == e.BaseOffset;
    }

    /// <summary>See <see cref="StorageEngine.Read(PartitionLog, long, int, IBufferWriter{byte}, long, out ReadStatus)"/>.</summary>
    public int Read(PartitionLog partition, long offset, int maxBytes, IBufferWriter<byte> output, long maxOffsetExclusive, out ReadStatus status)
    {
        var spans = new List<LogSpan>();
        status = ReadSpans(partition, offset, maxBytes, spans, maxOffsetExclusive);
        if (status == ReadStatus.Remote)
        {
            // Rare callers (offset-store load, HTTP gateway) use this synchronous form; blocking on
            // the remote read keeps their code unchanged. The Kafka fetch path awaits instead.
            try
            {
                var (bytes, remoteStatus) = ReadRemoteAsync(partition, offset, maxBytes, output, maxOffsetExclusive, CancellationToken.None).AsTask().GetAwaiter().GetResult();
                status = remoteStatus;
                return bytes;
            }
            catch (StorageException ex) when (ex.Error == StorageError.TierUnavailable)
            {
                status = ReadStatus.StorageError;
                return 0;
            }
        }

        int written = 0;
        try
        {
            foreach (var s in spans)
            {
                var src = s.Bytes;
                src.CopyTo(output.GetSpan(src.Length));
                output.Advance(src.Length);
                written += src.Length;
            }
        }
        finally
        {
            foreach (var s in spans)
            {
                s.Release();
            }
        }

        return written;
    }

    /// <summary>See <see cref="StorageEngine.FirstLocalOffset"/>.</summary>
    public long FirstLocalOffset(PartitionLog partition)
    {
        var queue = partition.Queue;
        long min = _local.MinPosition;
        long lo = queue.FirstIndex, hi = queue.EntryCount;
        while (lo < hi)
        {
            long mid = lo + ((hi - lo) / 2);
            if (!queue.TryGet(mid, out var e) || e.BatchPosition - EntryFormat.HeaderSize >= min)
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }

        return lo < queue.EntryCount && queue.TryGet(lo, out var first) ? first.BaseOffset : partition.HighWatermark;
    }

    /// <summary>See <see cref="StorageEngine.ReadRemoteAsync(PartitionLog, long, int, IBufferWriter{byte}, long, CancellationToken)"/>.</summary>
    public async ValueTask<(int Bytes, ReadStatus Status)> ReadRemoteAsync(PartitionLog partition, long offset, int maxBytes, IBufferWriter<byte> output, long maxOffsetExclusive, CancellationToken cancellationToken)
    {
        var offloaded = _offloaded ?? throw new InvalidOperationException("Tiering is off.");
        var queue = partition.Queue;
        if (offset < partition.LogStartOffset || offset > queue.NextOffset)
        {
            return (0, ReadStatus.OffsetOutOfRange);
        }

        if (offset >= maxOffsetExclusive)
        {
            return (0, ReadStatus.Ok);
        }

        int total = 0;
        for (long index = queue.FindByOffset(offset); index >= 0 && index < queue.EntryCount; index++)
        {
            if (!queue.TryGet(index, out var e))
            {
                break;
            }

            // Only offloaded batches: the local ones that follow are served by the next zero-copy read.
            long entryPos = e.BatchPosition - EntryFormat.HeaderSize;
            if ((total > 0 && total + e.Size > maxBytes) || e.BaseOffset >= maxOffsetExclusive || _local.Locate(entryPos, 0) == EntryPlace.Held)
            {
                break;
            }

            int length = EntryFormat.HeaderSize + e.Size;
            var place = offloaded.Locate(entryPos, length);
            if (place != EntryPlace.Held)
            {
                if (total > 0)
                {
                    break;
                }

                if (place == EntryPlace.NotKnownYet)
                {
                    throw new StorageException(StorageError.TierUnavailable, $"Offset {offset} of {partition} is in the blob tier, whose manifests are not listed yet (blob service unreachable since start?).");
                }

                return (0, ReadStatus.OffsetOutOfRange);
            }

            var entry = await offloaded.ReadEntryAsync(entryPos, length, cancellationToken).ConfigureAwait(false);
            try
            {
                if (entry.Status == EntryReadStatus.Absent)
                {
                    // Retention removed it since the lookup.
                    if (total > 0)
                    {
                        break;
                    }

                    return (0, ReadStatus.OffsetOutOfRange);
                }

                if (entry.Status != EntryReadStatus.Ok || !EntryMatches(entry.Span, partition.Id, e))
                {
                    LogRemoteEntryMismatch(_logger, partition, e.BaseOffset, e.BatchPosition);
                    if (total > 0)
                    {
                        break;
                    }

                    return (0, ReadStatus.StorageError);
                }

                var batch = entry.Span.Slice(EntryFormat.HeaderSize, e.Size);
                batch.CopyTo(output.GetSpan(e.Size));
                output.Advance(e.Size);
            }
            finally
            {
                entry.Dispose();
            }

            total += e.Size;
            if (total >= maxBytes)
            {
                break;
            }
        }

        return (total, ReadStatus.Ok);
    }

    private static bool EntryMatches(ReadOnlySpan<byte> entry, int partitionId, in QueueEntry e) =>
        EntryFormat.ReadMagic(entry) == EntryFormat.DataMagic
        && EntryFormat.ReadLength(entry) == entry.Length
        && EntryFormat.ReadPartition(entry) == partitionId
        && EntryFormat.ReadBaseOffset(entry) == e.BaseOffset;

    [LoggerMessage(Level = LogLevel.Error, Message = "Partition {Partition}: ConsumeQueue entry for offset {Offset} points at position {Position}, which holds another entry; read refused")]
    private static partial void LogQueueEntryMismatch(ILogger logger, PartitionLog partition, long offset, long position);

    [LoggerMessage(Level = LogLevel.Error, Message = "Partition {Partition}: remote entry for offset {Offset} at position {Position} does not match its ConsumeQueue entry or checksums; read refused")]
    private static partial void LogRemoteEntryMismatch(ILogger logger, PartitionLog partition, long offset, long position);
}
