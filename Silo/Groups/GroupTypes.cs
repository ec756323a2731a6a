namespace OrleansMQ.Silo.Groups;

/// <summary>The classic Kafka group states (names as Kafka reports them in DescribeGroups/ListGroups).</summary>
public enum GroupState
{
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

/// <summary>Why a group operation was refused; the Kafka handlers map these to error codes.</summary>
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
}

/// <summary>A protocol a member supports (for consumers: an assignor name and its subscription bytes).</summary>
public sealed record GroupProtocol(string Name, byte[] Metadata);

/// <summary>A JoinGroup call, as the group sees it.</summary>
public sealed class JoinGroupCall
{
    public string MemberId { get; init; } = "";

    public string? GroupInstanceId { get; init; }

    public string ClientId { get; init; } = "";

    public string ClientHost { get; init; } = "";

    public int SessionTimeoutMs { get; init; }

    public int RebalanceTimeoutMs { get; init; }

    public string ProtocolType { get; init; } = "";

    public IReadOnlyList<GroupProtocol> Protocols { get; init; } = [];

    /// <summary>JoinGroup v4+: a first join without a member id gets MEMBER_ID_REQUIRED and an id.</summary>
    public bool RequireKnownMemberId { get; init; }
}

/// <summary>A member as the leader sees it in its JoinGroup answer.</summary>
public sealed record JoinedMember(string MemberId, string? GroupInstanceId, byte[] Metadata);

/// <summary>The JoinGroup answer.</summary>
public sealed record JoinGroupOutcome(GroupError Error, int GenerationId, string? ProtocolType, string? ProtocolName, string LeaderId, string MemberId, IReadOnlyList<JoinedMember> Members)
{
    public static JoinGroupOutcome Failed(GroupError error, string memberId = "") => new(error, -1, null, null, "", memberId, []);
}

/// <summary>The SyncGroup answer.</summary>
public sealed record SyncGroupOutcome(GroupError Error, string? ProtocolType, string? ProtocolName, byte[] Assignment)
{
    public static SyncGroupOutcome Failed(GroupError error) => new(error, null, null, []);
}

/// <summary>One member to remove in a LeaveGroup call (v3+ batches them; empty member id with an instance id means "whoever holds it").</summary>
public readonly record struct LeavingMember(string MemberId, string? GroupInstanceId);

/// <summary>One offset to commit.</summary>
public readonly record struct OffsetCommitItem(string Topic, int Partition, long Offset, int LeaderEpoch, string? Metadata);

/// <summary>A committed offset as OffsetFetch returns it.</summary>
public readonly record struct FetchedOffset(string Topic, int Partition, long Offset, int LeaderEpoch, string? Metadata);

/// <summary>A member as DescribeGroups shows it.</summary>
public sealed record DescribedMember(string MemberId, string? GroupInstanceId, string ClientId, string ClientHost, byte[] Metadata, byte[] Assignment);

/// <summary>A group as DescribeGroups shows it.</summary>
public sealed record GroupDescription(string GroupId, GroupState State, string ProtocolType, string ProtocolName, IReadOnlyList<DescribedMember> Members)
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
