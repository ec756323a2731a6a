using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;
using OrleansMQ.Silo.Cluster;
using OrleansMQ.Silo.Metrics;
using OrleansMQ.Silo.Kafka;
using OrleansMQ.Silo.Kafka.Network;
using OrleansMQ.Silo.Topics;
using OrleansMQ.Storage.Engine;
using static OrleansMQ.Silo.Http.GatewayResults;

namespace OrleansMQ.Silo.Http.Console;

/// <summary>
/// The web console: static HTML, CSS and JavaScript embedded in the silo assembly (no build step,
/// nothing fetched from the internet), served at <c>/</c> and <c>/console/{asset}</c>, plus
/// <c>GET /orleansmq/v1/stats</c>, the cumulative counters the page turns into rates.
/// </summary>
internal sealed class ConsoleEndpoints
{
    internal const string Tag = "Console";
    internal const string ConsoleAssetPrefix = "/console/";
    internal const string StatsPath = "/orleansmq/v1/stats";

    private readonly TopicCatalog _catalog;
    private readonly KafkaListener _listener;
    private readonly StorageEngine _engine;
    private readonly HttpMetrics _metrics;
    private readonly GrainStatistics _grains;
    private readonly BrokerIdentity _identity;
    private readonly TimeProvider _time;

    public ConsoleEndpoints(TopicCatalog catalog, KafkaListener listener, StorageEngine engine, HttpMetrics metrics, GrainStatistics grains, BrokerIdentity identity, TimeProvider time)
    {
        _catalog = catalog;
        _listener = listener;
        _engine = engine;
        _metrics = metrics;
        _grains = grains;
        _identity = identity;
        _time = time;
    }

    public void Map(IEndpointRouteBuilder app)
    {
        var console = app.MapGroup("").WithTags(Tag);
        console.MapGet("/", (HttpContext context) => ServeAsset(context, "index.html"))
            .WithName("ConsolePage").WithSummary("The web console's page (its static files never need a key).")
            .Produces<string>(200, "text/html").Produces(304);
        console.MapGet(ConsoleAssetPrefix + "{asset}", (HttpContext context, string asset) => ServeAsset(context, asset))
            .WithName("ConsoleAsset").WithSummary("A console file (CSS, JavaScript); revalidated by ETag.")
            .Produces<string>(200, "text/css", "text/javascript").Produces(304).ProducesProblem(404);
        console.MapGet(StatsPath, Stats)
            .WithName("Stats").WithSummary("Cumulative counters at one instant (the console turns them into rates).")
            .Produces<ConsoleStats>(200);
    }

    private static IResult ServeAsset(HttpContext context, string name)
    {
        if (!ConsoleAssets.TryGet(name, out var asset))
        {
            return Problem(404, "Not found", $"The console has no asset '{name}'.");
        }

        var headers = context.Response.Headers;
        // no-cache, not max-age: the browser revalidates each load (a cheap 304), so a new silo
        // version is picked up at once without cache-busting names, which would need a build step.
        headers.CacheControl = "no-cache";
        headers.ETag = asset.ETag;
        headers.XContentTypeOptions = "nosniff";
        if (name == "index.html")
        {
            // Everything the page needs is on this origin; nothing inline, nothing third-party.
            headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'";
            headers["Referrer-Policy"] = "no-referrer";
        }

        var ifNoneMatch = context.Request.GetTypedHeaders().IfNoneMatch;
        if (ifNoneMatch.Any(t => t.Equals(EntityTagHeaderValue.Any) || t.Compare(asset.Tag, useStrongComparison: false)))
        {
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }

        return Results.Bytes(asset.Content, asset.ContentType);
    }

    /// <summary>
    /// Cumulative counters at one instant; the console polls it once a second and divides the
    /// differences by the time between polls (counters, not rates, so any poll interval works and
    /// a missed poll loses nothing).
    /// </summary>
    private IResult Stats()
    {
        var topics = new List<TopicStats>();
        long totalRecords = 0;
        foreach (var meta in _catalog.All.Where(t => !t.IsInternal))
        {
            var partitions = new PartitionStats[meta.Partitions.Length];
            long endSum = 0, startSum = 0;
            for (int i = 0; i < partitions.Length; i++)
            {
                var log = meta.Partitions[i];
                long start = log.LogStartOffset, end = log.HighWatermark;
                startSum += start;
                endSum += end;
                partitions[i] = new PartitionStats(log.Partition, start, end);
            }

            totalRecords += endSum;
            topics.Add(new TopicStats(meta.Name, meta.Config.IndexKeys, endSum, endSum - startSum, partitions));
        }

        var listener = _listener.Metrics;
        var engine = _engine;
        long httpRequests = _metrics.Snapshot().Sum(s => s.Count);
        var activations = _grains.Activations();
        return Results.Json(
            new ConsoleStats(
                TimeMs: _time.GetUtcNow().ToUnixTimeMilliseconds(),
                NodeId: _identity.NodeId,
                RecordsIn: totalRecords,
                StorageBytesIn: engine.CommitLog.CommittedPosition,
                StorageDiskBytes: engine.CommitLog.DiskBytes,
                KafkaBytesIn: listener.BytesIn,
                KafkaBytesOut: listener.BytesOut,
                KafkaRequests: listener.Requests,
                KafkaConnectionsOpen: listener.ConnectionsOpen,
                HttpRequests: httpRequests,
                // This silo's grains: activations in memory and calls received, per grain type.
                GrainActivations: activations.Sum(a => a.Count),
                GrainCalls: _grains.Calls().Sum(c => c.Count),
                Grains: [.. activations.Select(a => new GrainTypeStats(a.Type, a.Count))],
                Topics: topics),
            ConsoleJsonContext.Default.ConsoleStats);
    }
}
