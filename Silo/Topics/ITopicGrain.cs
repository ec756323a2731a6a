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

    /// <summary>Grows the topic to <paramref name="totalCount"/> partitions (Kafka never shrinks a topic).</summary>
    Task<TopicResult> AddPartitionsAsync(int totalCount, bool validateOnly);

    /// <summary>Sets (or, with a null value, resets) configs; <paramref name="replaceAll"/> is AlterConfigs' (non-incremental) semantics.</summary>
    Task<TopicResult> AlterConfigsAsync(ConfigEntry[] changes, bool replaceAll, bool validateOnly);

    /// <summary>The topic as it is (null when it does not exist): a silo that misses it in its cache asks here.</summary>
    [Orleans.Concurrency.ReadOnly]
    Task<TopicSnapshot?> GetAsync();

    /// <summary>Publishes the topic to the directory again (a directory that lost it, e.g. after its state was set aside as corrupt).</summary>
    Task<TopicSnapshot?> RepublishAsync();
}
