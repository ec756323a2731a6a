using OrleansMQ.Storage.CommitLog;

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
    Ok,
    OffsetOutOfRange,
}
