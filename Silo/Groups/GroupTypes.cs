using Orleans;

namespace OrleansMQ.Silo.Groups;

// These types cross the boundary of the consumer group grain, so they carry Orleans serializers
// (the grain may live on another silo). Collections are concrete types: a serializer must know them.

/// <summary>The classic Kafka group states (names as Kafka reports them in DescribeGroups/ListGroups).</summary>
[GenerateSerializer]
public enum GroupState
{
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

/// <summary>Why a group operation was refused; the Kafka handlers map these to error codes.</summary>
[GenerateSerializer]
public enum GroupError
{
    None,
    CoordinatorLoadInProgress,
    CoordinatorNotAvailable,
    NotCoordinator,
    InvalidGroupId,
    InvalidSessionTimeout,
    InconsistentGroupProtocol,
    UnknownMemberId,
    MemberIdRequired,
    IllegalGeneration,
    RebalanceInProgress,
    FencedInstanceId,
    GroupMaxSizeReached,
    NonEmptyGroup,
    GroupIdNotFound,
    GroupSubscribedToTopic,
    UnknownTopicOrPartition,
    OffsetMetadataTooLarge,
    StorageError,
}

/// <summary>Group coordinator settings (Kafka's group.* and offsets.* broker configs).</summary>
public sealed class GroupSettings
{
    /// <summary>group.min.session.timeout.ms. Default 6000.</summary>
    public int MinSessionTimeoutMs { get; set; } = 6_000;

    /// <summary>group.max.session.timeout.ms. Default 1800000.</summary>
    public int MaxSessionTimeoutMs { get; set; } = 1_800_000;

    /// <summary>group.initial.rebalance.delay.ms: how long the first rebalance of an empty group waits for more members. Default 3000.</summary>
    public int InitialRebalanceDelayMs { get; set; } = 3_000;

    /// <summary>group.max.size. Default unlimited.</summary>
    public int MaxSize { get; set; } = int.MaxValue;

    /// <summary>offsets.retention.minutes: offsets of a group empty this long expire. Default 7 days.</summary>
    public int OffsetsRetentionMinutes { get; set; } = 7 * 24 * 60;

    /// <summary>offsets.retention.check.interval.ms. Default 600000.</summary>
    public int OffsetsRetentionCheckIntervalMs { get; set; } = 600_000;

    /// <summary>offset.metadata.max.bytes. Default 4096.</summary>
    public int OffsetMetadataMaxBytes { get; set; } = 4096;

    /// <summary>How often the committed-offsets snapshot is written (bounds start-up replay). Default 60000.</summary>
    public int OffsetsSnapshotIntervalMs { get; set; } = 60_000;

    /// <summary>
    /// offsets.topic.replication.factor: replicas of the offsets partition when a cluster creates
    /// it (capped at the live brokers then). Default 3.
    /// </summary>
    public int OffsetsTopicReplicationFactor { get; set; } = 3;
}

/// <summary>A protocol a member supports (for consumers: an assignor name and its subscription bytes).</summary>
[GenerateSerializer, Immutable]
public sealed record GroupProtocol([property: Id(0)] string Name, [property: Id(1)] byte[] Metadata);

/// <summary>A JoinGroup call, as the group sees it.</summary>
[GenerateSerializer, Immutable]
public sealed class JoinGroupCall
{
    [Id(0)]
    public string MemberId { get; init; } = "";

    [Id(1)]
    public string? GroupInstanceId { get; init; }

    [Id(2)]
    public string ClientId { get; init; } = "";

    [Id(3)]
    public string ClientHost { get; init; } = "";

    [Id(4)]
    public int SessionTimeoutMs { get; init; }

    [Id(5)]
    public int RebalanceTimeoutMs { get; init; }

    [Id(6)]
    public string ProtocolType { get; init; } = "";

    [Id(7)]
    public List<GroupProtocol> Protocols { get; init; } = [];

    /// <summary>JoinGroup v4+: a first join without a member id gets MEMBER_ID_REQUIRED and an id.</summary>
    [Id(8)]
    public bool RequireKnownMemberId { get; init; }
}

/// <summary>A member as the leader sees it in its JoinGroup answer.</summary>
[GenerateSerializer, Immutable]
public sealed record JoinedMember([property: Id(0)] string MemberId, [property: Id(1)] string? GroupInstanceId, [property: Id(2)] byte[] Metadata);

/// <summary>The JoinGroup answer.</summary>
[GenerateSerializer, Immutable]
public sealed record JoinGroupOutcome([property: Id(0)] GroupError Error, [property: Id(1)] int GenerationId, [property: Id(2)] string? ProtocolType, [property: Id(3)] string? ProtocolName, [property: Id(4)] string LeaderId, [property: Id(5)] string MemberId, [property: Id(6)] List<JoinedMember> Members)
{
    public static JoinGroupOutcome Failed(GroupError error, string memberId = "") => new(error, -1, null, null, "", memberId, []);
}

/// <summary>The SyncGroup answer.</summary>
[GenerateSerializer, Immutable]
public sealed record SyncGroupOutcome([property: Id(0)] GroupError Error, [property: Id(1)] string? ProtocolType, [property: Id(2)] string? ProtocolName, [property: Id(3)] byte[] Assignment)
{
    public static SyncGroupOutcome Failed(GroupError error) => new(error, null, null, []);
}

/// <summary>One member to remove in a LeaveGroup call (v3+ batches them; empty member id with an instance id means "whoever holds it").</summary>
[GenerateSerializer, Immutable]
public readonly record struct LeavingMember([property: Id(0)] string MemberId, [property: Id(1)] string? GroupInstanceId);

/// <summary>One offset to commit.</summary>
[GenerateSerializer, Immutable]
public readonly record struct OffsetCommitItem([property: Id(0)] string Topic, [property: Id(1)] int Partition, [property: Id(2)] long Offset, [property: Id(3)] int LeaderEpoch, [property: Id(4)] string? Metadata);

/// <summary>A committed offset as OffsetFetch returns it.</summary>
[GenerateSerializer, Immutable]
public readonly record struct FetchedOffset([property: Id(0)] string Topic, [property: Id(1)] int Partition, [property: Id(2)] long Offset, [property: Id(3)] int LeaderEpoch, [property: Id(4)] string? Metadata);

/// <summary>A member as DescribeGroups shows it.</summary>
[GenerateSerializer, Immutable]
public sealed record DescribedMember([property: Id(0)] string MemberId, [property: Id(1)] string? GroupInstanceId, [property: Id(2)] string ClientId, [property: Id(3)] string ClientHost, [property: Id(4)] byte[] Metadata, [property: Id(5)] byte[] Assignment);

/// <summary>A group as DescribeGroups shows it.</summary>
[GenerateSerializer, Immutable]
public sealed record GroupDescription([property: Id(0)] string GroupId, [property: Id(1)] GroupState State, [property: Id(2)] string ProtocolType, [property: Id(3)] string ProtocolName, [property: Id(4)] List<DescribedMember> Members)
{
    /// <summary>Kafka's state names.</summary>
    public string StateName => State.ToString();
}

/// <summary>Lag of one partition: log end minus committed offset (null when nothing is committed).</summary>
public sealed record PartitionLag(string Topic, int Partition, long? CommittedOffset, long LogEndOffset, long? Lag, string? MemberId, string? ClientId, string? Metadata);

/// <summary>A group's lag report.</summary>
public sealed record GroupLag(string GroupId, GroupState State, IReadOnlyList<PartitionLag> Partitions)
{
    /// <summary>Sum of the partitions' lag (partitions without a commit count zero).</summary>
    public long TotalLag => Partitions.Sum(p => p.Lag ?? 0);
}
