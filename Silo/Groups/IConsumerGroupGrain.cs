using Orleans;

namespace OrleansMQ.Silo.Groups;

/// <summary>
/// One consumer group (key: group id): the Kafka group protocol. JoinGroup and SyncGroup answer
/// when the rebalance reaches them, which may be minutes after the call (up to the members'
/// rebalance timeout), so the grain interleaves calls (docs/broker.md, "Waiting inside a grain")
/// and those two methods carry a response timeout longer than any rebalance timeout a client can ask.
/// </summary>
public interface IConsumerGroupGrain : IGrainWithStringKey
{
    /// <summary>Orleans' default (30 s) is far below Kafka's rebalance timeouts (clients default to 300 s).</summary>
    public const string LongWaitTimeout = "00:35:00";

    [ResponseTimeout(LongWaitTimeout)]
    Task<JoinGroupOutcome> JoinAsync(JoinGroupCall join);

    [ResponseTimeout(LongWaitTimeout)]
    Task<SyncGroupOutcome> SyncAsync(SyncGroupCall sync);

    Task<GroupError> HeartbeatAsync(string memberId, string? groupInstanceId, int generationId);

    Task<List<GroupError>> LeaveAsync(List<LeavingMember> members);

    /// <summary>Answers once the commit is durable (appended to the offsets partition).</summary>
    Task<(GroupError Error, List<GroupError> PerItem)> CommitOffsetsAsync(OffsetCommitCall commit);

    Task<List<FetchedOffset>> FetchOffsetsAsync(List<TopicPartitions>? topics);

    Task<(GroupError Error, List<GroupError> PerItem)> DeleteOffsetsAsync(List<TopicPartitionKey> partitions);

    Task<GroupError> DeleteAsync();

    Task<int> ExpireOffsetsAsync();

    Task<GroupDescription> DescribeAsync();

    /// <summary>This silo is stopping: everyone waiting on a JoinGroup/SyncGroup is answered NOT_COORDINATOR.</summary>
    Task ShutdownAsync();
}

/// <summary>A SyncGroup call, as the group sees it (the leader sends every member's assignment).</summary>
[GenerateSerializer, Immutable]
public sealed record SyncGroupCall(
    [property: Id(0)] string MemberId,
    [property: Id(1)] string? GroupInstanceId,
    [property: Id(2)] int GenerationId,
    [property: Id(3)] string? ProtocolType,
    [property: Id(4)] string? ProtocolName,
    [property: Id(5)] Dictionary<string, byte[]> Assignments);

/// <summary>An OffsetCommit call (generation -1 and an empty member id: a standalone commit).</summary>
[GenerateSerializer, Immutable]
public sealed record OffsetCommitCall(
    [property: Id(0)] string MemberId,
    [property: Id(1)] string? GroupInstanceId,
    [property: Id(2)] int GenerationId,
    [property: Id(3)] List<OffsetCommitItem> Items,
    [property: Id(4)] long RetentionMs);

/// <summary>Partitions of one topic in an OffsetFetch (null partitions: all of them).</summary>
[GenerateSerializer, Immutable]
public sealed record TopicPartitions([property: Id(0)] string Topic, [property: Id(1)] List<int> Partitions);
