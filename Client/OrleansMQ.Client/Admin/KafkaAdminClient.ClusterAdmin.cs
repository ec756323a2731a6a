using OrleansMQ.Client.Network;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Client.Admin;

/// <summary>The cluster admin operations: config alterations, log directories, active producers.</summary>
public sealed partial class KafkaAdminClient
{
    /// <summary>
    /// IncrementalAlterConfigs on <paramref name="topic"/>: each change sets, deletes (back to the
    /// default), appends to or subtracts from one config; the others stay. Throws with the
    /// broker's code: INVALID_CONFIG (unknown name, bad value, APPEND/SUBTRACT on a non-list
    /// config), UNKNOWN_TOPIC_OR_PARTITION, INVALID_REQUEST (a config named twice).
    /// </summary>
    public async Task IncrementalAlterTopicConfigsAsync(string topic, IReadOnlyCollection<ConfigAlteration> changes, bool validateOnly = false, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentNullException.ThrowIfNull(changes);
        var request = new IncrementalAlterConfigsRequest
        {
            ValidateOnly = validateOnly,
            Resources =
            [
                new IncrementalAlterConfigsRequest.Resource
                {
                    ResourceType = ConfigResourceType.Topic,
                    ResourceName = topic,
                    Configs = changes.Select(c => new IncrementalAlterConfigsRequest.Config { Name = c.Name, ConfigOperation = c.Operation, Value = c.Value }).ToList(),
                },
            ],
        };
        var connection = await ControllerAsync(cancellationToken).ConfigureAwait(false);
        var response = await connection.SendAsync<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>(request, cancellationToken).ConfigureAwait(false);
        ThrowIfAnyFailed(response.Responses.Select(r => (r.ResourceName, r.ErrorCode, r.ErrorMessage)), "Alter configs of topic");
    }

    /// <summary>
    /// AlterConfigs on <paramref name="topic"/>: its dynamic configs become exactly
    /// <paramref name="configs"/> (every config left out goes back to its default).
    /// </summary>
    public async Task AlterTopicConfigsAsync(string topic, IReadOnlyDictionary<string, string?> configs, bool validateOnly = false, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentNullException.ThrowIfNull(configs);
        var request = new AlterConfigsRequest
        {
            ValidateOnly = validateOnly,
            Resources =
            [
                new AlterConfigsRequest.Resource
                {
                    ResourceType = ConfigResourceType.Topic,
                    ResourceName = topic,
                    Configs = configs.Select(kv => new AlterConfigsRequest.Config { Name = kv.Key, Value = kv.Value }).ToList(),
                },
            ],
        };
        var connection = await ControllerAsync(cancellationToken).ConfigureAwait(false);
        var response = await connection.SendAsync<AlterConfigsRequest, AlterConfigsResponse>(request, cancellationToken).ConfigureAwait(false);
        ThrowIfAnyFailed(response.Responses.Select(r => (r.ResourceName, r.ErrorCode, r.ErrorMessage)), "Alter configs of topic");
    }

    /// <summary>
    /// DescribeLogDirs of every broker (or of <paramref name="brokerIds"/>): each one's log
    /// directories with the size of every partition replica it holds.
    /// </summary>
    public async Task<IReadOnlyList<LogDirDescription>> DescribeLogDirsAsync(IReadOnlyCollection<int>? brokerIds = null, CancellationToken cancellationToken = default)
    {
        var metadata = await _cluster.RefreshMetadataAsync([], cancellationToken: cancellationToken).ConfigureAwait(false);
        var brokers = brokerIds ?? metadata.Brokers.Keys.Order().ToList();
        var dirs = new List<LogDirDescription>();
        foreach (int broker in brokers)
        {
            if (!metadata.Brokers.ContainsKey(broker))
            {
                throw new KafkaException(ErrorCode.BrokerNotAvailable, $"Broker {broker} is not in the cluster's metadata.");
            }

            var connection = await _cluster.GetConnectionAsync(broker, cancellationToken).ConfigureAwait(false);
            var response = await connection.SendAsync<DescribeLogDirsRequest, DescribeLogDirsResponse>(new DescribeLogDirsRequest { Topics = null }, cancellationToken).ConfigureAwait(false);
            KafkaException.ThrowIfError(response.ErrorCode, null, $"Describe log dirs of broker {broker}");
            foreach (var r in response.Results)
            {
                var partitions = r.Topics
                    .SelectMany(t => t.Partitions.Select(p => new LogDirPartition(t.Name, p.PartitionIndex, p.PartitionSize, p.OffsetLag, p.IsFutureKey)))
                    .OrderBy(p => p.Topic, StringComparer.Ordinal).ThenBy(p => p.Partition)
                    .ToList();
                dirs.Add(new LogDirDescription(broker, r.LogDir, r.ErrorCode, r.TotalBytes, r.UsableBytes, partitions));
            }
        }

        return dirs;
    }

    /// <summary>
    /// DescribeProducers: the active idempotent producers of <paramref name="topic"/>'s partitions
    /// (all, or <paramref name="partitions"/>), each asked of the partition's leader.
    /// </summary>
    public async Task<IReadOnlyList<PartitionProducers>> DescribeProducersAsync(string topic, IReadOnlyCollection<int>? partitions = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        var info = await _cluster.GetTopicAsync(topic, cancellationToken: cancellationToken).ConfigureAwait(false);
        var byLeader = new Dictionary<int, List<int>>();
        foreach (int index in partitions ?? info.Partitions.Select(p => p.Partition).ToList())
        {
            var partition = info.Partitions.FirstOrDefault(p => p.Partition == index)
                ?? throw new KafkaException(ErrorCode.UnknownTopicOrPartition, $"Partition {topic}-{index} does not exist.");
            if (partition.Leader < 0)
            {
                throw new KafkaException(ErrorCode.LeaderNotAvailable, $"Partition {topic}-{index} has no leader.");
            }

            (byLeader.TryGetValue(partition.Leader, out var list) ? list : byLeader[partition.Leader] = []).Add(index);
        }

        var results = new List<PartitionProducers>();
        foreach (var (leader, indexes) in byLeader)
        {
            var request = new DescribeProducersRequest { Topics = [new DescribeProducersRequest.Topic { Name = topic, PartitionIndexes = indexes }] };
            KafkaConnection connection = await _cluster.GetConnectionAsync(leader, cancellationToken).ConfigureAwait(false);
            var response = await connection.SendAsync<DescribeProducersRequest, DescribeProducersResponse>(request, cancellationToken).ConfigureAwait(false);
            foreach (var t in response.Topics)
            {
                foreach (var p in t.Partitions)
                {
                    KafkaException.ThrowIfError(p.ErrorCode, p.ErrorMessage, $"Describe producers of {t.Name}-{p.PartitionIndex}");
                    results.Add(new PartitionProducers(
                        t.Name,
                        p.PartitionIndex,
                        p.ActiveProducers.Select(a => new ActiveProducer(a.ProducerId, a.ProducerEpoch, a.LastSequence, a.LastTimestamp, a.CoordinatorEpoch, a.CurrentTxnStartOffset)).ToList()));
                }
            }
        }

        return results.OrderBy(r => r.Partition).ToList();
    }
}
