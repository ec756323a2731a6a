using Orleans;

namespace OrleansMQ.Silo.Topics;

/// <summary>
/// The owner of one topic (key: topic name): create, delete, add partitions, alter configs, one
/// call at a time in the cluster. Every change is published through the
/// <see cref="ITopicDirectoryGrain"/> to every silo's <see cref="TopicCatalog"/>.
/// </summary>
public interface ITopicGrain : IGrainWithStringKey
{
    Task<TopicResult> CreateAsync(CreateTopicCall create);

    Task<TopicResult> DeleteAsync();

    /// <summary>
    /// Grows the topic to <paramref name="totalCount"/> partitions (Kafka never shrinks a topic),
    /// placing the new ones on <paramref name="liveBrokers"/> or on <paramref name="assignments"/>.
    /// </summary>
    Task<TopicResult> AddPartitionsAsync(int totalCount, bool validateOnly, PlacementBroker[] liveBrokers, int[][]? assignments);

    /// <summary>
    /// The controller's report of the live brokers: leaders that are gone are replaced from the ISR
    /// (new leader epoch), dead followers leave the ISR, partitions without replication state are
    /// placed. Persisted and published before it returns.
    /// </summary>
    Task OnLiveBrokersAsync(PlacementBroker[] liveBrokers);

    /// <summary>A leader's ISR change (Kafka's AlterPartition), fenced by its epochs.</summary>
    Task<PartitionChange> AlterIsrAsync(int partition, int leader, int leaderEpoch, int partitionEpoch, int[] isr);

    /// <summary>Preferred leader election for <paramref name="partitions"/> (null: all).</summary>
    Task<PartitionChange[]> ElectPreferredAsync(int[]? partitions, int[] liveBrokers);

    /// <summary>
    /// Unclean leader election (ElectLeaders UNCLEAN) for <paramref name="partitions"/> (null: all):
    /// a partition without a live leader gets the first live in-sync replica, else the first live
    /// replica; one with a live leader answers <see cref="ReplicaStateError.ElectionNotNeeded"/>.
    /// </summary>
    Task<PartitionChange[]> ElectUncleanAsync(int[]? partitions, int[] liveBrokers);

    /// <summary>
    /// Starts (replicas given) or cancels (null replicas) partition reassignments; a started one
    /// completes in <see cref="AlterIsrAsync"/> once every adding replica is in the ISR.
    /// </summary>
    Task<PartitionChange[]> ReassignAsync(PartitionReassignment[] reassignments, int[] liveBrokers);

    /// <summary>Sets (or, with a null value, resets) configs; <paramref name="replaceAll"/> is AlterConfigs' (non-incremental) semantics.</summary>
    Task<TopicResult> AlterConfigsAsync(ConfigEntry[] changes, bool replaceAll, bool validateOnly);

    /// <summary>The topic as it is (null when it does not exist): a silo that misses it in its cache asks here.</summary>
    [Orleans.Concurrency.ReadOnly]
    Task<TopicSnapshot?> GetAsync();

    /// <summary>Publishes the topic to the directory again (a directory that lost it, e.g. after its state was set aside as corrupt).</summary>
    Task<TopicSnapshot?> RepublishAsync();
}
