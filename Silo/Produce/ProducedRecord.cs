using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Silo.Produce;

/// <summary>
/// One REST record's outcome: its offset and stored timestamp (the broker's when the topic uses
/// LogAppendTime), or its partition's Kafka error and message (offset -1).
/// </summary>
internal readonly record struct ProducedRecord(int Partition, long Offset, ErrorCode Error, string? Message, long Timestamp);
