namespace OrleansMQ.Storage.Index;

/// <summary>
/// One candidate found by <see cref="IndexStore.Query"/>: a batch in partition
/// <paramref name="PartitionId"/> holding a record whose (partition, key) hash matches. Hashes
/// collide, so the caller confirms the key by reading the batch at <paramref name="BatchPosition"/>.
/// </summary>
/// <param name="PartitionId">Partition id from the partition registry.</param>
/// <param name="Offset">Offset of the record that carried the key.</param>
/// <param name="BatchPosition">CommitLog position of the RecordBatch bytes holding the record.</param>
/// <param name="Timestamp">Record timestamp (ms) as given to <see cref="IndexStore.Put"/>.</param>
public readonly record struct IndexHit(int PartitionId, long Offset, long BatchPosition, long Timestamp);
