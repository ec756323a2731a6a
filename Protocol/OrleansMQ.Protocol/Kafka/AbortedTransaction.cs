namespace OrleansMQ.Protocol.Kafka;

/// <summary>An aborted transaction in a fetched range (Fetch v4+, READ_COMMITTED consumers).</summary>
public readonly record struct AbortedTransaction(long ProducerId, long FirstOffset);
