using System.Globalization;
using OrleansMQ.Protocol;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Client.Admin;

/// <summary>A topic as <see cref="KafkaAdminClient.ListTopicsAsync"/> lists it.</summary>
public sealed record TopicListing(string Name, bool IsInternal, int PartitionCount);

/// <summary>One partition of a described topic: its leader, replicas and in-sync replicas.</summary>
public sealed record TopicPartitionDescription(int Partition, int Leader, IReadOnlyList<int> Replicas, IReadOnlyList<int> Isr, ErrorCode Error);

/// <summary>A topic's partitions and its configuration.</summary>
public sealed record TopicDescription(string Name, bool IsInternal, IReadOnlyList<TopicPartitionDescription> Partitions, IReadOnlyList<ConfigEntry> Configs);

/// <summary>A topic to create: partitions and replication -1 take the broker's defaults.</summary>
public sealed record NewTopic(string Name, int Partitions = -1, short ReplicationFactor = -1)
{
    /// <summary>Topic configs (retention.ms, cleanup.policy ...); empty for the broker's defaults.</summary>
    public IReadOnlyDictionary<string, string?> Configs { get; init; } = new Dictionary<string, string?>(StringComparer.Ordinal);
}

/// <summary>What the broker created (or, with validate-only, would create).</summary>
public sealed record CreatedTopic(string Name, int Partitions, short ReplicationFactor, IReadOnlyList<ConfigEntry> Configs);

/// <summary>One config value and where it comes from.</summary>
public sealed record ConfigEntry(string Name, string? Value, ConfigSource Source, bool IsDefault, bool IsReadOnly, bool IsSensitive);

/// <summary>A group as ListGroups lists it.</summary>
public sealed record GroupListing(string GroupId, string ProtocolType, string State);

/// <summary>A group member: its subscription and the partitions assigned to it (decoded from the consumer protocol).</summary>
public sealed record GroupMemberDescription(string MemberId, string? GroupInstanceId, string ClientId, string ClientHost, IReadOnlyList<string> Subscription, IReadOnlyList<TopicPartition> Assignment);

/// <summary>A group: its state, protocol type ("consumer"), chosen assignor and members.</summary>
public sealed record GroupDescription(string GroupId, string State, string ProtocolType, string Protocol, IReadOnlyList<GroupMemberDescription> Members)
{
    /// <summary>True when the group has no members (Empty) or does not exist (Dead): offsets may be reset.</summary>
    public bool IsInactive => State is "Empty" or "Dead";
}

/// <summary>Which offset ListOffsets looks up: the earliest, the latest (log end) or the first at or after a time.</summary>
public readonly record struct OffsetSpec(long Timestamp)
{
    public static OffsetSpec Earliest => new(ListOffsetsRequest.EarliestTimestamp);

    public static OffsetSpec Latest => new(ListOffsetsRequest.LatestTimestamp);

    public static OffsetSpec ForTime(DateTimeOffset time) => new(time.ToUnixTimeMilliseconds());
}

/// <summary>A ListOffsets answer: the offset (-1 when no message is at or after the timestamp) and its message's timestamp (-1 for earliest/latest).</summary>
public sealed record PartitionOffset(string Topic, int Partition, long Offset, long Timestamp);

/// <summary>A group's committed offset for one partition.</summary>
public sealed record GroupOffset(string Topic, int Partition, long Offset, string? Metadata);

/// <summary>
/// One partition of a group's topics, as kafka-consumer-groups --describe shows it: the committed
/// offset (null when none), the log end, lag = log end − committed (null without a commit), and
/// the member that owns it (null when nobody does).
/// </summary>
public sealed record PartitionLag(string Topic, int Partition, long? CommittedOffset, long LogEndOffset, long? Lag, string? MemberId, string? ClientId, string? Host);

/// <summary>A group's description with the lag of every partition it has committed or owns.</summary>
public sealed record GroupLag(GroupDescription Group, IReadOnlyList<PartitionLag> Partitions)
{
    /// <summary>The sum of the known lags.</summary>
    public long TotalLag => Partitions.Sum(p => p.Lag ?? 0);
}

/// <summary>Where <see cref="KafkaAdminClient.ResetGroupOffsetsAsync"/> moves a group's offsets.</summary>
public abstract record OffsetResetTarget
{
    private OffsetResetTarget()
    {
    }

    /// <summary>The partition's earliest offset (log start).</summary>
    public sealed record ToEarliest : OffsetResetTarget;

    /// <summary>The partition's log end (skips everything not consumed yet).</summary>
    public sealed record ToLatest : OffsetResetTarget;

    /// <summary>The first offset at or after <paramref name="Time"/>; the log end when there is none.</summary>
    public sealed record ToDateTime(DateTimeOffset Time) : OffsetResetTarget;

    /// <summary>An explicit offset, clamped to [earliest, log end] as kafka-consumer-groups does.</summary>
    public sealed record ToOffset(long Offset) : OffsetResetTarget;
}

/// <summary>One partition of an offset reset: the committed offset before (null when none) and the new one.</summary>
public sealed record OffsetReset(string Topic, int Partition, long? CurrentOffset, long NewOffset);
