namespace OrleansMQ.Silo.Produce;

/// <summary>
/// A validated REST record bound for a partition: key and value as slices of the request's buffer
/// (null: absent, not empty), headers, and the client's timestamp (null: the broker's time).
/// </summary>
internal readonly record struct PendingRecord(int Partition, ReadOnlyMemory<byte>? Key, ReadOnlyMemory<byte>? Value, IReadOnlyList<KeyValuePair<string, byte[]>>? Headers = null, long? Timestamp = null);
