using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using OrleansMQ.Silo.Kafka;
using OrleansMQ.Silo.Topics;
using OrleansMQ.Silo.Http.OpenApi;
using static OrleansMQ.Silo.Http.GatewayResults;
using static OrleansMQ.Silo.Http.RestMediaTypes;

namespace OrleansMQ.Silo.Http.RestV2;

/// <summary>
/// Confluent REST Proxy v2: topic names, topic and partition metadata, broker ids, and produce
/// (<see cref="RestV2Produce"/>). Answers carry <c>application/vnd.kafka.v2+json</c>; errors are
/// problem documents with REST Proxy's <c>error_code</c> (40401 topic, 40402 partition, 422xx body).
/// </summary>
internal sealed class RestV2Endpoints
{
    internal const string Tag = "REST Proxy v2";

    private readonly TopicService _topics;
    private readonly TopicCatalog _catalog;
    private readonly BrokerIdentity _identity;
    private readonly RestV2Produce _produce;

    public RestV2Endpoints(TopicService topics, TopicCatalog catalog, BrokerIdentity identity, RestV2Produce produce)
    {
        _topics = topics;
        _catalog = catalog;
        _identity = identity;
        _produce = produce;
    }

    public void Map(IEndpointRouteBuilder app)
    {
        var v2 = app.MapGroup("").WithTags(Tag);
        v2.MapGet("/topics", ListTopics)
            .WithName("V2ListTopics").WithSummary("REST Proxy v2: topic names (internal topics left out).")
            .Produces<List<string>>(200, V2);
        v2.MapGet("/topics/{topic}", GetTopicAsync)
            .WithName("V2GetTopic").WithSummary("REST Proxy v2: topic metadata.")
            .Produces<TopicV2>(200, V2).ProducesProblem(404);
        v2.MapPost("/topics/{topic}", (HttpContext c, string topic) => _produce.ProduceAsync(c, topic, null))
            .WithName("V2Produce").WithSummary("REST Proxy v2: produce; partition per record from its partition field, else murmur2 of the key, else round-robin.")
            .DocumentBody<ProduceRequestV2>(JsonV2, BinaryV2)
            .Produces<ProduceResponseV2>(200, V2).ProducesProblem(404).ProducesProblem(413).ProducesProblem(415).ProducesProblem(422);
        v2.MapGet("/topics/{topic}/partitions", GetPartitionsAsync)
            .WithName("V2ListPartitions").WithSummary("REST Proxy v2: partitions of a topic (leader and replicas).")
            .Produces<List<PartitionV2>>(200, V2).ProducesProblem(404);
        v2.MapGet("/topics/{topic}/partitions/{partition:int}", GetPartitionAsync)
            .WithName("V2GetPartition").WithSummary("REST Proxy v2: one partition (leader and replicas).")
            .Produces<PartitionV2>(200, V2).ProducesProblem(404);
        v2.MapPost("/topics/{topic}/partitions/{partition:int}", (HttpContext c, string topic, int partition) => _produce.ProduceAsync(c, topic, partition))
            .WithName("V2ProduceToPartition").WithSummary("REST Proxy v2: produce to one partition.")
            .DocumentBody<ProduceRequestV2>(JsonV2, BinaryV2)
            .Produces<ProduceResponseV2>(200, V2).ProducesProblem(404).ProducesProblem(413).ProducesProblem(415).ProducesProblem(422);
        v2.MapGet("/brokers", () => Results.Json(new BrokersV2([_identity.NodeId]), RestV2JsonContext.Default.BrokersV2, V2))
            .WithName("V2ListBrokers").WithSummary("REST Proxy v2: broker ids (this silo).")
            .Produces<BrokersV2>(200, V2);
    }

    private IResult ListTopics() =>
        Results.Json(_catalog.All.Where(t => !t.IsInternal).Select(t => t.Name).ToList(), RestV2JsonContext.Default.ListString, V2);

    private async Task<IResult> GetTopicAsync(string topic, CancellationToken cancellationToken)
    {
        var (meta, _) = await _topics.GetOrAutoCreateAsync(topic, allowAutoCreate: false, cancellationToken).ConfigureAwait(false);
        if (meta is null)
        {
            return RestProblem(404, 40401, "Topic not found", $"Topic '{topic}' not found.");
        }

        var configs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, _) in TopicConfig.Defaults.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            configs[k] = meta.Config.Get(k);
        }

        return Results.Json(new TopicV2(meta.Name, configs, [.. meta.Partitions.Select(p => PartitionV2(p.Partition))]), RestV2JsonContext.Default.TopicV2, V2);
    }

    /// <summary>REST Proxy v2's partition shape: this silo leads every partition, one in-sync replica.</summary>
    private PartitionV2 PartitionV2(int partition) => new(partition, _identity.NodeId, [new ReplicaV2(_identity.NodeId, Leader: true, InSync: true)]);

    private async Task<IResult> GetPartitionsAsync(string topic, CancellationToken cancellationToken)
    {
        var (meta, _) = await _topics.GetOrAutoCreateAsync(topic, allowAutoCreate: false, cancellationToken).ConfigureAwait(false);
        if (meta is null)
        {
            return RestProblem(404, 40401, "Topic not found", $"Topic '{topic}' not found.");
        }

        return Results.Json(meta.Partitions.Select(p => PartitionV2(p.Partition)).ToList(), RestV2JsonContext.Default.ListPartitionV2, V2);
    }

    private async Task<IResult> GetPartitionAsync(string topic, int partition, CancellationToken cancellationToken)
    {
        var (meta, _) = await _topics.GetOrAutoCreateAsync(topic, allowAutoCreate: false, cancellationToken).ConfigureAwait(false);
        if (meta is null)
        {
            return RestProblem(404, 40401, "Topic not found", $"Topic '{topic}' not found.");
        }

        return partition < 0 || partition >= meta.Partitions.Length
            ? RestProblem(404, 40402, "Partition not found", $"Partition {partition} of topic '{topic}' not found.")
            : Results.Json(PartitionV2(partition), RestV2JsonContext.Default.PartitionV2, V2);
    }
}
