namespace OrleansMQ.Protocol.Groups;

/// <summary>
/// The "consumer" protocol subscription a member puts in its JoinGroup protocol metadata
/// (Kafka's <c>ConsumerProtocolSubscription</c>).
/// </summary>
/// <param name="Topics">The topics the member wants to consume.</param>
public sealed record ConsumerSubscription(IReadOnlyList<string> Topics)
{
    /// <summary>Assignor-specific bytes; null is written as a null BYTES field.</summary>
    public ReadOnlyMemory<byte>? UserData { get; init; }

    /// <summary>The partitions the member owns (v1+; dropped when writing v0).</summary>
    public IReadOnlyList<TopicPartition> OwnedPartitions { get; init; } = [];

    /// <summary>The generation in which the member owned them (v2+; -1 when unknown or older versions).</summary>
    public int GenerationId { get; init; } = -1;

    /// <summary>The member's rack (v3+; null when unknown or older versions).</summary>
    public string? RackId { get; init; }
}
