namespace OrleansMQ.Storage;

/// <summary>Why the storage engine refused an operation. The silo maps each to a Kafka error code.</summary>
public enum StorageError
{
    /// <summary>The RecordBatch failed validation (magic, CRC-32C, lengths); nothing was written.</summary>
    CorruptBatch,

    /// <summary>The batch is larger than the partition's max.message.bytes or a segment.</summary>
    MessageTooLarge,

    /// <summary>Disk usage is above the configured threshold; appends resume when space is freed.</summary>
    StorageFull,

    /// <summary>The partition is not known to this engine.</summary>
    UnknownPartition,

    /// <summary>The engine is shutting down or failed; it accepts no more appends.</summary>
    NotAvailable,

    /// <summary>An I/O failure while writing or flushing.</summary>
    IoError,

    /// <summary>The blob tier could not be read or written (service unreachable, or its table not yet listed).</summary>
    TierUnavailable,

    /// <summary>
    /// A replica append's batch does not start at the partition's log end offset (a gap or an
    /// overlap with what the follower holds); nothing from that batch on was written.
    /// </summary>
    OffsetMismatch,

    /// <summary>
    /// The offset lies outside what the partition can accept for the operation (e.g. DeleteRecords
    /// past the log end, or truncation below the log start): Kafka's OFFSET_OUT_OF_RANGE.
    /// </summary>
    OffsetOutOfRange,
}

/// <summary>A storage operation refused with a <see cref="StorageError"/> and a human-readable reason.</summary>
public sealed class StorageException : Exception
{
    public StorageException(StorageError error, string message, Exception? inner = null)
        : base(message, inner)
    {
        Error = error;
    }

    public StorageException()
        : this(StorageError.IoError, "Storage failure.")
    {
    }

    public StorageException(string message)
        : this(StorageError.IoError, message)
    {
    }

    public StorageException(string message, Exception innerException)
        : this(StorageError.IoError, message, innerException)
    {
    }

    public StorageError Error { get; }
}
