using OrleansMQ.Protocol;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Client.Admin;

/// <summary>The replication admin operations: the cluster, leader elections, partition reassignments, DeleteRecords.</summary>
public sealed partial class KafkaAdminClient
{
    /// <summary>DescribeCluster: the cluster id, the controller and the live brokers.</summary>
    public async Task<ClusterDescription> DescribeClusterAsync(CancellationToken cancellationToken = default)
    {
        var response = await _cluster.SendToAnyAsync<DescribeClusterRequest, DescribeClusterResponse>(new DescribeClusterRequest(), cancellationToken).ConfigureAwait(false);
        KafkaException.ThrowIfError(response.ErrorCode, response.ErrorMessage, "Describe cluster");
        return new ClusterDescription(
            response.ClusterId,
            response.ControllerId,
            response.Brokers.OrderBy(b => b.BrokerId).Select(b => new BrokerDescription(b.BrokerId, b.Host, b.Port, b.Rack)).ToList());
    }

    /// <summary>
    /// ElectLeaders: <see cref="ElectionType.Preferred"/> moves leadership back to each partition's
    /// first replica when it is live and in sync; <see cref="ElectionType.Unclean"/> gives a partition
    /// without a live leader its first live replica (records only the lost leader had are lost).
    /// Null <paramref name="partitions"/>: every partition of every topic. Per-partition outcomes are
    /// returned, not thrown (ELECTION_NOT_NEEDED is the usual answer for a balanced cluster).
    /// </summary>
    public async Task<IReadOnlyList<ElectionResult>> ElectLeadersAsync(ElectionType type, IReadOnlyCollection<TopicPartition>? partitions = null, CancellationToken cancellationToken = default)
    {
        var request = new ElectLeadersRequest
        {
            ElectionType = type,
            TimeoutMs = TimeoutMs,
            TopicPartitions = partitions?.GroupBy(p => p.Topic, StringComparer.Ordinal)
                .Select(g => new ElectLeadersRequest.Topic { Name = g.Key, Partitions = g.Select(p => p.Partition).Distinct().ToList() })
                .ToList(),
        };
        var connection = await ControllerAsync(cancellationToken).ConfigureAwait(false);
        if (type != ElectionType.Preferred && connection.VersionFor(ApiKey.ElectLeaders) is not >= 1)
        {
            throw new KafkaException(ErrorCode.UnsupportedVersion, "The broker takes only preferred elections (ElectLeaders v0).");
        }

        var response = await connection.SendAsync<ElectLeadersRequest, ElectLeadersResponse>(request, cancellationToken).ConfigureAwait(false);
        KafkaException.ThrowIfError(response.ErrorCode, null, "Elect leaders");
        if (partitions is not null)
        {
            // The partitions of a topic the broker does not know can't be elected: still, one row each.
            var answered = response.ReplicaElectionResults.SelectMany(t => t.PartitionResults.Select(p => new TopicPartition(t.Name, p.PartitionIndex))).ToHashSet();
            foreach (var missing in partitions.Where(p => !answered.Contains(p)))
            {
                response.ReplicaElectionResults.Add(new ElectLeadersResponse.Topic
                {
                    Name = missing.Topic,
                    PartitionResults = [new ElectLeadersResponse.Partition { PartitionIndex = missing.Partition, ErrorCode = ErrorCode.UnknownTopicOrPartition }],
                });
            }
        }

        return response.ReplicaElectionResults
            .SelectMany(t => t.PartitionResults.Select(p => new ElectionResult(t.Name, p.PartitionIndex, p.ErrorCode, p.ErrorMessage)))
            .OrderBy(r => r.Topic, StringComparer.Ordinal).ThenBy(r => r.Partition)
            .ToList();
    }

    /// <summary>
    /// AlterPartitionReassignments: moves each partition to its target replicas (null: cancels the
    /// move in progress). The broker adds the new replicas first; the move completes when they are
    /// in sync (see <see cref="ListPartitionReassignmentsAsync"/>). Throws with the first failure's
    /// code: INVALID_REPLICA_ASSIGNMENT (a broker not live, named twice, an empty list),
    /// NO_REASSIGNMENT_IN_PROGRESS (cancel), UNKNOWN_TOPIC_OR_PARTITION.
    /// </summary>
    public async Task AlterPartitionReassignmentsAsync(IReadOnlyDictionary<TopicPartition, IReadOnlyList<int>?> reassignments, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reassignments);
        var request = new AlterPartitionReassignmentsRequest
        {
            TimeoutMs = TimeoutMs,
            Topics = reassignments.GroupBy(kv => kv.Key.Topic, StringComparer.Ordinal).Select(g => new AlterPartitionReassignmentsRequest.Topic
            {
                Name = g.Key,
                Partitions = g.Select(kv => new AlterPartitionReassignmentsRequest.Partition { PartitionIndex = kv.Key.Partition, Replicas = kv.Value?.ToList() }).ToList(),
            }).ToList(),
        };
        var connection = await ControllerAsync(cancellationToken).ConfigureAwait(false);
        var response = await connection.SendAsync<AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse>(request, cancellationToken).ConfigureAwait(false);
        KafkaException.ThrowIfError(response.ErrorCode, response.ErrorMessage, "Alter partition reassignments");
        ThrowIfAnyFailed(response.Responses.SelectMany(t => t.Partitions.Select(p => ($"{t.Name}-{p.PartitionIndex}", p.ErrorCode, p.ErrorMessage))), "Reassign partition");
    }

    /// <summary>ListPartitionReassignments: the reassignments in progress (of <paramref name="partitions"/>, or all).</summary>
    public async Task<IReadOnlyList<ReassignmentStatus>> ListPartitionReassignmentsAsync(IReadOnlyCollection<TopicPartition>? partitions = null, CancellationToken cancellationToken = default)
    {
        var request = new ListPartitionReassignmentsRequest
        {
            TimeoutMs = TimeoutMs,
            Topics = partitions?.GroupBy(p => p.Topic, StringComparer.Ordinal)
                .Select(g => new ListPartitionReassignmentsRequest.Topic { Name = g.Key, PartitionIndexes = g.Select(p => p.Partition).Distinct().ToList() })
                .ToList(),
        };
        var connection = await ControllerAsync(cancellationToken).ConfigureAwait(false);
        var response = await connection.SendAsync<ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse>(request, cancellationToken).ConfigureAwait(false);
        KafkaException.ThrowIfError(response.ErrorCode, response.ErrorMessage, "List partition reassignments");
        return response.Topics
            .SelectMany(t => t.Partitions.Select(p => new ReassignmentStatus(t.Name, p.PartitionIndex, p.Replicas, p.AddingReplicas, p.RemovingReplicas)))
            .OrderBy(r => r.Topic, StringComparer.Ordinal).ThenBy(r => r.Partition)
            .ToList();
    }

    /// <summary>
    /// DeleteRecords: each partition's records before the given offset (-1: the high watermark) go,
    /// asked of its leader; returns each partition's new log start. Followers follow on their next
    /// fetch. Throws with the broker's code: OFFSET_OUT_OF_RANGE (above the high watermark),
    /// NOT_LEADER_OR_FOLLOWER (retried once after a metadata refresh), UNKNOWN_TOPIC_OR_PARTITION.
    /// </summary>
    public async Task<IReadOnlyList<DeletedRecords>> DeleteRecordsAsync(IReadOnlyDictionary<TopicPartition, long> beforeOffsets, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(beforeOffsets);
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                return await DeleteRecordsOnceAsync(beforeOffsets, cancellationToken).ConfigureAwait(false);
            }
            catch (KafkaException ex) when (attempt < 2 && (ex is KafkaConnectionException || ex.ErrorCode is ErrorCode.NotLeaderOrFollower or ErrorCode.LeaderNotAvailable))
            {
                foreach (var topic in beforeOffsets.Keys.Select(p => p.Topic).Distinct())
                {
                    _cluster.InvalidateTopic(topic);
                }

                await Task.Delay(100 * (attempt + 1), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task<IReadOnlyList<DeletedRecords>> DeleteRecordsOnceAsync(IReadOnlyDictionary<TopicPartition, long> beforeOffsets, CancellationToken cancellationToken)
    {
        var byLeader = new Dictionary<int, List<KeyValuePair<TopicPartition, long>>>();
        foreach (var entry in beforeOffsets)
        {
            var info = await _cluster.GetTopicAsync(entry.Key.Topic, cancellationToken: cancellationToken).ConfigureAwait(false);
            var partition = info.Partitions.FirstOrDefault(p => p.Partition == entry.Key.Partition)
                ?? throw new KafkaException(ErrorCode.UnknownTopicOrPartition, $"Partition {entry.Key} does not exist.");
            if (partition.Leader < 0)
            {
                throw new KafkaException(ErrorCode.LeaderNotAvailable, $"Partition {entry.Key} has no leader.");
            }

            (byLeader.TryGetValue(partition.Leader, out var list) ? list : byLeader[partition.Leader] = []).Add(entry);
        }

        var results = new List<DeletedRecords>(beforeOffsets.Count);
        foreach (var (leader, entries) in byLeader)
        {
            var request = new DeleteRecordsRequest
            {
                TimeoutMs = TimeoutMs,
                Topics = entries.GroupBy(e => e.Key.Topic, StringComparer.Ordinal).Select(g => new DeleteRecordsRequest.Topic
                {
                    Name = g.Key,
                    Partitions = g.Select(e => new DeleteRecordsRequest.Partition { PartitionIndex = e.Key.Partition, Offset = e.Value }).ToList(),
                }).ToList(),
            };
            var connection = await _cluster.GetConnectionAsync(leader, cancellationToken).ConfigureAwait(false);
            var response = await connection.SendAsync<DeleteRecordsRequest, DeleteRecordsResponse>(request, cancellationToken).ConfigureAwait(false);
            foreach (var t in response.Topics)
            {
                foreach (var p in t.Partitions)
                {
                    KafkaException.ThrowIfError(p.ErrorCode, null, $"Delete records of {t.Name}-{p.PartitionIndex}");
                    results.Add(new DeletedRecords(t.Name, p.PartitionIndex, p.LowWatermark));
                }
            }
        }

        return results.OrderBy(r => r.Topic, StringComparer.Ordinal).ThenBy(r => r.Partition).ToList();
    }
}
