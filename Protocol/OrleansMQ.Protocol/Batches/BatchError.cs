namespace OrleansMQ.Protocol.Batches;

/// <summary>Why a RecordBatch was refused. <see cref="BatchErrors.Describe"/> gives a message.</summary>
public enum BatchError
{
    /// <summary>The batch is valid.</summary>
    None,

    /// <summary>Fewer bytes than the 61-byte v2 header.</summary>
    TooShort,

    /// <summary>The batchLength field is below the header size or claims more bytes than the buffer holds.</summary>
    LengthMismatch,

    /// <summary>The magic byte is not 2: only RecordBatch v2 is accepted.</summary>
    UnsupportedMagic,

    /// <summary>The CRC-32C over attributes..end does not match the crc field.</summary>
    CrcMismatch,

    /// <summary>The batch is larger than the configured maximum.</summary>
    TooLarge,

    /// <summary>recordCount is below 1, disagrees with lastOffsetDelta, or cannot fit in the batch.</summary>
    InvalidRecordCount,

    /// <summary>The attributes name a compression codec other than 0..4.</summary>
    InvalidCompression,
}
