using System.Globalization;
using OrleansMQ.Silo.Kafka.Network;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Producers;
using OrleansMQ.Silo.Topics;
using OrleansMQ.Storage.Engine;

namespace OrleansMQ.Silo.Kafka.Handlers;

/// <summary>Topic administration and producer ids: each change goes through the topic's grain.</summary>
internal sealed class AdminHandlers
{
    private readonly TopicService _topics;
    private readonly StorageEngine _storage;
    private readonly ProducerIdAllocator _producerIds;
    private readonly BrokerIdentity _identity;
    private readonly BrokerSettings _settings;

    public AdminHandlers(TopicService topics, StorageEngine storage, ProducerIdAllocator producerIds, BrokerIdentity identity, BrokerSettings settings)
    {
        _topics = topics;
        _storage = storage;
        _producerIds = producerIds;
        _identity = identity;
        _settings = settings;
    }

    public async ValueTask CreateTopicsAsync(RequestHeader header, CreateTopicsRequest request, KafkaResponse response, CancellationToken cancellationToken)
    {
        var body = new CreateTopicsResponse();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in request.Topics)
        {
            var result = new CreateTopicsResponse.Topic { Name = t.Name, NumPartitions = -1, ReplicationFactor = -1 };
            body.Topics.Add(result);
            if (!seen.Add(t.Name))
            {
                result.ErrorCode = ErrorCode.InvalidRequest;
                result.ErrorMessage = $"Topic '{t.Name}' appears more than once in the request.";
                continue;
            }

            int partitions = t.NumPartitions;
            short replication = t.ReplicationFactor;
            int[][]? assignments = null;
            if (t.Assignments.Count > 0)
            {
                // Manual assignment: partition i's replicas in the request's order (Kafka requires
                // the partition indexes 0..n-1 and no count or factor beside them).
                var ordered = t.Assignments.OrderBy(a => a.PartitionIndex).ToList();
                if (partitions != -1 || replication != -1 || ordered.Where((a, i) => a.PartitionIndex != i).Any())
                {
                    result.ErrorCode = ErrorCode.InvalidReplicaAssignment;
                    result.ErrorMessage = "Replica assignments must cover partitions 0..n-1 and exclude partition count and replication factor.";
                    continue;
                }

                assignments = [.. ordered.Select(a => a.BrokerIds.ToArray())];
                partitions = assignments.Length;
                replication = (short)assignments[0].Length;
            }

            var configs = t.Configs.Select(c => new KeyValuePair<string, string?>(c.Name, c.Value)).ToList();
            var outcome = await _topics.CreateAsync(t.Name, partitions, replication, configs, request.ValidateOnly, assignments, cancellationToken).ConfigureAwait(false);
            result.ErrorCode = KafkaErrors.ToErrorCode(outcome.Error);
            result.ErrorMessage = outcome.Message;
            if (outcome.IsOk)
            {
                result.NumPartitions = partitions == -1 ? _topics.DefaultPartitions : partitions;
                result.ReplicationFactor = _topics.Catalog.TryGet(t.Name, out var placed) && placed.Replicas.Length > 0
                    ? (short)placed.Replicas[0].State.Replicas.Length
                    : replication == -1 ? (short)Math.Min(3, _topics.LiveBrokers.Length) : replication;
                if (_topics.Catalog.TryGet(t.Name, out var created) || request.ValidateOnly)
                {
                    var config = created?.Config ?? TopicConfig.TryCreate(configs, out _) ?? TopicConfig.Empty;
                    result.Configs = TopicConfig.Defaults.Keys.Order(StringComparer.Ordinal).Select(name => new CreateTopicsResponse.Config
                    {
                        Name = name,
                        Value = config.Get(name),
                        ReadOnly = false,
                        ConfigSource = config.Values.ContainsKey(name) ? ConfigSource.DynamicTopicConfig : ConfigSource.DefaultConfig,
                        IsSensitive = false,
                    }).ToList();
                }
            }
        }

        await KafkaRequestProcessor.Respond(response, header, body).ConfigureAwait(false);
    }

    public async ValueTask DeleteTopicsAsync(RequestHeader header, DeleteTopicsRequest request, KafkaResponse response, CancellationToken cancellationToken)
    {
        var body = new DeleteTopicsResponse();
        foreach (var name in request.TopicNames)
        {
            var outcome = TopicNames.Validate(name) is null
                ? await _topics.DeleteAsync(name, cancellationToken).ConfigureAwait(false)
                : new Topics.TopicResult(Topics.TopicError.UnknownTopic);
            body.Responses.Add(new DeleteTopicsResponse.Result { Name = name, ErrorCode = KafkaErrors.ToErrorCode(outcome.Error) });
        }

        await KafkaRequestProcessor.Respond(response, header, body).ConfigureAwait(false);
    }

    public async ValueTask CreatePartitionsAsync(RequestHeader header, CreatePartitionsRequest request, KafkaResponse response, CancellationToken cancellationToken)
    {
        var body = new CreatePartitionsResponse();
        foreach (var t in request.Topics)
        {
            var result = new CreatePartitionsResponse.Result { Name = t.Name };
            body.Results.Add(result);
            int[][]? assignments = t.Assignments is { Count: > 0 } given ? [.. given.Select(a => a.BrokerIds.ToArray())] : null;
            var outcome = TopicNames.Validate(t.Name) is null
                ? await _topics.AddPartitionsAsync(t.Name, t.Count, request.ValidateOnly, assignments, cancellationToken).ConfigureAwait(false)
                : new Topics.TopicResult(Topics.TopicError.UnknownTopic, $"Topic '{t.Name}' does not exist.");
            result.ErrorCode = KafkaErrors.ToErrorCode(outcome.Error);
            result.ErrorMessage = outcome.Message;
        }

        await KafkaRequestProcessor.Respond(response, header, body).ConfigureAwait(false);
    }

    public DescribeConfigsResponse DescribeConfigs(DescribeConfigsRequest request)
    {
        var body = new DescribeConfigsResponse();
        foreach (var resource in request.Resources)
        {
            var result = new DescribeConfigsResponse.Result { ResourceType = resource.ResourceType, ResourceName = resource.ResourceName };
            body.Results.Add(result);
            switch (resource.ResourceType)
            {
                case ConfigResourceType.Topic when _topics.Catalog.TryGet(resource.ResourceName, out var topic):
                    foreach (var name in Requested(resource, TopicConfig.Defaults.Keys))
                    {
                        if (!TopicConfig.Defaults.ContainsKey(name))
                        {
                            continue;
                        }

                        bool set = topic.Config.Values.ContainsKey(name);
                        var source = set ? ConfigSource.DynamicTopicConfig : ConfigSource.DefaultConfig;
                        var entry = Entry(name, topic.Config.Get(name), source, readOnly: false, request.IncludeSynonyms);
                        entry.IsDefault = !set;
                        result.Configs.Add(entry);
                    }

                    break;
                case ConfigResourceType.Topic:
                    result.ErrorCode = ErrorCode.UnknownTopicOrPartition;
                    result.ErrorMessage = $"Topic '{resource.ResourceName}' does not exist.";
                    break;
                case ConfigResourceType.Broker when resource.ResourceName.Length == 0 || resource.ResourceName == _identity.NodeId.ToString(CultureInfo.InvariantCulture):
                    var brokerConfigs = BrokerConfigs();
                    foreach (var name in Requested(resource, brokerConfigs.Keys))
                    {
                        if (brokerConfigs.TryGetValue(name, out var value))
                        {
                            result.Configs.Add(Entry(name, value, ConfigSource.StaticBrokerConfig, readOnly: true, request.IncludeSynonyms));
                        }
                    }

                    break;
                default:
                    result.ErrorCode = ErrorCode.InvalidRequest;
                    result.ErrorMessage = $"Cannot describe {resource.ResourceType} '{resource.ResourceName}'.";
                    break;
            }
        }

        return body;
    }

    public async ValueTask InitProducerIdAsync(RequestHeader header, InitProducerIdRequest request, KafkaResponse response, CancellationToken cancellationToken)
    {
        var body = new InitProducerIdResponse { ProducerId = -1, ProducerEpoch = -1 };
        if (request.TransactionalId is not null)
        {
            body.ErrorCode = ErrorCode.TransactionalIdAuthorizationFailed; // transactions are not supported
        }
        else
        {
            body.ProducerId = await _producerIds.NextAsync(cancellationToken).ConfigureAwait(false);
            body.ProducerEpoch = 0;
        }

        await KafkaRequestProcessor.Respond(response, header, body).ConfigureAwait(false);
    }

    private Dictionary<string, string> BrokerConfigs() => new(StringComparer.Ordinal)
    {
        ["broker.id"] = _identity.NodeId.ToString(CultureInfo.InvariantCulture),
        ["auto.create.topics.enable"] = _topics.AutoCreate ? "true" : "false",
        ["num.partitions"] = _topics.DefaultPartitions.ToString(CultureInfo.InvariantCulture),
        ["default.replication.factor"] = "1",
        ["message.max.bytes"] = _storage.Options.MaxBatchBytes.ToString(CultureInfo.InvariantCulture),
        ["socket.request.max.bytes"] = _settings.MaxRequestBytes.ToString(CultureInfo.InvariantCulture),
        ["log.retention.ms"] = ((long)(_storage.Options.RetentionTime?.TotalMilliseconds ?? -1)).ToString(CultureInfo.InvariantCulture),
        ["log.segment.bytes"] = _storage.Options.SegmentSize.ToString(CultureInfo.InvariantCulture),
    };

    private static IEnumerable<string> Requested(DescribeConfigsRequest.Resource resource, IEnumerable<string> all)
        => resource.ConfigurationKeys is { Count: > 0 } keys ? keys : all.Order(StringComparer.Ordinal);

    private static DescribeConfigsResponse.Config Entry(string name, string value, ConfigSource source, bool readOnly, bool synonyms) => new()
    {
        Name = name,
        Value = value,
        ReadOnly = readOnly,
        IsDefault = source == ConfigSource.DefaultConfig,
        ConfigSource = source,
        IsSensitive = false,
        Synonyms = synonyms ? [new DescribeConfigsResponse.Synonym { Name = name, Value = value, Source = source }] : [],
        ConfigType = TypeOf(name),
    };

    private static ConfigType TypeOf(string name) => name switch
    {
        "max.message.bytes" or "min.insync.replicas" or "index.interval.bytes" or "segment.bytes" or "segment.index.bytes" or "num.partitions" or "broker.id" or "message.max.bytes" or "socket.request.max.bytes" => ConfigType.Int,
        "preallocate" or "unclean.leader.election.enable" or "message.downconversion.enable" or "auto.create.topics.enable" or TopicConfig.IndexKeysName => ConfigType.Boolean,
        "min.cleanable.dirty.ratio" => ConfigType.Double,
        "cleanup.policy" => ConfigType.List,
        "compression.type" or "message.timestamp.type" => ConfigType.String,
        _ => ConfigType.Long,
    };
}
