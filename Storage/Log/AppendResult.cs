namespace OrleansMQ.Storage.Log;

/// <summary>Where an appended batch landed.</summary>
/// <param name="BaseOffset">First offset assigned to the batch.</param>
/// <param name="LastOffset">Last offset of the batch (BaseOffset + lastOffsetDelta).</param>
/// <param name="Position">CommitLog position of the entry header.</param>
/// <param name="EndPosition">CommitLog position just past the entry; durable once the flushed position reaches it.</param>
public readonly record struct AppendResult(long BaseOffset, long LastOffset, long Position, long EndPosition);
