using Orleans;

namespace OrleansMQ.Silo.Topics;

/// <summary>Why a topic operation was refused (the Kafka handlers map these to error codes).</summary>
[GenerateSerializer]
public enum TopicError
{
    None,
    InvalidTopic,
    AlreadyExists,
    UnknownTopic,
    InvalidPartitions,
    InvalidReplicationFactor,
    InvalidReplicaAssignment,
    InvalidConfig,

    /// <summary>The topic's grain could not be reached in time (its silo died, the call timed out): retriable.</summary>
    Unavailable,
}

/// <summary>
/// A topic as every silo caches it: identity, partition count, the configs set on it, each
/// partition's replication state (replicas, leader, epochs, ISR), and the directory version that published it (a silo applies a snapshot only when it is newer than the
/// one it holds, so a late notification never undoes a later change).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record TopicSnapshot(
    [property: Id(0)] string Name,
    [property: Id(1)] Guid TopicId,
    [property: Id(2)] int Partitions,
    [property: Id(3)] Dictionary<string, string> Configs,
    [property: Id(4)] long Version,
    [property: Id(5)] bool Deleted,
    [property: Id(6)] PartitionState[] States)
{
    public static TopicSnapshot Tombstone(string name, Guid topicId, long version) => new(name, topicId, 0, [], version, Deleted: true, []);
}

/// <summary>Outcome of a topic operation: an error, the message to show the user, and on success the topic as it now is.</summary>
[GenerateSerializer, Immutable]
public sealed record TopicResult(
    [property: Id(0)] TopicError Error,
    [property: Id(1)] string? Message = null,
    [property: Id(2)] TopicSnapshot? Snapshot = null)
{
    public static TopicResult Ok { get; } = new(TopicError.None);

    public bool IsOk => Error == TopicError.None;
}

/// <summary>One config change: a null value resets the config to its default.</summary>
[GenerateSerializer, Immutable]
public readonly record struct ConfigEntry([property: Id(0)] string Name, [property: Id(1)] string? Value);

/// <summary>
/// CreateTopics' arguments after the wire decoding: partitions and replication factor (-1: the
/// broker defaults), or explicit replica lists per partition; the live brokers the calling silo
/// sees, for placement. Internal: the broker's own creation of an internal
/// topic (the group coordinator's <c>__consumer_offsets</c>), which user requests never set.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record CreateTopicCall(
    [property: Id(0)] int Partitions,
    [property: Id(1)] short ReplicationFactor,
    [property: Id(2)] ConfigEntry[] Configs,
    [property: Id(3)] bool ValidateOnly,
    [property: Id(4)] int DefaultPartitions,
    [property: Id(5)] PlacementBroker[] LiveBrokers,
    [property: Id(6)] int[][]? Assignments = null,
    [property: Id(7)] int DefaultReplicationFactor = -1,
    [property: Id(8)] bool Internal = false);

/// <summary>The outcome of a change to one partition's replication state: the error, or the state now.</summary>
[GenerateSerializer, Immutable]
public sealed record PartitionChange(
    [property: Id(0)] int Partition,
    [property: Id(1)] ReplicaStateError Error,
    [property: Id(2)] PartitionState? State,
    [property: Id(3)] TopicSnapshot? Snapshot = null);

/// <summary>One partition of an AlterPartitionReassignments call: its target replicas, or null to cancel the reassignment in progress.</summary>
[GenerateSerializer, Immutable]
public sealed record PartitionReassignment(
    [property: Id(0)] int Partition,
    [property: Id(1)] int[]? Replicas);
