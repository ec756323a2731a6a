using System.Collections.Concurrent;
using OrleansMQ.Storage.Engine;

namespace OrleansMQ.Silo.Topics;

/// <summary>
/// One topic as the data path sees it: its storage partitions, each partition's replica on this
/// silo (role, leader epoch, high watermark), and its effective configs.
/// </summary>
public sealed record TopicMetadata(string Name, Guid TopicId, TopicConfig Config, PartitionLog[] Partitions, PartitionReplica[] Replicas)
{
    public bool IsInternal => TopicNames.IsInternal(Name);
}

/// <summary>
/// This silo's cache of topic metadata. Topic grains own the topics; every change reaches this
/// cache as a <see cref="TopicSnapshot"/> (pushed by the topic directory, or applied directly by
/// the silo that made the change), so Produce, Fetch and Metadata read it lock-free instead of
/// calling a grain per request. Applying a snapshot also makes the storage partitions exist on
/// this silo with the topic's storage options (until replication, every silo stores every partition
/// of every topic it serves).
/// </summary>
public sealed class TopicCatalog
{
    private readonly StorageEngine _engine;
    private readonly int _self;
    private readonly TimeProvider _time;
    private readonly int _minInsyncDefault;
    private readonly ConcurrentDictionary<string, TopicMetadata> _topics = new(StringComparer.Ordinal);

    // The directory version last applied per name, tombstones included, so that a late or
    // duplicated notification never undoes a newer change. Guarded by itself.
    private readonly Dictionary<string, long> _versions = new(StringComparer.Ordinal);

    /// <param name="minInsyncDefault">The broker's min.insync.replicas, for topics that do not set it.</param>
    public TopicCatalog(StorageEngine engine, int nodeId = 0, TimeProvider? time = null, int minInsyncDefault = 1)
    {
        _engine = engine;
        _self = nodeId;
        _time = time ?? TimeProvider.System;
        _minInsyncDefault = minInsyncDefault;
    }

    /// <summary>
    /// Raised (under the catalog's lock, so in order) with every replica whose role or leader epoch
    /// changed on this silo: the replication manager starts or stops fetching, re-stamps epochs.
    /// </summary>
    public event Action<PartitionReplica, ReplicaTransition>? ReplicaChanged;

    public int Count => _topics.Count;

    /// <summary>The highest directory version this catalog has applied.</summary>
    public long Version { get; private set; }

    public bool TryGet(string name, out TopicMetadata topic) => _topics.TryGetValue(name, out topic!);

    /// <summary>All topics, sorted by name.</summary>
    public IReadOnlyList<TopicMetadata> All => _topics.Values.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();

    /// <summary>
    /// The topics an admin request names (unknown names left out), each with the partitions it
    /// names; every topic, with null partitions (all of them), when <paramref name="asked"/> is null.
    /// </summary>
    public IEnumerable<(TopicMetadata Topic, IEnumerable<int>? Partitions)> Select<T>(IEnumerable<T>? asked, Func<T, string> name, Func<T, IEnumerable<int>> partitions)
    {
        if (asked is null)
        {
            foreach (var topic in All)
            {
                yield return (topic, null);
            }

            yield break;
        }

        foreach (var t in asked)
        {
            if (TryGet(name(t), out var topic))
            {
                yield return (topic, partitions(t));
            }
        }
    }

    /// <summary>Applies a change unless a newer one for the same name was applied already. Returns the topic (null when deleted or stale).</summary>
    public TopicMetadata? Apply(TopicSnapshot snapshot)
    {
        lock (_versions)
        {
            if (_versions.TryGetValue(snapshot.Name, out long applied) && applied >= snapshot.Version && snapshot.Version > 0)
            {
                return _topics.TryGetValue(snapshot.Name, out var current) ? current : null;
            }

            _versions[snapshot.Name] = snapshot.Version;
            Version = Math.Max(Version, snapshot.Version);
            if (snapshot.Deleted)
            {
                Remove(snapshot.Name, snapshot.TopicId);
                return null;
            }

            return Publish(snapshot);
        }
    }

    /// <summary>
    /// A whole list from the directory (start, or a renewal after missed changes): applies each
    /// topic. Returns the topics this silo has that the list lacks: the caller confirms each with
    /// its topic grain before removing it, because removing a topic deletes its partitions' data
    /// and a directory that lost its state (a corrupt file set aside) must not cause that.
    /// </summary>
    public List<TopicMetadata> ApplyAll(TopicDirectoryView view)
    {
        var missing = new List<TopicMetadata>();
        lock (_versions)
        {
            var live = new HashSet<string>(StringComparer.Ordinal);
            foreach (var t in view.Topics)
            {
                live.Add(t.Name);
                Apply(t);
            }

            foreach (var (name, topic) in _topics)
            {
                if (!live.Contains(name) && (!_versions.TryGetValue(name, out long v) || v <= view.Version))
                {
                    missing.Add(topic);
                }
            }

            Version = Math.Max(Version, view.Version);
        }

        return missing;
    }

    /// <summary>Removes a topic its grain confirmed gone (a deletion whose push this silo missed).</summary>
    public void RemoveConfirmed(TopicMetadata topic)
    {
        lock (_versions)
        {
            Remove(topic.Name, topic.TopicId);
        }
    }

    private TopicMetadata Publish(TopicSnapshot snapshot)
    {
        var config = TopicConfig.TryCreate(snapshot.Configs.Select(kv => new KeyValuePair<string, string?>(kv.Key, kv.Value)), out _) ?? TopicConfig.Empty;
        var options = new PartitionOptions
        {
            IndexKeys = config.IndexKeys,
            MaxBatchBytes = config.MaxMessageBytes > 0 ? config.MaxMessageBytes : null,
        };
        _topics.TryGetValue(snapshot.Name, out var previous);
        if (previous is not null && previous.TopicId != snapshot.TopicId)
        {
            previous = null;
        }

        var logs = new PartitionLog[snapshot.Partitions];
        var replicas = new PartitionReplica[snapshot.Partitions];
        long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        int minInsync = config.MinInsyncOr(_minInsyncDefault);
        var changed = new List<(PartitionReplica, ReplicaTransition)>();
        for (int i = 0; i < snapshot.Partitions; i++)
        {
            logs[i] = _engine.GetOrCreatePartition(snapshot.Name, i, options);
            if (logs[i].Options != options)
            {
                _engine.UpdatePartitionOptions(logs[i], options);
            }

            // The replica outlives snapshots (follower progress, high watermark) while its log does.
            replicas[i] = previous is not null && i < previous.Replicas.Length && ReferenceEquals(previous.Replicas[i].Log, logs[i])
                ? previous.Replicas[i]
                : new PartitionReplica(snapshot.Name, i, logs[i], _self);
            bool fresh = previous is null || i >= previous.Replicas.Length || !ReferenceEquals(previous.Replicas[i], replicas[i]);
            replicas[i].MinInsync = minInsync;
            if (i < snapshot.States.Length)
            {
                var transition = replicas[i].Apply(snapshot.States[i], now);
                if (transition != ReplicaTransition.None || fresh)
                {
                    changed.Add((replicas[i], transition == ReplicaTransition.None ? (replicas[i].IsLeader ? ReplicaTransition.BecameLeader : ReplicaTransition.BecameFollower) : transition));
                }
            }
            else if (fresh)
            {
                // Stored before replication and not placed yet: this silo leads it alone, as before.
                changed.Add((replicas[i], ReplicaTransition.BecameLeader));
            }
        }

        var topic = new TopicMetadata(snapshot.Name, snapshot.TopicId, config, logs, replicas);
        _topics[snapshot.Name] = topic;
        foreach (var (replica, transition) in changed)
        {
            ReplicaChanged?.Invoke(replica, transition);
        }

        return topic;
    }

    private void Remove(string name, Guid topicId)
    {
        if (_topics.TryGetValue(name, out var topic) && (topic.TopicId == topicId || topicId == Guid.Empty) && _topics.TryRemove(name, out _))
        {
            foreach (var r in topic.Replicas)
            {
                ReplicaChanged?.Invoke(r, ReplicaTransition.Stopped);
            }

            foreach (var p in topic.Partitions)
            {
                _engine.DeletePartition(p);
            }
        }
    }
}
