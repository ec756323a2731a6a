using Microsoft.Extensions.Logging;
using OrleansMQ.Protocol.Batches;
using OrleansMQ.Storage.Index;

namespace OrleansMQ.Storage.Engine.Dispatch;

/// <summary>
/// Puts the record keys of one stored batch into the IndexFile (dispatcher thread only), for
/// partitions with <see cref="PartitionOptions.IndexKeys"/>. A batch whose records cannot be read
/// here is stored and served, just not indexed, and said so once per partition.
/// </summary>
internal sealed partial class KeyIndexer
{
    private readonly IndexStore _index;
    private readonly ILogger _logger;

    public KeyIndexer(IndexStore index, ILogger logger)
    {
        _index = index;
        _logger = logger;
    }

    public void Index(PartitionLog p, ReadOnlySpan<byte> batch, long baseOffset, long batchPos)
    {
        if (RecordBatch.TryReadInfo(batch, out var info) != BatchError.None || info.IsControl)
        {
            return;
        }

        if (!RecordBatchRecords.TryGetRecords(batch, info, out var section))
        {
            if (p.MarkUnindexableLogged())
            {
                LogNotIndexed(_logger, p, info.Compression);
            }

            return;
        }

        using (section)
        {
            try
            {
                var reader = new RecordReader(section.Span, info.RecordCount);
                while (reader.TryReadNext(out var record))
                {
                    if (!record.KeyIsNull)
                    {
                        long ts = info.IsLogAppendTime ? info.MaxTimestamp : info.FirstTimestamp + record.TimestampDelta;
                        _index.Put(p.Id, record.Key, baseOffset + record.OffsetDelta, batchPos, ts);
                    }
                }
            }
            catch (InvalidDataException ex)
            {
                LogMalformedRecords(_logger, ex, p, batchPos);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Partition {Partition}: {Codec} batches are stored and served but not key-indexed (codec not in the BCL)")]
    private static partial void LogNotIndexed(ILogger logger, PartitionLog partition, CompressionCodec codec);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Partition {Partition}: batch at {Position} has malformed records; not indexed")]
    private static partial void LogMalformedRecords(ILogger logger, Exception ex, PartitionLog partition, long position);
}
