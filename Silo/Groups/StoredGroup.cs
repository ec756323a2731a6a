namespace OrleansMQ.Silo.Groups;

/// <summary>A (topic, partition) key.</summary>
[Orleans.GenerateSerializer, Orleans.Immutable]
public readonly record struct TopicPartitionKey([property: Orleans.Id(0)] string Topic, [property: Orleans.Id(1)] int Partition);

/// <summary>A committed offset with its metadata (the value of an offset-commit record).</summary>
public sealed record CommittedOffset(long Offset, int LeaderEpoch, string? Metadata, long CommitTimestamp, long ExpireTimestamp);

/// <summary>A member in the persisted group metadata: enough to restore it after a restart.</summary>
public sealed record StoredMember(string MemberId, string? GroupInstanceId, string ClientId, string ClientHost, int RebalanceTimeoutMs, int SessionTimeoutMs, byte[] Subscription, byte[] Assignment);

/// <summary>
/// The group metadata record, written when a generation completes (assignments handed out) and
/// when the group turns empty, as Kafka does; restoring it lets members keep heartbeating in their
/// generation across a coordinator restart.
/// </summary>
public sealed record GroupMetadataValue(string? ProtocolType, int Generation, string? ProtocolName, string? Leader, long StateTimestamp, IReadOnlyList<StoredMember> Members);

/// <summary>One record of the internal offsets partition: a value, or a tombstone (null).</summary>
public abstract record GroupLogRecord(string GroupId);

/// <summary>An offset commit (or, with a null value, its deletion).</summary>
public sealed record OffsetCommitRecord(string GroupId, string Topic, int Partition, CommittedOffset? Value) : GroupLogRecord(GroupId);

/// <summary>The group's metadata (or, with a null value, the group's deletion).</summary>
public sealed record GroupMetadataRecord(string GroupId, GroupMetadataValue? Value) : GroupLogRecord(GroupId);

/// <summary>
/// The durable view of one group, materialized from the internal offsets partition (at start by
/// replay, later by every append). The group's grain is its only writer; snapshots and lag reads
/// run beside it, so every access takes the object's lock.
/// </summary>
public sealed class StoredGroup
{
    private readonly Dictionary<TopicPartitionKey, CommittedOffset> _offsets = [];
    private GroupMetadataValue? _metadata;

    public StoredGroup(string groupId)
    {
        GroupId = groupId;
    }

    public string GroupId { get; }

    public GroupMetadataValue? Metadata
    {
        get
        {
            lock (_offsets)
            {
                return _metadata;
            }
        }
    }

    /// <summary>True when nothing is stored: the group need not be kept.</summary>
    public bool IsEmpty
    {
        get
        {
            lock (_offsets)
            {
                return _metadata is null && _offsets.Count == 0;
            }
        }
    }

    public int OffsetCount
    {
        get
        {
            lock (_offsets)
            {
                return _offsets.Count;
            }
        }
    }

    public void Apply(GroupLogRecord record)
    {
        lock (_offsets)
        {
            switch (record)
            {
                case OffsetCommitRecord { Value: null } c:
                    _offsets.Remove(new TopicPartitionKey(c.Topic, c.Partition));
                    break;
                case OffsetCommitRecord c:
                    _offsets[new TopicPartitionKey(c.Topic, c.Partition)] = c.Value;
                    break;
                case GroupMetadataRecord m:
                    _metadata = m.Value;
                    break;
            }
        }
    }

    public bool TryGetOffset(string topic, int partition, out CommittedOffset offset)
    {
        lock (_offsets)
        {
            return _offsets.TryGetValue(new TopicPartitionKey(topic, partition), out offset!);
        }
    }

    /// <summary>OffsetFetch: the given partitions (every committed one when null, sorted); -1 and "" where nothing is committed.</summary>
    public List<FetchedOffset> Fetch(IReadOnlyList<(string Topic, IReadOnlyList<int> Partitions)>? topics)
    {
        var result = new List<FetchedOffset>();
        lock (_offsets)
        {
            if (topics is null)
            {
                foreach (var (key, v) in _offsets.OrderBy(kv => kv.Key.Topic, StringComparer.Ordinal).ThenBy(kv => kv.Key.Partition))
                {
                    result.Add(new FetchedOffset(key.Topic, key.Partition, v.Offset, v.LeaderEpoch, v.Metadata));
                }

                return result;
            }

            foreach (var (topic, partitions) in topics)
            {
                foreach (int p in partitions)
                {
                    result.Add(_offsets.TryGetValue(new TopicPartitionKey(topic, p), out var v)
                        ? new FetchedOffset(topic, p, v.Offset, v.LeaderEpoch, v.Metadata)
                        : new FetchedOffset(topic, p, -1, -1, ""));
                }
            }
        }

        return result;
    }

    /// <summary>A copy of every committed offset.</summary>
    public List<KeyValuePair<TopicPartitionKey, CommittedOffset>> SnapshotOffsets()
    {
        lock (_offsets)
        {
            return [.. _offsets];
        }
    }

    /// <summary>A consistent copy of metadata and offsets (for the snapshot file).</summary>
    public (GroupMetadataValue? Metadata, List<KeyValuePair<TopicPartitionKey, CommittedOffset>> Offsets) Snapshot()
    {
        lock (_offsets)
        {
            return (_metadata, [.. _offsets]);
        }
    }
}
