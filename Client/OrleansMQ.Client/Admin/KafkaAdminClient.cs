using OrleansMQ.Client.Consumer.Assignment;
using OrleansMQ.Client.Cluster;
using OrleansMQ.Client.Network;
using OrleansMQ.Protocol;
using OrleansMQ.Protocol.Groups;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Client.Admin;

/// <summary>
/// Kafka's admin operations over the wire protocol: topics (list, create, delete, describe, add
/// partitions), configs, consumer groups (list, describe with decoded assignments, delete) and
/// offsets (ListOffsets, committed offsets, lag, reset, delete). Every failure is a
/// <see cref="KafkaException"/> carrying the broker's error code. Thread-safe.
/// </summary>
public sealed partial class KafkaAdminClient : IAsyncDisposable
{
    private readonly KafkaCluster _cluster;
    private readonly bool _ownsCluster;

    /// <summary>An admin client with its own connections.</summary>
    public KafkaAdminClient(ClientOptions options)
    {
        _cluster = new KafkaCluster(options);
        _ownsCluster = true;
    }

    /// <summary>An admin client sharing <paramref name="cluster"/>'s connections (not disposed with it).</summary>
    public KafkaAdminClient(KafkaCluster cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        _cluster = cluster;
    }

    public KafkaCluster Cluster => _cluster;

    private int TimeoutMs => (int)Math.Min(int.MaxValue, _cluster.Options.RequestTimeout.TotalMilliseconds);

    // ------------------------------------------------------------------ topics

    /// <summary>Every topic with its partition count; internal topics only when <paramref name="includeInternal"/>.</summary>
    public async Task<IReadOnlyList<TopicListing>> ListTopicsAsync(bool includeInternal = false, CancellationToken cancellationToken = default)
    {
        var response = await MetadataAsync(null, cancellationToken).ConfigureAwait(false);
        return response.Topics
            .Where(t => t.ErrorCode == ErrorCode.None && (includeInternal || !t.IsInternal))
            .Select(t => new TopicListing(t.Name, t.IsInternal, t.Partitions.Count))
            .OrderBy(t => t.Name, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>The topic's partitions (leader, replicas, ISR) and configs. Throws UNKNOWN_TOPIC_OR_PARTITION when it does not exist.</summary>
    public async Task<TopicDescription> DescribeTopicAsync(string topic, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        var response = await MetadataAsync([topic], cancellationToken).ConfigureAwait(false);
        var t = response.Topics.FirstOrDefault(x => x.Name == topic)
            ?? throw new KafkaException(ErrorCode.UnknownTopicOrPartition, $"Topic '{topic}' does not exist.");
        if (t.ErrorCode != ErrorCode.None)
        {
            throw new KafkaException(t.ErrorCode, $"Topic '{topic}': {t.ErrorCode}.");
        }

        var configs = await DescribeTopicConfigsAsync(topic, null, cancellationToken).ConfigureAwait(false);
        return new TopicDescription(
            t.Name,
            t.IsInternal,
            t.Partitions.OrderBy(p => p.PartitionIndex).Select(p => new TopicPartitionDescription(p.PartitionIndex, p.LeaderId, p.ReplicaNodes.ToList(), p.IsrNodes.ToList(), p.ErrorCode)).ToList(),
            configs);
    }

    /// <summary>Creates one topic (or with <paramref name="validateOnly"/> only checks that it could be created).</summary>
    public async Task<CreatedTopic> CreateTopicAsync(NewTopic topic, bool validateOnly = false, CancellationToken cancellationToken = default)
    {
        var created = await CreateTopicsAsync([topic], validateOnly, cancellationToken).ConfigureAwait(false);
        return created[0];
    }

    /// <summary>
    /// Creates topics in one request. Throws when any fails (TOPIC_ALREADY_EXISTS,
    /// INVALID_TOPIC_EXCEPTION, INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR, INVALID_CONFIG ...)
    /// with the first failure's code and every failure in the message.
    /// </summary>
    public async Task<IReadOnlyList<CreatedTopic>> CreateTopicsAsync(IReadOnlyCollection<NewTopic> topics, bool validateOnly = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(topics);
        var request = new CreateTopicsRequest
        {
            TimeoutMs = TimeoutMs,
            ValidateOnly = validateOnly,
            Topics = topics.Select(t => new CreateTopicsRequest.Topic
            {
                Name = t.Name,
                NumPartitions = t.Partitions,
                ReplicationFactor = t.ReplicationFactor,
                Configs = t.Configs.Select(c => new CreateTopicsRequest.Config { Name = c.Key, Value = c.Value }).ToList(),
            }).ToList(),
        };
        var connection = await ControllerAsync(cancellationToken).ConfigureAwait(false);
        var response = await connection.SendAsync<CreateTopicsRequest, CreateTopicsResponse>(request, cancellationToken).ConfigureAwait(false);
        ThrowIfAnyFailed(response.Topics.Select(t => (t.Name, t.ErrorCode, t.ErrorMessage)), "Create topic");
        foreach (var t in topics)
        {
            _cluster.InvalidateTopic(t.Name);
        }

        return response.Topics.Select(t => new CreatedTopic(
            t.Name,
            t.NumPartitions,
            t.ReplicationFactor,
            (t.Configs ?? []).Select(c => new ConfigEntry(c.Name, c.Value, c.ConfigSource, c.ConfigSource == ConfigSource.DefaultConfig, c.ReadOnly, c.IsSensitive)).ToList())).ToList();
    }

    /// <summary>Deletes topics. Throws UNKNOWN_TOPIC_OR_PARTITION (or another code) when any fails.</summary>
    public async Task DeleteTopicsAsync(IReadOnlyCollection<string> topics, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(topics);
        var request = new DeleteTopicsRequest { TopicNames = topics.ToList(), TimeoutMs = TimeoutMs };
        var connection = await ControllerAsync(cancellationToken).ConfigureAwait(false);
        var response = await connection.SendAsync<DeleteTopicsRequest, DeleteTopicsResponse>(request, cancellationToken).ConfigureAwait(false);
        foreach (var t in topics)
        {
            _cluster.InvalidateTopic(t);
        }

        ThrowIfAnyFailed(response.Responses.Select(r => (r.Name, r.ErrorCode, (string?)null)), "Delete topic");
    }

    /// <summary>Grows <paramref name="topic"/> to <paramref name="totalPartitions"/> partitions (INVALID_PARTITIONS when not more than now).</summary>
    public async Task AddPartitionsAsync(string topic, int totalPartitions, bool validateOnly = false, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        var request = new CreatePartitionsRequest
        {
            TimeoutMs = TimeoutMs,
            ValidateOnly = validateOnly,
            Topics = [new CreatePartitionsRequest.Topic { Name = topic, Count = totalPartitions }],
        };
        var connection = await ControllerAsync(cancellationToken).ConfigureAwait(false);
        var response = await connection.SendAsync<CreatePartitionsRequest, CreatePartitionsResponse>(request, cancellationToken).ConfigureAwait(false);
        _cluster.InvalidateTopic(topic);
        ThrowIfAnyFailed(response.Results.Select(r => (r.Name, r.ErrorCode, r.ErrorMessage)), "Add partitions to topic");
    }

    // ------------------------------------------------------------------ configs

    /// <summary>The topic's configs (all, or only <paramref name="keys"/>).</summary>
    public Task<IReadOnlyList<ConfigEntry>> DescribeTopicConfigsAsync(string topic, IReadOnlyList<string>? keys = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        return DescribeConfigsAsync(ConfigResourceType.Topic, topic, null, keys ?? [], cancellationToken);
    }

    /// <summary>Broker <paramref name="brokerId"/>'s configs (all, or only <paramref name="keys"/>), asked of that broker.</summary>
    public Task<IReadOnlyList<ConfigEntry>> DescribeBrokerConfigsAsync(int brokerId, IReadOnlyList<string>? keys = null, CancellationToken cancellationToken = default) =>
        DescribeConfigsAsync(ConfigResourceType.Broker, brokerId.ToString(System.Globalization.CultureInfo.InvariantCulture), brokerId, keys ?? [], cancellationToken);

    private async Task<IReadOnlyList<ConfigEntry>> DescribeConfigsAsync(ConfigResourceType type, string name, int? brokerId, IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var request = new DescribeConfigsRequest
        {
            Resources = [new DescribeConfigsRequest.Resource { ResourceType = type, ResourceName = name, ConfigurationKeys = keys.Count > 0 ? keys.ToList() : null }],
        };
        DescribeConfigsResponse response;
        if (brokerId is { } id)
        {
            await EnsureMetadataAsync(cancellationToken).ConfigureAwait(false);
            var connection = await _cluster.GetConnectionAsync(id, cancellationToken).ConfigureAwait(false);
            response = await connection.SendAsync<DescribeConfigsRequest, DescribeConfigsResponse>(request, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            response = await _cluster.SendToAnyAsync<DescribeConfigsRequest, DescribeConfigsResponse>(request, cancellationToken).ConfigureAwait(false);
        }

        var result = response.Results.FirstOrDefault()
            ?? throw new KafkaException(ErrorCode.UnknownServerError, $"DescribeConfigs for {type} '{name}' got no result.");
        KafkaException.ThrowIfError(result.ErrorCode, result.ErrorMessage, $"Describe configs of {type.ToString().ToLowerInvariant()} '{name}'");
        return result.Configs
            .Select(c => new ConfigEntry(c.Name, c.IsSensitive ? null : c.Value, c.ConfigSource, c.IsDefault || c.ConfigSource == ConfigSource.DefaultConfig, c.ReadOnly, c.IsSensitive))
            .OrderBy(c => c.Name, StringComparer.Ordinal)
            .ToList();
    }

    // ------------------------------------------------------------------ groups

    /// <summary>The groups of every broker.</summary>
    public async Task<IReadOnlyList<GroupListing>> ListGroupsAsync(CancellationToken cancellationToken = default)
    {
        var metadata = await _cluster.RefreshMetadataAsync([], cancellationToken: cancellationToken).ConfigureAwait(false);
        var groups = new Dictionary<string, GroupListing>(StringComparer.Ordinal);
        foreach (int broker in metadata.Brokers.Keys.Order())
        {
            var connection = await _cluster.GetConnectionAsync(broker, cancellationToken).ConfigureAwait(false);
            var response = await connection.SendAsync<ListGroupsRequest, ListGroupsResponse>(new ListGroupsRequest(), cancellationToken).ConfigureAwait(false);
            KafkaException.ThrowIfError(response.ErrorCode, null, $"List groups on broker {broker}");
            foreach (var g in response.Groups)
            {
                groups[g.GroupId] = new GroupListing(g.GroupId, g.ProtocolType, g.GroupState);
            }
        }

        return groups.Values.OrderBy(g => g.GroupId, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// The group's state, assignor and members with their subscriptions and assignments. A group
    /// that does not exist describes as state "Dead" with no members, as in Kafka.
    /// </summary>
    public async Task<GroupDescription> DescribeGroupAsync(string groupId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(groupId);
        var response = await CoordinatorSendAsync<DescribeGroupsRequest, DescribeGroupsResponse>(
            groupId, new DescribeGroupsRequest { Groups = [groupId] }, r => r.Groups.FirstOrDefault()?.ErrorCode ?? ErrorCode.None, cancellationToken).ConfigureAwait(false);
        var g = response.Groups.FirstOrDefault(x => x.GroupId == groupId)
            ?? throw new KafkaException(ErrorCode.UnknownServerError, $"DescribeGroups for '{groupId}' got no answer for it.");
        KafkaException.ThrowIfError(g.ErrorCode, null, $"Describe group '{groupId}'");
        bool consumer = g.ProtocolType is ConsumerProtocolCodec.ProtocolType or "";
        return new GroupDescription(
            g.GroupId,
            g.GroupState,
            g.ProtocolType,
            g.ProtocolData,
            g.Members.Select(m => new GroupMemberDescription(
                m.MemberId,
                m.GroupInstanceId,
                m.ClientId,
                m.ClientHost,
                consumer ? TryDecode(() => ConsumerProtocolCodec.DecodeSubscription(m.MemberMetadata).Topics) : [],
                consumer ? TryDecode(() => ConsumerProtocolCodec.DecodeAssignment(m.MemberAssignment).Partitions) : [])).ToList());
    }

    /// <summary>Deletes groups with no members and their offsets (NON_EMPTY_GROUP while members remain, GROUP_ID_NOT_FOUND when unknown).</summary>
    public async Task DeleteGroupsAsync(IReadOnlyCollection<string> groupIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(groupIds);
        var failures = new List<(string, ErrorCode, string?)>();
        foreach (var groupId in groupIds)
        {
            var response = await CoordinatorSendAsync<DeleteGroupsRequest, DeleteGroupsResponse>(
                groupId, new DeleteGroupsRequest { GroupsNames = [groupId] }, r => r.Results.FirstOrDefault()?.ErrorCode ?? ErrorCode.None, cancellationToken).ConfigureAwait(false);
            failures.AddRange(response.Results.Select(r => (r.GroupId, r.ErrorCode, (string?)null)));
        }

        ThrowIfAnyFailed(failures, "Delete group");
    }

    // ------------------------------------------------------------------ offsets

    /// <summary>ListOffsets for each partition, asked of its leader.</summary>
    public async Task<IReadOnlyList<PartitionOffset>> ListOffsetsAsync(IReadOnlyCollection<TopicPartition> partitions, OffsetSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                return await ListOffsetsOnceAsync(partitions, spec, cancellationToken).ConfigureAwait(false);
            }
            catch (KafkaException ex) when (attempt < 2 && (ex is KafkaConnectionException || ex.ErrorCode is ErrorCode.NotLeaderOrFollower or ErrorCode.LeaderNotAvailable or ErrorCode.UnknownLeaderEpoch or ErrorCode.FencedLeaderEpoch))
            {
                foreach (var topic in partitions.Select(p => p.Topic).Distinct())
                {
                    _cluster.InvalidateTopic(topic);
                }

                await Task.Delay(100 * (attempt + 1), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>ListOffsets for every partition of <paramref name="topic"/>.</summary>
    public async Task<IReadOnlyList<PartitionOffset>> ListOffsetsAsync(string topic, OffsetSpec spec, CancellationToken cancellationToken = default)
    {
        var info = await _cluster.GetTopicAsync(topic, cancellationToken: cancellationToken).ConfigureAwait(false);
        return await ListOffsetsAsync(info.Partitions.Select(p => new TopicPartition(topic, p.Partition)).ToList(), spec, cancellationToken).ConfigureAwait(false);
    }

    private async Task<IReadOnlyList<PartitionOffset>> ListOffsetsOnceAsync(IReadOnlyCollection<TopicPartition> partitions, OffsetSpec spec, CancellationToken cancellationToken)
    {
        var byLeader = new Dictionary<int, List<TopicPartition>>();
        foreach (var tp in partitions)
        {
            var info = await _cluster.GetTopicAsync(tp.Topic, cancellationToken: cancellationToken).ConfigureAwait(false);
            var partition = info.Partitions.FirstOrDefault(p => p.Partition == tp.Partition)
                ?? throw new KafkaException(ErrorCode.UnknownTopicOrPartition, $"Partition {tp} does not exist.");
            if (partition.Leader < 0)
            {
                throw new KafkaException(ErrorCode.LeaderNotAvailable, $"Partition {tp} has no leader.");
            }

            (byLeader.TryGetValue(partition.Leader, out var list) ? list : byLeader[partition.Leader] = []).Add(tp);
        }

        var results = new List<PartitionOffset>(partitions.Count);
        foreach (var (leader, tps) in byLeader)
        {
            var request = new ListOffsetsRequest
            {
                Topics = tps.GroupBy(tp => tp.Topic, StringComparer.Ordinal).Select(g => new ListOffsetsRequest.Topic
                {
                    Name = g.Key,
                    Partitions = g.Select(tp => new ListOffsetsRequest.Partition { PartitionIndex = tp.Partition, Timestamp = spec.Timestamp }).ToList(),
                }).ToList(),
            };
            var connection = await _cluster.GetConnectionAsync(leader, cancellationToken).ConfigureAwait(false);
            var response = await connection.SendAsync<ListOffsetsRequest, ListOffsetsResponse>(request, cancellationToken).ConfigureAwait(false);
            foreach (var t in response.Topics)
            {
                foreach (var p in t.Partitions)
                {
                    KafkaException.ThrowIfError(p.ErrorCode, null, $"List offsets of {t.Name}-{p.PartitionIndex}");
                    long offset = p.Offset >= 0 || p.OldStyleOffsets.Count == 0 ? p.Offset : p.OldStyleOffsets[0];
                    results.Add(new PartitionOffset(t.Name, p.PartitionIndex, offset, p.Timestamp));
                }
            }
        }

        return results.OrderBy(r => r.Topic, StringComparer.Ordinal).ThenBy(r => r.Partition).ToList();
    }

    /// <summary>The group's committed offsets: all of them, or those of <paramref name="partitions"/> (partitions without a commit are left out).</summary>
    public async Task<IReadOnlyList<GroupOffset>> ListGroupOffsetsAsync(string groupId, IReadOnlyCollection<TopicPartition>? partitions = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(groupId);
        var request = new OffsetFetchRequest
        {
            GroupId = groupId,
            Topics = partitions?.GroupBy(p => p.Topic, StringComparer.Ordinal)
                .Select(g => new OffsetFetchRequest.Topic { Name = g.Key, PartitionIndexes = g.Select(p => p.Partition).ToList() }).ToList(),
        };
        var response = await CoordinatorSendAsync<OffsetFetchRequest, OffsetFetchResponse>(groupId, request, r => r.ErrorCode, cancellationToken).ConfigureAwait(false);
        KafkaException.ThrowIfError(response.ErrorCode, null, $"Fetch offsets of group '{groupId}'");
        var offsets = new List<GroupOffset>();
        foreach (var t in response.Topics)
        {
            foreach (var p in t.Partitions)
            {
                if (p.ErrorCode == ErrorCode.UnknownTopicOrPartition)
                {
                    continue;
                }

                KafkaException.ThrowIfError(p.ErrorCode, null, $"Fetch offset of group '{groupId}' for {t.Name}-{p.PartitionIndex}");
                if (p.CommittedOffset >= 0)
                {
                    offsets.Add(new GroupOffset(t.Name, p.PartitionIndex, p.CommittedOffset, p.Metadata));
                }
            }
        }

        return offsets.OrderBy(o => o.Topic, StringComparer.Ordinal).ThenBy(o => o.Partition).ToList();
    }

    /// <summary>
    /// kafka-consumer-groups --describe: every partition the group has a committed offset for or a
    /// member owns, with log end, lag = log end − committed, and its owner.
    /// </summary>
    public async Task<GroupLag> DescribeGroupLagAsync(string groupId, CancellationToken cancellationToken = default)
    {
        var group = await DescribeGroupAsync(groupId, cancellationToken).ConfigureAwait(false);
        var committed = await ListGroupOffsetsAsync(groupId, null, cancellationToken).ConfigureAwait(false);
        var owners = new Dictionary<TopicPartition, GroupMemberDescription>();
        foreach (var m in group.Members)
        {
            foreach (var tp in m.Assignment)
            {
                owners[tp] = m;
            }
        }

        var partitions = committed.Select(c => new TopicPartition(c.Topic, c.Partition)).Concat(owners.Keys).Distinct().ToList();
        var ends = new Dictionary<TopicPartition, long>();
        var live = new List<TopicPartition>();
        foreach (var topicGroup in partitions.GroupBy(p => p.Topic, StringComparer.Ordinal))
        {
            try
            {
                var info = await _cluster.GetTopicAsync(topicGroup.Key, cancellationToken: cancellationToken).ConfigureAwait(false);
                live.AddRange(topicGroup.Where(tp => info.Partitions.Any(p => p.Partition == tp.Partition)));
            }
            catch (KafkaException ex) when (ex.ErrorCode == ErrorCode.UnknownTopicOrPartition)
            {
                // Offsets of a deleted topic: shown without a log end.
            }
        }

        foreach (var end in await ListOffsetsAsync(live, OffsetSpec.Latest, cancellationToken).ConfigureAwait(false))
        {
            ends[new TopicPartition(end.Topic, end.Partition)] = end.Offset;
        }

        var byPartition = committed.ToDictionary(c => new TopicPartition(c.Topic, c.Partition), c => c.Offset);
        var rows = partitions
            .OrderBy(p => p.Topic, StringComparer.Ordinal).ThenBy(p => p.Partition)
            .Select(tp =>
            {
                long? offset = byPartition.TryGetValue(tp, out long o) ? o : null;
                long end = ends.GetValueOrDefault(tp, -1);
                long? lag = offset is { } c && end >= 0 ? Math.Max(0, end - c) : null;
                var owner = owners.GetValueOrDefault(tp);
                return new PartitionLag(tp.Topic, tp.Partition, offset, end, lag, owner?.MemberId, owner?.ClientId, owner?.ClientHost);
            }).ToList();
        return new GroupLag(group, rows);
    }

    /// <summary>
    /// Commits <paramref name="offsets"/> for the group outside any generation (generation -1, no
    /// member): what Kafka accepts only from a group with no members. An active group answers
    /// UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION / REBALANCE_IN_PROGRESS, thrown as is.
    /// </summary>
    public async Task AlterGroupOffsetsAsync(string groupId, IReadOnlyDictionary<TopicPartition, long> offsets, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(groupId);
        ArgumentNullException.ThrowIfNull(offsets);
        if (offsets.Count == 0)
        {
            return;
        }

        var request = new OffsetCommitRequest
        {
            GroupId = groupId,
            GenerationId = -1,
            MemberId = "",
            Topics = offsets.GroupBy(kv => kv.Key.Topic, StringComparer.Ordinal).Select(g => new OffsetCommitRequest.Topic
            {
                Name = g.Key,
                Partitions = g.Select(kv => new OffsetCommitRequest.Partition { PartitionIndex = kv.Key.Partition, CommittedOffset = kv.Value }).ToList(),
            }).ToList(),
        };
        var response = await CoordinatorSendAsync<OffsetCommitRequest, OffsetCommitResponse>(
            groupId, request, r => r.Topics.SelectMany(t => t.Partitions).Select(p => p.ErrorCode).FirstOrDefault(e => e != ErrorCode.None), cancellationToken).ConfigureAwait(false);
        ThrowIfAnyFailed(response.Topics.SelectMany(t => t.Partitions.Select(p => ($"{t.Name}-{p.PartitionIndex}", p.ErrorCode, (string?)null))), $"Commit offset of group '{groupId}' for");
    }

    /// <summary>
    /// kafka-consumer-groups --reset-offsets: computes the new offset of every partition of
    /// <paramref name="topics"/> (null: every topic the group has committed offsets for) and, unless
    /// <paramref name="dryRun"/>, commits them. Refused with NON_EMPTY_GROUP while the group has
    /// members (as Kafka's tool refuses: offsets can only be reset when the group is inactive).
    /// </summary>
    public async Task<IReadOnlyList<OffsetReset>> ResetGroupOffsetsAsync(string groupId, OffsetResetTarget target, IReadOnlyCollection<string>? topics = null, bool dryRun = false, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(groupId);
        ArgumentNullException.ThrowIfNull(target);
        var group = await DescribeGroupAsync(groupId, cancellationToken).ConfigureAwait(false);
        if (!group.IsInactive)
        {
            throw new KafkaException(ErrorCode.NonEmptyGroup, $"Offsets of group '{groupId}' can only be reset while it is inactive, but its state is {group.State} with {group.Members.Count} member(s).");
        }

        var committed = await ListGroupOffsetsAsync(groupId, null, cancellationToken).ConfigureAwait(false);
        var current = committed.ToDictionary(c => new TopicPartition(c.Topic, c.Partition), c => c.Offset);
        var partitions = new List<TopicPartition>();
        foreach (var topic in topics ?? committed.Select(c => c.Topic).Distinct(StringComparer.Ordinal).ToList())
        {
            var info = await _cluster.GetTopicAsync(topic, cancellationToken: cancellationToken).ConfigureAwait(false);
            partitions.AddRange(info.Partitions.Select(p => new TopicPartition(topic, p.Partition)));
        }

        if (partitions.Count == 0)
        {
            return [];
        }

        var latest = ToMap(await ListOffsetsAsync(partitions, OffsetSpec.Latest, cancellationToken).ConfigureAwait(false));
        Dictionary<TopicPartition, long> wanted = target switch
        {
            OffsetResetTarget.ToEarliest => ToMap(await ListOffsetsAsync(partitions, OffsetSpec.Earliest, cancellationToken).ConfigureAwait(false)),
            OffsetResetTarget.ToLatest => latest,
            OffsetResetTarget.ToDateTime d => ToMap(await ListOffsetsAsync(partitions, OffsetSpec.ForTime(d.Time), cancellationToken).ConfigureAwait(false))
                .ToDictionary(kv => kv.Key, kv => kv.Value >= 0 ? kv.Value : latest[kv.Key]),
            OffsetResetTarget.ToOffset o => await ClampAsync(partitions, o.Offset, latest, cancellationToken).ConfigureAwait(false),
            _ => throw new ArgumentException($"Unknown reset target {target}.", nameof(target)),
        };
        var resets = partitions
            .OrderBy(p => p.Topic, StringComparer.Ordinal).ThenBy(p => p.Partition)
            .Select(p => new OffsetReset(p.Topic, p.Partition, current.TryGetValue(p, out long c) ? c : null, wanted[p]))
            .ToList();
        if (!dryRun)
        {
            await AlterGroupOffsetsAsync(groupId, resets.ToDictionary(r => new TopicPartition(r.Topic, r.Partition), r => r.NewOffset), cancellationToken).ConfigureAwait(false);
        }

        return resets;
    }

    private async Task<Dictionary<TopicPartition, long>> ClampAsync(List<TopicPartition> partitions, long offset, Dictionary<TopicPartition, long> latest, CancellationToken cancellationToken)
    {
        var earliest = ToMap(await ListOffsetsAsync(partitions, OffsetSpec.Earliest, cancellationToken).ConfigureAwait(false));
        return partitions.ToDictionary(p => p, p => Math.Clamp(offset, earliest[p], Math.Max(earliest[p], latest[p])));
    }

    private static Dictionary<TopicPartition, long> ToMap(IEnumerable<PartitionOffset> offsets) =>
        offsets.ToDictionary(o => new TopicPartition(o.Topic, o.Partition), o => o.Offset);

    /// <summary>Deletes the group's committed offsets for <paramref name="topic"/> (all its partitions when <paramref name="partitions"/> is null). GROUP_SUBSCRIBED_TO_TOPIC while a member consumes it.</summary>
    public async Task DeleteGroupOffsetsAsync(string groupId, string topic, IReadOnlyCollection<int>? partitions = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(groupId);
        ArgumentException.ThrowIfNullOrEmpty(topic);
        if (partitions is null)
        {
            var info = await _cluster.GetTopicAsync(topic, cancellationToken: cancellationToken).ConfigureAwait(false);
            partitions = info.Partitions.Select(p => p.Partition).ToList();
        }

        var request = new OffsetDeleteRequest { GroupId = groupId, Topics = [new OffsetDeleteRequest.Topic { Name = topic, Partitions = partitions.ToList() }] };
        var response = await CoordinatorSendAsync<OffsetDeleteRequest, OffsetDeleteResponse>(groupId, request, r => r.ErrorCode, cancellationToken).ConfigureAwait(false);
        KafkaException.ThrowIfError(response.ErrorCode, null, $"Delete offsets of group '{groupId}'");
        ThrowIfAnyFailed(response.Topics.SelectMany(t => t.Partitions.Select(p => ($"{t.Name}-{p.PartitionIndex}", p.ErrorCode, (string?)null))), $"Delete offset of group '{groupId}' for");
    }

    // ------------------------------------------------------------------ plumbing

    private async Task<MetadataResponse> MetadataAsync(List<string>? topics, CancellationToken cancellationToken)
    {
        var request = new MetadataRequest { Topics = topics, AllowAutoTopicCreation = false };
        return await _cluster.SendToAnyAsync<MetadataRequest, MetadataResponse>(request, cancellationToken).ConfigureAwait(false);
    }

    private async Task EnsureMetadataAsync(CancellationToken cancellationToken)
    {
        if (_cluster.Metadata is null)
        {
            await _cluster.RefreshMetadataAsync([], cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The controller (where topic changes go), or any broker when metadata names none.</summary>
    private async Task<KafkaConnection> ControllerAsync(CancellationToken cancellationToken)
    {
        var metadata = await _cluster.RefreshMetadataAsync([], cancellationToken: cancellationToken).ConfigureAwait(false);
        return metadata.ControllerId >= 0 && metadata.Brokers.ContainsKey(metadata.ControllerId)
            ? await _cluster.GetConnectionAsync(metadata.ControllerId, cancellationToken).ConfigureAwait(false)
            : await _cluster.GetAnyConnectionAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends to the group's coordinator; on NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE / a broken connection, finds it again and retries.</summary>
    private async Task<TResponse> CoordinatorSendAsync<TRequest, TResponse>(string groupId, TRequest request, Func<TResponse, ErrorCode> error, CancellationToken cancellationToken)
        where TRequest : IKafkaMessage<TRequest>
        where TResponse : IKafkaMessage<TResponse>
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                var connection = await _cluster.GetCoordinatorAsync(groupId, cancellationToken).ConfigureAwait(false);
                var response = await connection.SendAsync<TRequest, TResponse>(request, cancellationToken).ConfigureAwait(false);
                var code = error(response);
                if (attempt < 3 && code is ErrorCode.NotCoordinator or ErrorCode.CoordinatorNotAvailable or ErrorCode.CoordinatorLoadInProgress)
                {
                    _cluster.InvalidateCoordinator(groupId);
                    await Task.Delay(100 * (attempt + 1), cancellationToken).ConfigureAwait(false);
                    continue;
                }

                return response;
            }
            catch (KafkaException ex) when (attempt < 3 && (ex is KafkaConnectionException || ex.ErrorCode is ErrorCode.CoordinatorNotAvailable or ErrorCode.CoordinatorLoadInProgress or ErrorCode.NotCoordinator))
            {
                _cluster.InvalidateCoordinator(groupId);
                await Task.Delay(100 * (attempt + 1), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static void ThrowIfAnyFailed(IEnumerable<(string Name, ErrorCode Code, string? Message)> results, string what)
    {
        var failed = results.Where(r => r.Code != ErrorCode.None).ToList();
        if (failed.Count == 0)
        {
            return;
        }

        string Describe((string Name, ErrorCode Code, string? Message) f) =>
            $"{what} '{f.Name}': {f.Code}{(string.IsNullOrEmpty(f.Message) ? "" : " - " + f.Message)}";
        throw new KafkaException(failed[0].Code, string.Join("; ", failed.Select(Describe)));
    }

    public async ValueTask DisposeAsync()
    {
        if (_ownsCluster)
        {
            await _cluster.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Members of a non-consumer protocol, or with bytes this client cannot read, show nothing rather than fail the whole describe.</summary>
    private static IReadOnlyList<T> TryDecode<T>(Func<IReadOnlyList<T>> decode)
    {
        try
        {
            return decode();
        }
        catch (FormatException)
        {
            return [];
        }
    }
}
