namespace OrleansMQ.Protocol.Groups;

/// <summary>
/// The "consumer" protocol assignment the leader sends each member through SyncGroup
/// (Kafka's <c>ConsumerProtocolAssignment</c>).
/// </summary>
/// <param name="Partitions">The partitions assigned to the member.</param>
public sealed record ConsumerAssignment(IReadOnlyList<TopicPartition> Partitions)
{
    /// <summary>Assignor-specific bytes; null is written as a null BYTES field.</summary>
    public ReadOnlyMemory<byte>? UserData { get; init; }
}
