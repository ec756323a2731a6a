namespace OrleansMQ.Protocol.Batches;

/// <summary>Human-readable text for <see cref="BatchError"/> values, for logs and error responses.</summary>
public static class BatchErrors
{
    /// <summary>A one-sentence explanation of <paramref name="e"/>. Never allocates for defined values.</summary>
    public static string Describe(BatchError e) => e switch
    {
        BatchError.None => "The record batch is valid.",
        BatchError.TooShort => "The buffer is shorter than the 61-byte RecordBatch v2 header.",
        BatchError.LengthMismatch => "The batchLength field is smaller than the RecordBatch header or larger than the bytes received.",
        BatchError.UnsupportedMagic => "The record batch magic is not 2; only the RecordBatch v2 format (Kafka 0.11+) is supported.",
        BatchError.CrcMismatch => "The CRC-32C of the record batch does not match its contents; the batch is corrupt.",
        BatchError.TooLarge => "The record batch is larger than the maximum batch size allowed.",
        BatchError.InvalidRecordCount => "The record count is not positive, disagrees with lastOffsetDelta, or cannot fit in the batch.",
        BatchError.InvalidCompression => "The record batch uses an unknown compression codec (attributes bits 0-2 must be 0..4).",
        _ => "Unknown record batch error.",
    };
}
