using OrleansMQ.Storage.Log;

namespace OrleansMQ.Storage.Engine;

/// <summary>
/// A run of whole RecordBatches inside one CommitLog segment file: what the delivery layer hands
/// to sendfile(2). The segment is retained until <see cref="Release"/>, so retention cannot delete
/// the file while it is being sent.
/// </summary>
public readonly record struct LogSpan(Segment Segment, long FilePosition, int Length, long BaseOffset)
{
    /// <summary>The bytes, from the mapping (valid until <see cref="Release"/>).</summary>
    public unsafe ReadOnlySpan<byte> Bytes => new(Segment.File.BasePointer + FilePosition, Length);

    public void Release() => Segment.Release();
}

/// <summary>Outcome of a read.</summary>
public enum ReadStatus
{
    /// <summary>The spans (possibly none, at the high watermark) were returned.</summary>
    Ok,

    /// <summary>The offset is below the log start or above the high watermark (Kafka OFFSET_OUT_OF_RANGE).</summary>
    OffsetOutOfRange,

    /// <summary>The index disagrees with the log at this offset (Kafka KAFKA_STORAGE_ERROR); logged.</summary>
    StorageError,

    /// <summary>
    /// The offset's batches were offloaded to the blob tier: read them with
    /// <see cref="StorageEngine.ReadRemoteAsync(PartitionLog, long, int, System.Buffers.IBufferWriter{byte}, CancellationToken)"/> (a copy, not spans). No spans were returned.
    /// </summary>
    Remote,
}
