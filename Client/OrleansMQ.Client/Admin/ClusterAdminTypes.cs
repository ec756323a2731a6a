using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Client.Admin;

/// <summary>One change of an incremental config alteration: SET a value, DELETE (back to the default), APPEND to or SUBTRACT from a list config.</summary>
public sealed record ConfigAlteration(string Name, AlterConfigOperation Operation, string? Value = null)
{
    public static ConfigAlteration Set(string name, string value) => new(name, AlterConfigOperation.Set, value);

    public static ConfigAlteration Delete(string name) => new(name, AlterConfigOperation.Delete);
}

/// <summary>One partition's replica in a log directory: its size in bytes and how far it is behind.</summary>
public sealed record LogDirPartition(string Topic, int Partition, long SizeBytes, long OffsetLag, bool IsFuture);

/// <summary>
/// A broker's log directory (DescribeLogDirs): its path, the partitions it holds and the size and
/// free space of its volume (-1 when the broker does not say, before DescribeLogDirs v4).
/// </summary>
public sealed record LogDirDescription(int BrokerId, string Path, ErrorCode Error, long TotalBytes, long UsableBytes, IReadOnlyList<LogDirPartition> Partitions);

/// <summary>
/// An idempotent (or transactional) producer with state in a partition (DescribeProducers): its id
/// and epoch, the sequence and timestamp of its last batch; -1 for what the broker does not know.
/// </summary>
public sealed record ActiveProducer(long ProducerId, int ProducerEpoch, int LastSequence, long LastTimestamp, int CoordinatorEpoch, long CurrentTransactionStartOffset);

/// <summary>The active producers of one partition, as its leader knows them.</summary>
public sealed record PartitionProducers(string Topic, int Partition, IReadOnlyList<ActiveProducer> Producers);
