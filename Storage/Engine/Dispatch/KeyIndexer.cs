using Microsoft.Extensions.Logging;
using OrleansMQ.Protocol.Batches;
using OrleansMQ.Storage.Index;

namespace OrleansMQ.Storage.Engine.Dispatch;

/// <summary>
/// Puts the record keys of one stored batch into the IndexFile (dispatcher thread only), for
/// partitions with <see cref="PartitionOptions.IndexKeys"/>. Compressed batches (every Kafka codec)
/// are decompressed into a pooled buffer first. A batch whose records cannot be read (corrupt
/// compressed data behind a valid CRC, or over the decompression cap) is stored and served, just
/// not indexed, and logged: the dispatcher must never stall on one client's bad batch.
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

        try
        {
            using var section = RecordBatchRecords.GetRecords(batch, info);
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
            LogMalformedRecords(_logger, ex, p, batchPos, info.Compression);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Partition {Partition}: batch at {Position} ({Codec}) has malformed records; stored and served but not key-indexed")]
    private static partial void LogMalformedRecords(ILogger logger, Exception ex, PartitionLog partition, long position, CompressionCodec codec);
}
