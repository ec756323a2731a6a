using System.Collections.Concurrent;
using OrleansMQ.Storage.Engine;

namespace OrleansMQ.Silo.Topics;

/// <summary>One topic as the data path sees it: its storage partitions and its effective configs.</summary>
public sealed record TopicMetadata(string Name, Guid TopicId, TopicConfig Config, PartitionLog[] Partitions)
{
    public bool IsInternal => TopicNames.IsInternal(Name);
}

/// <summary>
/// The read side of topic metadata. <c>TopicGrain</c> owns each topic (creates, alters, deletes
/// it, one call at a time) and publishes the result here; Produce, Fetch and Metadata read this
/// cache lock-free instead of calling a grain per request. Publishing also makes the storage
/// partitions exist with the topic's storage options.
/// </summary>
public sealed class TopicCatalog
{
    private readonly StorageEngine _engine;
    private readonly ConcurrentDictionary<string, TopicMetadata> _topics = new(StringComparer.Ordinal);

    public TopicCatalog(StorageEngine engine) => _engine = engine;

    public int Count => _topics.Count;

    public bool TryGet(string name, out TopicMetadata topic) => _topics.TryGetValue(name, out topic!);

    /// <summary>All topics, sorted by name.</summary>
    public IReadOnlyList<TopicMetadata> All => _topics.Values.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();

    internal TopicMetadata Publish(string name, Guid topicId, int partitions, TopicConfig config)
    {
        var options = new PartitionOptions
        {
            IndexKeys = config.IndexKeys,
            MaxBatchBytes = config.MaxMessageBytes > 0 ? config.MaxMessageBytes : null,
        };
        var logs = new PartitionLog[partitions];
        for (int i = 0; i < partitions; i++)
        {
            logs[i] = _engine.GetOrCreatePartition(name, i, options);
            if (logs[i].Options != options)
            {
                _engine.UpdatePartitionOptions(logs[i], options);
            }
        }

        var topic = new TopicMetadata(name, topicId, config, logs);
        _topics[name] = topic;
        return topic;
    }

    internal void Remove(string name)
    {
        if (_topics.TryRemove(name, out var topic))
        {
            foreach (var p in topic.Partitions)
            {
                _engine.DeletePartition(p);
            }
        }
    }
}
