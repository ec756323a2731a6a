using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using OrleansMQ.Silo.Groups;
using OrleansMQ.Silo.Topics;
using OrleansMQ.Silo.Http.OpenApi;
using static OrleansMQ.Silo.Http.RestV3.RestV3Resources;

namespace OrleansMQ.Silo.Http.RestV3;

/// <summary>
/// Confluent REST Proxy v3 (<c>application/json</c>): the cluster, brokers, topics (list, create,
/// describe, delete), partitions, topic configs, records (<see cref="RestV3Produce"/>) and
/// consumer groups with lag. Resources carry REST Proxy's <c>kind</c>, <c>metadata.self</c> and
/// <c>related</c> links so its clients and scripts read them unchanged.
/// </summary>
internal sealed class RestV3Endpoints
{
    internal const string Tag = "REST Proxy v3";
    private const string Json = "application/json";

    private readonly RestV3Resources _v3;
    private readonly RestV3Produce _produce;
    private readonly TopicService _topics;
    private readonly TopicCatalog _catalog;
    private readonly GroupService _groups;
    private readonly HttpSettings _settings;

    public RestV3Endpoints(RestV3Resources v3, RestV3Produce produce, TopicService topics, TopicCatalog catalog, GroupService groups, HttpSettings settings)
    {
        _v3 = v3;
        _produce = produce;
        _topics = topics;
        _catalog = catalog;
        _groups = groups;
        _settings = settings;
    }

    private string ClusterId => _v3.ClusterId;

    public void Map(IEndpointRouteBuilder app)
    {
        var v3 = app.MapGroup(Root).WithTags(Tag);
        // The list itself is mapped outside the group: a group's "" route would carry a trailing slash.
        app.MapGet(Root, (HttpContext c) => Ok(new ListV3<ClusterV3>("KafkaClusterList", ListMetadata(c, Root), [Cluster(c)]), RestV3JsonContext.Default.ListV3ClusterV3))
            .WithTags(Tag).WithName("V3ListClusters").WithSummary("REST Proxy v3: the cluster (one).")
            .Produces<ListV3<ClusterV3>>(200, Json);
        v3.MapGet("/{cluster_id}", (HttpContext c, string cluster_id) => _v3.Cluster(cluster_id) ?? Ok(Cluster(c), RestV3JsonContext.Default.ClusterV3))
            .WithName("V3GetCluster").WithSummary("REST Proxy v3: KafkaCluster.")
            .Produces<ClusterV3>(200, Json).ProducesProblem(404);
        v3.MapGet("/{cluster_id}/brokers", (HttpContext c, string cluster_id) => _v3.Cluster(cluster_id) ?? Ok(new ListV3<BrokerV3>("KafkaBrokerList", ListMetadata(c, $"{Root}/{cluster_id}/brokers"), [Broker(c)]), RestV3JsonContext.Default.ListV3BrokerV3))
            .WithName("V3ListBrokers").WithSummary("REST Proxy v3: KafkaBrokerList (this silo).")
            .Produces<ListV3<BrokerV3>>(200, Json).ProducesProblem(404);

        v3.MapGet("/{cluster_id}/topics", ListTopics)
            .WithName("V3ListTopics").WithSummary("REST Proxy v3: topics.")
            .Produces<ListV3<TopicV3>>(200, Json).ProducesProblem(404);
        v3.MapPost("/{cluster_id}/topics", CreateTopicAsync)
            .WithName("V3CreateTopic").WithSummary("REST Proxy v3: create a topic (topic_name, partitions_count, replication_factor, configs [{name,value}], validate_only).")
            .DocumentBody<CreateTopicV3>(Json)
            .Produces<TopicV3>(201, Json).ProducesProblem(400).ProducesProblem(404).ProducesProblem(503);
        v3.MapGet("/{cluster_id}/topics/{topic_name}", GetTopicAsync)
            .WithName("V3GetTopic").WithSummary("REST Proxy v3: KafkaTopic.")
            .Produces<TopicV3>(200, Json).ProducesProblem(404);
        v3.MapDelete("/{cluster_id}/topics/{topic_name}", DeleteTopicAsync)
            .WithName("V3DeleteTopic").WithSummary("REST Proxy v3: delete a topic (internal topics refused).")
            .Produces(204).ProducesProblem(403).ProducesProblem(404).ProducesProblem(503);
        v3.MapGet("/{cluster_id}/topics/{topic_name}/partitions", ListPartitionsAsync)
            .WithName("V3ListPartitions").WithSummary("REST Proxy v3: KafkaPartitionList.")
            .Produces<ListV3<PartitionV3>>(200, Json).ProducesProblem(404);
        v3.MapGet("/{cluster_id}/topics/{topic_name}/partitions/{partition_id:int}", GetPartitionAsync)
            .WithName("V3GetPartition").WithSummary("REST Proxy v3: KafkaPartition (with log start and end offsets).")
            .Produces<PartitionV3>(200, Json).ProducesProblem(404);
        v3.MapGet("/{cluster_id}/topics/{topic_name}/configs", TopicConfigsAsync)
            .WithName("V3TopicConfigs").WithSummary("REST Proxy v3: KafkaTopicConfigList (every config, effective value).")
            .Produces<ListV3<TopicConfigV3>>(200, Json).ProducesProblem(404);
        v3.MapPost("/{cluster_id}/topics/{topic_name}/records", _produce.ProduceAsync)
            .WithName("V3Produce").WithSummary("REST Proxy v3: produce one record, or a stream of concatenated JSON records answered with one delivery report each.")
            .DocumentBody<ProduceRecordV3>(Json)
            .Produces<DeliveryReportV3>(200, Json).ProducesProblem(400).ProducesProblem(403).ProducesProblem(404).ProducesProblem(413).ProducesProblem(415);

        v3.MapGet("/{cluster_id}/consumer-groups", ListGroups)
            .WithName("V3ListGroups").WithSummary("REST Proxy v3: KafkaConsumerGroupList.")
            .Produces<ListV3<ConsumerGroupV3>>(200, Json).ProducesProblem(404).ProducesProblem(503);
        v3.MapGet("/{cluster_id}/consumer-groups/{consumer_group_id}", GetGroupAsync)
            .WithName("V3GetGroup").WithSummary("REST Proxy v3: KafkaConsumerGroup.")
            .Produces<ConsumerGroupV3>(200, Json).ProducesProblem(404).ProducesProblem(503);
        v3.MapGet("/{cluster_id}/consumer-groups/{consumer_group_id}/lags", GroupLagsAsync)
            .WithName("V3GroupLags").WithSummary("REST Proxy v3: KafkaConsumerLagList (per partition).")
            .Produces<ListV3<ConsumerLagV3>>(200, Json).ProducesProblem(404).ProducesProblem(503);
        v3.MapGet("/{cluster_id}/consumer-groups/{consumer_group_id}/lag-summary", GroupLagSummaryAsync)
            .WithName("V3GroupLagSummary").WithSummary("REST Proxy v3: KafkaConsumerGroupLagSummary.")
            .Produces<ConsumerGroupLagSummaryV3>(200, Json).ProducesProblem(404).ProducesProblem(503);
    }

    private static IResult Ok<T>(T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, int status = 200) =>
        Results.Json(value, type, Json, status);

    // ---- resources ----

    private ClusterV3 Cluster(HttpContext c)
    {
        string self = $"{Root}/{ClusterId}";
        return new ClusterV3(
            _v3.ResourceMetadata(c, self, ""),
            ClusterId,
            Related(c, $"{self}/brokers/{_v3.Identity.NodeId}"),
            Related(c, self + "/acls"),
            Related(c, self + "/brokers"),
            Related(c, self + "/broker-configs"),
            Related(c, self + "/consumer-groups"),
            Related(c, self + "/topics"),
            Related(c, self + "/topics/-/partitions/-/reassignment"));
    }

    private BrokerV3 Broker(HttpContext c)
    {
        var identity = _v3.Identity;
        string self = $"{Root}/{ClusterId}/brokers/{identity.NodeId}";
        return new BrokerV3(
            _v3.ResourceMetadata(c, self, $"/broker={identity.NodeId}"),
            ClusterId,
            identity.NodeId,
            identity.AdvertisedHost,
            identity.AdvertisedPort,
            Rack: null,
            Related(c, self + "/configs"),
            Related(c, self + "/partition-replicas"));
    }

    private PartitionV3 Partition(HttpContext c, TopicMetadata topic, int partition)
    {
        string self = $"{Root}/{ClusterId}/topics/{topic.Name}/partitions/{partition}";
        return new PartitionV3(
            _v3.ResourceMetadata(c, self, $"/topic={topic.Name}/partition={partition}"),
            ClusterId,
            topic.Name,
            partition,
            Related(c, $"{self}/replicas/{_v3.Identity.NodeId}"),
            Related(c, self + "/replicas"),
            Related(c, self + "/reassignment"),
            topic.Partitions[partition].LogStartOffset,
            topic.Partitions[partition].HighWatermark);
    }

    // ---- topics ----

    private IResult ListTopics(HttpContext c, string cluster_id)
    {
        if (_v3.Cluster(cluster_id) is { } error)
        {
            return error;
        }

        var data = _catalog.All.Select(t => _v3.Topic(c, t)).ToList();
        return Ok(new ListV3<TopicV3>("KafkaTopicList", ListMetadata(c, $"{Root}/{cluster_id}/topics"), data), RestV3JsonContext.Default.ListV3TopicV3);
    }

    private async Task<IResult> CreateTopicAsync(HttpContext c, string cluster_id)
    {
        if (_v3.Cluster(cluster_id) is { } error)
        {
            return error;
        }

        var (body, bodyError) = await ReadBodyAsync(c).ConfigureAwait(false);
        if (bodyError is not null)
        {
            return bodyError;
        }

        // Read by hand, not bound to CreateTopicV3: REST Proxy takes a config value of any JSON type.
        var root = body!.Value;
        if (!root.TryGetProperty("topic_name", out var nameElement) || nameElement.ValueKind != JsonValueKind.String)
        {
            return Problem(400, "Bad Request", "topic_name (a string) is required.");
        }

        int partitions = -1;
        short replication = -1;
        if (root.TryGetProperty("partitions_count", out var pc) && pc.ValueKind != JsonValueKind.Null && !pc.TryGetInt32(out partitions))
        {
            return Problem(400, "Bad Request", "partitions_count must be an integer.");
        }

        if (root.TryGetProperty("replication_factor", out var rf) && rf.ValueKind != JsonValueKind.Null && !rf.TryGetInt16(out replication))
        {
            return Problem(400, "Bad Request", "replication_factor must be an integer.");
        }

        var configs = new List<KeyValuePair<string, string?>>();
        if (root.TryGetProperty("configs", out var cfg) && cfg.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in cfg.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("name", out var n) || n.ValueKind != JsonValueKind.String)
                {
                    return Problem(400, "Bad Request", "each configs entry needs a name.");
                }

                string? value = item.TryGetProperty("value", out var v) && v.ValueKind != JsonValueKind.Null ? (v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText()) : null;
                configs.Add(new(n.GetString()!, value));
            }
        }

        string name = nameElement.GetString()!;
        bool validateOnly = root.TryGetProperty("validate_only", out var vo) && vo.ValueKind == JsonValueKind.True;
        var result = await _topics.CreateAsync(name, partitions, replication, configs, validateOnly, c.RequestAborted).ConfigureAwait(false);
        if (!result.IsOk)
        {
            // REST Proxy's codes: 40002 topic exists; 400 otherwise, with Kafka's message.
            return result.Error switch
            {
                TopicError.AlreadyExists => Problem(400, "Topic already exists", result.Message ?? $"Topic '{name}' already exists.", 40002),
                TopicError.Unavailable => Problem(503, "Try again", result.Message ?? result.Error.ToString()),
                _ => Problem(400, "Bad Request", result.Message ?? result.Error.ToString()),
            };
        }

        if (validateOnly)
        {
            return Ok(new TopicValidatedV3(ClusterId, name, ValidateOnly: true), RestV3JsonContext.Default.TopicValidatedV3, 201);
        }

        var (meta, _) = await _topics.GetOrAutoCreateAsync(name, allowAutoCreate: false, c.RequestAborted).ConfigureAwait(false);
        return meta is null ? Problem(500, "Internal Server Error", $"Topic '{name}' was created but is not in the catalog.") : Ok(_v3.Topic(c, meta), RestV3JsonContext.Default.TopicV3, 201);
    }

    private async Task<IResult> GetTopicAsync(HttpContext c, string cluster_id, string topic_name)
    {
        var (meta, error) = await _v3.TopicAsync(cluster_id, topic_name, c.RequestAborted).ConfigureAwait(false);
        return error ?? Ok(_v3.Topic(c, meta!), RestV3JsonContext.Default.TopicV3);
    }

    private async Task<IResult> DeleteTopicAsync(HttpContext c, string cluster_id, string topic_name)
    {
        var (meta, error) = await _v3.TopicAsync(cluster_id, topic_name, c.RequestAborted).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        if (meta!.IsInternal)
        {
            return Problem(403, "Forbidden", $"'{topic_name}' is an internal topic.");
        }

        var result = await _topics.DeleteAsync(topic_name, c.RequestAborted).ConfigureAwait(false);
        return result.IsOk ? Results.NoContent() : Problem(result.Error switch { TopicError.UnknownTopic => 404, TopicError.Unavailable => 503, _ => 400 }, "Delete failed", result.Message ?? result.Error.ToString());
    }

    private async Task<IResult> ListPartitionsAsync(HttpContext c, string cluster_id, string topic_name)
    {
        var (meta, error) = await _v3.TopicAsync(cluster_id, topic_name, c.RequestAborted).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        var data = new PartitionV3[meta!.Partitions.Length];
        for (int p = 0; p < data.Length; p++)
        {
            data[p] = Partition(c, meta, p);
        }

        return Ok(new ListV3<PartitionV3>("KafkaPartitionList", ListMetadata(c, $"{Root}/{cluster_id}/topics/{topic_name}/partitions"), data), RestV3JsonContext.Default.ListV3PartitionV3);
    }

    private async Task<IResult> GetPartitionAsync(HttpContext c, string cluster_id, string topic_name, int partition_id)
    {
        var (meta, error) = await _v3.TopicAsync(cluster_id, topic_name, c.RequestAborted).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        return partition_id < 0 || partition_id >= meta!.Partitions.Length
            ? Problem(404, "Partition not found", $"This server does not host partition {partition_id} of topic '{topic_name}'.")
            : Ok(Partition(c, meta, partition_id), RestV3JsonContext.Default.PartitionV3);
    }

    private async Task<IResult> TopicConfigsAsync(HttpContext c, string cluster_id, string topic_name)
    {
        var (meta, error) = await _v3.TopicAsync(cluster_id, topic_name, c.RequestAborted).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        var data = new List<TopicConfigV3>();
        string self = $"{Root}/{cluster_id}/topics/{topic_name}/configs";
        foreach (var (name, _) in TopicConfig.Defaults.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            bool isDefault = !meta!.Config.Values.ContainsKey(name);
            data.Add(new TopicConfigV3(
                _v3.ResourceMetadata(c, $"{self}/{name}", $"/topic={topic_name}/config={name}"),
                ClusterId,
                topic_name,
                name,
                meta.Config.Get(name),
                isDefault,
                IsReadOnly: false,
                IsSensitive: false,
                isDefault ? "DEFAULT_CONFIG" : "DYNAMIC_TOPIC_CONFIG",
                Synonyms: []));
        }

        return Ok(new ListV3<TopicConfigV3>("KafkaTopicConfigList", ListMetadata(c, self), data), RestV3JsonContext.Default.ListV3TopicConfigV3);
    }

    private async Task<(JsonElement? Body, IResult? Error)> ReadBodyAsync(HttpContext c)
    {
        var (document, status, detail) = await GatewayResults.ParseJsonBodyAsync(c, _settings).ConfigureAwait(false);
        if (document is null)
        {
            return (null, Problem(status, status == 413 ? "Payload Too Large" : "Bad Request", detail!));
        }

        using (document)
        {
            return document.RootElement.ValueKind == JsonValueKind.Object
                ? (document.RootElement.Clone(), null)
                : (null, Problem(400, "Bad Request", "The body must be a JSON object."));
        }
    }

    // ---- consumer groups ----

    private IResult? GroupsUnavailable() =>
        _groups.Availability != GroupError.None ? Problem(503, "Group coordinator loading", "The group coordinator is still loading; retry.") : null;

    private ConsumerGroupV3 Group(HttpContext c, string groupId, GroupState state, string protocolType, string protocolName)
    {
        string self = $"{Root}/{ClusterId}/consumer-groups/{groupId}";
        return new ConsumerGroupV3(
            _v3.ResourceMetadata(c, self, $"/consumer-group={groupId}"),
            ClusterId,
            groupId,
            IsSimple: protocolType.Length == 0,
            protocolName,
            GroupStateName(state),
            Related(c, $"{Root}/{ClusterId}/brokers/{_v3.Identity.NodeId}"),
            Related(c, self + "/consumers"),
            Related(c, self + "/lag-summary"));
    }

    /// <summary>REST Proxy writes Kafka's ConsumerGroupState enum names.</summary>
    private static string GroupStateName(GroupState state) => state switch
    {
        GroupState.Empty => "EMPTY",
        GroupState.Stable => "STABLE",
        GroupState.PreparingRebalance => "PREPARING_REBALANCE",
        GroupState.CompletingRebalance => "COMPLETING_REBALANCE",
        GroupState.Dead => "DEAD",
        _ => "UNKNOWN",
    };

    private IResult ListGroups(HttpContext c, string cluster_id)
    {
        if ((_v3.Cluster(cluster_id) ?? GroupsUnavailable()) is { } error)
        {
            return error;
        }

        var data = _groups.List().Select(g => Group(c, g.GroupId, g.State, g.ProtocolType, "")).ToList();
        return Ok(new ListV3<ConsumerGroupV3>("KafkaConsumerGroupList", ListMetadata(c, $"{Root}/{cluster_id}/consumer-groups"), data), RestV3JsonContext.Default.ListV3ConsumerGroupV3);
    }

    private async Task<IResult> GetGroupAsync(HttpContext c, string cluster_id, string consumer_group_id)
    {
        if ((_v3.Cluster(cluster_id) ?? GroupsUnavailable()) is { } error)
        {
            return error;
        }

        var d = await _groups.DescribeAsync(consumer_group_id, c.RequestAborted).ConfigureAwait(false);
        return d.State == GroupState.Dead
            ? Problem(404, "Group not found", $"Consumer group '{consumer_group_id}' not found.")
            : Ok(Group(c, consumer_group_id, d.State, d.ProtocolType, d.ProtocolName), RestV3JsonContext.Default.ConsumerGroupV3);
    }

    private async Task<(GroupLag? Lag, IResult? Error)> LagAsync(string clusterId, string groupId, CancellationToken cancellationToken)
    {
        if ((_v3.Cluster(clusterId) ?? GroupsUnavailable()) is { } error)
        {
            return (null, error);
        }

        var lag = await _groups.DescribeLagAsync(groupId, cancellationToken).ConfigureAwait(false);
        return lag is null ? (null, Problem(404, "Group not found", $"Consumer group '{groupId}' not found.")) : (lag, null);
    }

    private async Task<IResult> GroupLagsAsync(HttpContext c, string cluster_id, string consumer_group_id)
    {
        var (lag, error) = await LagAsync(cluster_id, consumer_group_id, c.RequestAborted).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        string self = $"{Root}/{cluster_id}/consumer-groups/{consumer_group_id}/lags";
        var data = lag!.Partitions.Select(p => new ConsumerLagV3(
            _v3.ResourceMetadata(c, $"{self}/{p.Topic}/partitions/{p.Partition}", $"/consumer-group={consumer_group_id}/lag={p.Topic}/partition={p.Partition}"),
            ClusterId,
            consumer_group_id,
            p.Topic,
            p.Partition,
            p.CommittedOffset,
            p.LogEndOffset,
            p.Lag,
            p.MemberId ?? "",
            p.ClientId ?? "")).ToList();
        return Ok(new ListV3<ConsumerLagV3>("KafkaConsumerLagList", ListMetadata(c, self), data), RestV3JsonContext.Default.ListV3ConsumerLagV3);
    }

    private async Task<IResult> GroupLagSummaryAsync(HttpContext c, string cluster_id, string consumer_group_id)
    {
        var (lag, error) = await LagAsync(cluster_id, consumer_group_id, c.RequestAborted).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        var max = lag!.Partitions.Where(p => p.Lag is not null).MaxBy(p => p.Lag);
        string self = $"{Root}/{cluster_id}/consumer-groups/{consumer_group_id}/lag-summary";
        return Ok(
            new ConsumerGroupLagSummaryV3(
                _v3.ResourceMetadata(c, self, $"/consumer-group={consumer_group_id}/lag-summary"),
                ClusterId,
                consumer_group_id,
                max?.MemberId ?? "",
                max?.ClientId ?? "",
                max?.Topic ?? "",
                max?.Partition ?? 0,
                max?.Lag ?? 0,
                lag.Partitions.Sum(p => p.Lag ?? 0)),
            RestV3JsonContext.Default.ConsumerGroupLagSummaryV3);
    }
}
