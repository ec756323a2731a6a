using Orleans;

namespace OrleansMQ.Silo.Grains;

/// <summary>Persisted state of a topic (grain storage, one record per topic).</summary>
[GenerateSerializer]
public sealed class TopicState
{
    [Id(0)]
    public bool Exists { get; set; }

    [Id(1)]
    public Guid TopicId { get; set; }

    [Id(2)]
    public int Partitions { get; set; }

    [Id(3)]
    public Dictionary<string, string> Configs { get; set; } = new(StringComparer.Ordinal);

    [Id(4)]
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>
    /// Each partition's replicas, leader, epochs and ISR. Shorter than <see cref="Partitions"/>
    /// only for a topic stored before replication: the missing ones are placed on the live brokers
    /// the next time the controller reports them.
    /// </summary>
    [Id(5)]
    public List<Topics.PartitionState> PartitionStates { get; set; } = [];
}
