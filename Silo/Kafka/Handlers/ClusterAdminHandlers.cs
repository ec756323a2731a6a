using System.Globalization;
using Microsoft.Extensions.Logging;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Kafka.Network;
using OrleansMQ.Silo.Producers;
using OrleansMQ.Silo.Topics;
using OrleansMQ.Storage.Engine;

namespace OrleansMQ.Silo.Kafka.Handlers;

/// <summary>
/// The cluster admin APIs that need no replication state: AlterConfigs and IncrementalAlterConfigs
/// (topic configs, through the topic's grain like the other topic admin operations),
/// DescribeLogDirs (this silo's data directory) and DescribeProducers (this silo's idempotent
/// producer state). Broker configs are static (appsettings, environment, flags): altering them is
/// refused with INVALID_REQUEST and a message saying where they are set.
/// </summary>
internal sealed partial class ClusterAdminHandlers
{
    /// <summary>Topic configs whose value is a comma-separated list, the only ones APPEND and SUBTRACT apply to.</summary>
    private static readonly HashSet<string> ListConfigs = new(StringComparer.Ordinal) { "cleanup.policy" };

    private readonly TopicService _topics;
    private readonly StorageEngine _storage;
    private readonly ProducerStates _producerStates;
    private readonly BrokerIdentity _identity;
    private readonly ILogger _logger;

    public ClusterAdminHandlers(TopicService topics, StorageEngine storage, ProducerStates producerStates, BrokerIdentity identity, ILogger<ClusterAdminHandlers> logger)
    {
        _topics = topics;
        _storage = storage;
        _producerStates = producerStates;
        _identity = identity;
        _logger = logger;
    }

    /// <summary>AlterConfigs: each topic's dynamic configs become exactly the given set (Kafka's non-incremental semantics).</summary>
    public async ValueTask AlterConfigsAsync(RequestHeader header, AlterConfigsRequest request, KafkaResponse response, CancellationToken cancellationToken)
    {
        var body = new AlterConfigsResponse();
        var duplicates = DuplicateResources(request.Resources.Select(r => (r.ResourceType, r.ResourceName)));
        foreach (var resource in request.Resources)
        {
            var result = new AlterConfigsResponse.Result { ResourceType = resource.ResourceType, ResourceName = resource.ResourceName };
            body.Responses.Add(result);
            (result.ErrorCode, result.ErrorMessage) = await AlterAsync(
                resource.ResourceType,
                resource.ResourceName,
                duplicates,
                resource.Configs.Select(c => c.Name),
                () => (resource.Configs.Select(c => new KeyValuePair<string, string?>(c.Name, c.Value)).ToList(), ((ErrorCode, string)?)null),
                replaceAll: true,
                request.ValidateOnly,
                cancellationToken).ConfigureAwait(false);
        }

        await KafkaRequestProcessor.Respond(response, header, body).ConfigureAwait(false);
    }

    /// <summary>IncrementalAlterConfigs: SET and DELETE single topic configs; APPEND and SUBTRACT on list configs.</summary>
    public async ValueTask IncrementalAlterConfigsAsync(RequestHeader header, IncrementalAlterConfigsRequest request, KafkaResponse response, CancellationToken cancellationToken)
    {
        var body = new IncrementalAlterConfigsResponse();
        var duplicates = DuplicateResources(request.Resources.Select(r => (r.ResourceType, r.ResourceName)));
        foreach (var resource in request.Resources)
        {
            var result = new IncrementalAlterConfigsResponse.Result { ResourceType = resource.ResourceType, ResourceName = resource.ResourceName };
            body.Responses.Add(result);
            (result.ErrorCode, result.ErrorMessage) = await AlterAsync(
                resource.ResourceType,
                resource.ResourceName,
                duplicates,
                resource.Configs.Select(c => c.Name),
                () => IncrementalChanges(resource),
                replaceAll: false,
                request.ValidateOnly,
                cancellationToken).ConfigureAwait(false);
        }

        await KafkaRequestProcessor.Respond(response, header, body).ConfigureAwait(false);
    }

    /// <summary>DescribeLogDirs: this silo's data directory is its one log dir; per partition the bytes of its batches.</summary>
    public DescribeLogDirsResponse DescribeLogDirs(DescribeLogDirsRequest request)
    {
        var dir = new DescribeLogDirsResponse.Result
        {
            LogDir = Path.GetFullPath(_storage.Options.DataDirectory),
            TotalBytes = _storage.DiskTotalBytes > 0 ? _storage.DiskTotalBytes : -1,
            UsableBytes = _storage.DiskAvailableBytes >= 0 ? _storage.DiskAvailableBytes : -1,
        };

        var wanted = _topics.Catalog.Select(request.Topics, t => t.Name, t => t.Partitions);

        foreach (var (topic, partitions) in wanted)
        {
            var entry = new DescribeLogDirsResponse.Topic { Name = topic.Name };
            foreach (int index in partitions ?? Enumerable.Range(0, topic.Partitions.Length))
            {
                // A partition this silo does not hold is left out, as Kafka leaves out the
                // partitions a log dir does not have.
                if (index < 0 || index >= topic.Partitions.Length || topic.Partitions[index] is not { IsDeleted: false } log)
                {
                    continue;
                }

                // Every silo keeps a storage partition for every partition in its catalog; only the
                // ones it is a replica of (leader or follower) are its data.
                if (index >= topic.Replicas.Length || topic.Replicas[index].Role == ReplicaRole.None)
                {
                    continue;
                }

                entry.Partitions.Add(new DescribeLogDirsResponse.Partition
                {
                    PartitionIndex = index,
                    PartitionSize = log.SizeInBytes(),
                    OffsetLag = 0, // this silo's replica is the log itself, never a future replica behind it
                    IsFutureKey = false,
                });
            }

            if (entry.Partitions.Count > 0 || request.Topics is not null)
            {
                dir.Topics.Add(entry);
            }
        }

        return new DescribeLogDirsResponse { ErrorCode = ErrorCode.None, Results = [dir] };
    }

    /// <summary>DescribeProducers: the idempotent producers with state in each asked partition on this silo.</summary>
    public async ValueTask DescribeProducersAsync(RequestHeader header, DescribeProducersRequest request, KafkaResponse response, CancellationToken cancellationToken)
    {
        var body = new DescribeProducersResponse();
        foreach (var t in request.Topics)
        {
            var topicResult = new DescribeProducersResponse.Topic { Name = t.Name };
            body.Topics.Add(topicResult);
            _topics.Catalog.TryGet(t.Name, out var topic);
            foreach (int index in t.PartitionIndexes)
            {
                var partition = new DescribeProducersResponse.Partition { PartitionIndex = index };
                topicResult.Partitions.Add(partition);
                if (topic is null || index < 0 || index >= topic.Partitions.Length)
                {
                    partition.ErrorCode = ErrorCode.UnknownTopicOrPartition;
                    partition.ErrorMessage = $"Partition {t.Name}-{index} does not exist.";
                    continue;
                }

                // Only the leader's producer state is current (a follower's is rebuilt when it leads).
                if (index >= topic.Replicas.Length || !topic.Replicas[index].IsLeader)
                {
                    partition.ErrorCode = ErrorCode.NotLeaderOrFollower;
                    partition.ErrorMessage = $"Broker {_identity.NodeId} is not the leader of {t.Name}-{index}.";
                    continue;
                }

                var log = topic.Partitions[index];
                var table = _producerStates.For(log);

                // Under the partition's gate, as the produce path reads it: the state is loaded
                // from the log on first use and never read while a batch is being recorded.
                await table.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                List<ProducerSnapshot> producers;
                try
                {
                    table.LoadFrom(_storage, log);
                    producers = table.Snapshot();
                }
                finally
                {
                    table.Gate.Release();
                }

                foreach (var p in producers.OrderBy(p => p.ProducerId))
                {
                    partition.ActiveProducers.Add(new DescribeProducersResponse.Producer
                    {
                        ProducerId = p.ProducerId,
                        ProducerEpoch = p.Epoch,
                        LastSequence = p.LastSequence,
                        LastTimestamp = p.LastTimestamp,
                        CoordinatorEpoch = -1, // no transactions: no coordinator
                        CurrentTxnStartOffset = -1,
                    });
                }
            }
        }

        await KafkaRequestProcessor.Respond(response, header, body).ConfigureAwait(false);
    }

    /// <summary>
    /// One resource of either alter API. Topic changes go to the topic's grain, which validates them
    /// against the known topic configs and publishes the new set to every silo.
    /// </summary>
    private async ValueTask<(ErrorCode Error, string? Message)> AlterAsync(
        ConfigResourceType type,
        string name,
        HashSet<(ConfigResourceType, string)> duplicates,
        IEnumerable<string> configNames,
        Func<(List<KeyValuePair<string, string?>>? Changes, (ErrorCode Code, string Message)? Error)> changes,
        bool replaceAll,
        bool validateOnly,
        CancellationToken cancellationToken)
    {
        if (duplicates.Contains((type, name)))
        {
            return Refused(type, name, ErrorCode.InvalidRequest, $"{type} '{name}' appears more than once in the request.");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string config in configNames)
        {
            if (!seen.Add(config))
            {
                return Refused(type, name, ErrorCode.InvalidRequest, $"Config '{config}' appears more than once for {type} '{name}'.");
            }
        }

        switch (type)
        {
            case ConfigResourceType.Topic:
                var (list, error) = changes();
                if (list is null)
                {
                    return Refused(type, name, error!.Value.Code, error.Value.Message);
                }

                var outcome = await _topics.AlterConfigsAsync(name, list, replaceAll, validateOnly, cancellationToken).ConfigureAwait(false);
                if (!outcome.IsOk)
                {
                    return Refused(type, name, KafkaErrors.ToErrorCode(outcome.Error), outcome.Message ?? outcome.Error.ToString());
                }

                if (!validateOnly && _logger.IsEnabled(LogLevel.Information))
                {
                    string described = string.Join(", ", list.Select(c => c.Value is null ? c.Key + " (default)" : c.Key + "=" + c.Value));
                    LogAltered(_logger, name, replaceAll ? "replaced" : "incremental", described);
                }

                return (ErrorCode.None, null);
            case ConfigResourceType.Broker or ConfigResourceType.BrokerLogger:
                string broker = _identity.NodeId.ToString(CultureInfo.InvariantCulture);
                return Refused(type, name, ErrorCode.InvalidRequest,
                    $"Broker {(name.Length == 0 ? broker : name)} has no dynamic configs: set broker configs in appsettings.json, OrleansMQ__Broker__* environment variables or command-line flags, and restart the silo.");
            default:
                return Refused(type, name, ErrorCode.InvalidRequest, $"Cannot alter configs of resource type {type}.");
        }
    }

    private (ErrorCode, string) Refused(ConfigResourceType type, string name, ErrorCode code, string message)
    {
        LogRefused(_logger, type, name, code, message);
        return (code, message);
    }

    /// <summary>
    /// The changes an IncrementalAlterConfigs resource asks for, as name → new value (null: back to
    /// the default). APPEND and SUBTRACT read the current value from this silo's catalog: two such
    /// requests for one config racing from two admin clients may lose one change, as in Kafka,
    /// where the last write of the whole value wins too.
    /// </summary>
    private (List<KeyValuePair<string, string?>>? Changes, (ErrorCode Code, string Message)? Error) IncrementalChanges(IncrementalAlterConfigsRequest.Resource resource)
    {
        _topics.Catalog.TryGet(resource.ResourceName, out var topic);
        var list = new List<KeyValuePair<string, string?>>(resource.Configs.Count);
        foreach (var config in resource.Configs)
        {
            switch (config.ConfigOperation)
            {
                case AlterConfigOperation.Set when config.Value is not null:
                    list.Add(new(config.Name, config.Value));
                    break;
                case AlterConfigOperation.Delete:
                    list.Add(new(config.Name, null));
                    break;
                case AlterConfigOperation.Append or AlterConfigOperation.Subtract when config.Value is not null:
                    if (!TopicConfig.Defaults.TryGetValue(config.Name, out string? defaultValue))
                    {
                        return (null, (ErrorCode.InvalidConfig, $"Unknown topic config name: {config.Name}"));
                    }

                    if (!ListConfigs.Contains(config.Name))
                    {
                        return (null, (ErrorCode.InvalidConfig, $"Config {config.Name} is not a list: {config.ConfigOperation} applies to list configs only."));
                    }

                    string current = topic?.Config.Get(config.Name) ?? defaultValue;
                    var items = current.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
                    foreach (string item in config.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        if (config.ConfigOperation == AlterConfigOperation.Append)
                        {
                            if (!items.Contains(item, StringComparer.Ordinal))
                            {
                                items.Add(item);
                            }
                        }
                        else
                        {
                            items.RemoveAll(i => i == item);
                        }
                    }

                    list.Add(new(config.Name, string.Join(',', items)));
                    break;
                case AlterConfigOperation.Set or AlterConfigOperation.Append or AlterConfigOperation.Subtract:
                    return (null, (ErrorCode.InvalidRequest, $"Config {config.Name}: {config.ConfigOperation} needs a value."));
                default:
                    return (null, (ErrorCode.InvalidRequest, $"Config {config.Name}: unknown operation {(sbyte)config.ConfigOperation}."));
            }
        }

        return (list, null);
    }

    /// <summary>Resources named more than once in one request: Kafka refuses each of them.</summary>
    private static HashSet<(ConfigResourceType, string)> DuplicateResources(IEnumerable<(ConfigResourceType, string)> resources)
    {
        var seen = new HashSet<(ConfigResourceType, string)>();
        var duplicates = new HashSet<(ConfigResourceType, string)>();
        foreach (var resource in resources)
        {
            if (!seen.Add(resource))
            {
                duplicates.Add(resource);
            }
        }

        return duplicates;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Topic {Topic} configs altered ({Mode}): {Changes}")]
    private static partial void LogAltered(ILogger logger, string topic, string mode, string changes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Config change refused for {Type} '{Name}': {Error} {Reason}")]
    private static partial void LogRefused(ILogger logger, ConfigResourceType type, string name, ErrorCode error, string reason);
}
