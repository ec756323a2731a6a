namespace OrleansMQ.Storage.Queues;

/// <summary>
/// One ConsumeQueue entry: where a partition's RecordBatch sits in the CommitLog and which
/// offsets it covers. The on-disk layout (32 bytes, little-endian) is drawn in
/// <see cref="ConsumeQueue"/> and in docs/storage-format.md.
/// </summary>
/// <param name="BaseOffset">First offset of the batch.</param>
/// <param name="BatchPosition">CommitLog position of the RecordBatch bytes (entry position + 48).</param>
/// <param name="Size">RecordBatch length in bytes; always positive (0 marks the end of a file).</param>
/// <param name="LastOffsetDelta">The batch covers <c>BaseOffset .. BaseOffset + LastOffsetDelta</c>.</param>
/// <param name="Timestamp">
/// On append: the batch's max timestamp (ms). As read back: the running max over the queue, so
/// it never decreases from one entry to the next.
/// </param>
public readonly record struct QueueEntry(long BaseOffset, long BatchPosition, int Size, int LastOffsetDelta, long Timestamp)
{
    /// <summary>The offset right after this batch.</summary>
    public long NextOffset => BaseOffset + LastOffsetDelta + 1;
}
