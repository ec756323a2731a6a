namespace OrleansMQ.Protocol.Batches;

/// <summary>
/// Compression codec of a Kafka RecordBatch: bits 0-2 of the batch attributes. The byte values
/// are Kafka's wire values and must not change.
/// </summary>
#pragma warning disable CA1028 // Enum storage should be Int32: the wire field is 3 bits, a byte states that.
public enum CompressionCodec : byte
#pragma warning restore CA1028
{
    /// <summary>Records are stored as they are.</summary>
    None = 0,

    /// <summary>The records section is one gzip stream (RFC 1952).</summary>
    Gzip = 1,

    /// <summary>Snappy: snappy-java's (xerial) framing from the Java client, or one raw block from librdkafka.</summary>
    Snappy = 2,

    /// <summary>The LZ4 frame format (independent blocks).</summary>
    Lz4 = 3,

    /// <summary>Zstandard frames.</summary>
    Zstd = 4,
}
