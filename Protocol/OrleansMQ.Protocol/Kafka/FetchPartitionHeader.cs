namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// The fields of one Fetch response partition that precede its record data, as handed to
/// <see cref="FetchResponseWriter.BeginPartition"/>.
/// </summary>
/// <param name="PartitionIndex">The partition.</param>
/// <param name="ErrorCode">The partition's error.</param>
/// <param name="HighWatermark">Offset after the last committed record.</param>
/// <param name="LastStableOffset">v4+; equal to the high watermark without transactions.</param>
/// <param name="LogStartOffset">v5+.</param>
/// <param name="PreferredReadReplica">v11+; -1 for "keep fetching from the leader".</param>
/// <param name="AbortedTransactions">v4+; null or empty when none.</param>
public readonly record struct FetchPartitionHeader(
    int PartitionIndex,
    ErrorCode ErrorCode,
    long HighWatermark,
    long LastStableOffset = -1,
    long LogStartOffset = -1,
    int PreferredReadReplica = -1,
    IReadOnlyList<AbortedTransaction>? AbortedTransactions = null);
