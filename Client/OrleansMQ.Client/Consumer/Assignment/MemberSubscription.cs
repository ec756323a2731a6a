using OrleansMQ.Protocol;

namespace OrleansMQ.Client.Consumer.Assignment;

/// <summary>
/// What the group leader knows about one member when it computes an assignment: the topics it
/// subscribes to, the partitions it says it owns (subscription v1+) and the generation in which it
/// owned them (v2+, -1 when unknown), its static group instance id, and the assignor's user data.
/// </summary>
public sealed record MemberSubscription(
    IReadOnlyList<string> Topics,
    IReadOnlyList<TopicPartition> OwnedPartitions,
    int Generation,
    string? GroupInstanceId,
    ReadOnlyMemory<byte> UserData);
