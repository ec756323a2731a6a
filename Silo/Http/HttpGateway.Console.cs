using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace OrleansMQ.Silo.Http;

/// <summary>
/// The web console: static HTML, CSS and JavaScript embedded in the silo assembly (no build step,
/// nothing fetched from the internet), served at <c>/</c> and <c>/console/{asset}</c>, plus
/// <c>GET /orleansmq/v1/stats</c>, the cumulative counters the page turns into rates.
/// </summary>
internal sealed partial class HttpGateway
{
    internal const string ConsoleAssetPrefix = "/console/";
    internal const string StatsPath = "/orleansmq/v1/stats";

    partial void MapConsole(IEndpointRouteBuilder app)
    {
        app.MapGet("/", (HttpContext context) => ServeAsset(context, "index.html"));
        app.MapGet(ConsoleAssetPrefix + "{asset}", (HttpContext context, string asset) => ServeAsset(context, asset));
        app.MapGet(StatsPath, Stats);
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
        var topics = new JsonArray();
        long totalRecords = 0;
        foreach (var meta in _catalog.All.Where(t => !t.IsInternal))
        {
            var partitions = new JsonArray();
            long endSum = 0, startSum = 0;
            foreach (var log in meta.Partitions)
            {
                long start = log.LogStartOffset, end = log.HighWatermark;
                startSum += start;
                endSum += end;
                partitions.Add(new JsonObject { ["partition"] = log.Partition, ["log_start_offset"] = start, ["log_end_offset"] = end });
            }

            totalRecords += endSum;
            topics.Add(new JsonObject
            {
                ["topic"] = meta.Name,
                ["index_keys"] = meta.Config.IndexKeys,
                ["log_end_offset_sum"] = endSum,
                ["messages"] = endSum - startSum,
                ["partitions"] = partitions,
            });
        }

        var listener = _listener.Metrics;
        var engine = _engine;
        long httpRequests = _metrics.Snapshot().Sum(s => s.Count);
        return JsonResult(new JsonObject
        {
            ["time_ms"] = _time.GetUtcNow().ToUnixTimeMilliseconds(),
            ["node_id"] = _identity.NodeId,
            ["records_in"] = totalRecords,
            ["storage_bytes_in"] = engine.CommitLog.CommittedPosition,
            ["storage_disk_bytes"] = engine.CommitLog.DiskBytes,
            ["kafka_bytes_in"] = listener.BytesIn,
            ["kafka_bytes_out"] = listener.BytesOut,
            ["kafka_requests"] = listener.Requests,
            ["kafka_connections_open"] = listener.ConnectionsOpen,
            ["http_requests"] = httpRequests,
            // This silo's grains: activations in memory and calls received, per grain type.
            ["grain_activations"] = _grains.Activations().Sum(a => a.Count),
            ["grain_calls"] = _grains.Calls().Sum(c => c.Count),
            ["grains"] = new JsonArray(_grains.Activations().Select(a => (JsonNode)new JsonObject { ["type"] = a.Type, ["activations"] = a.Count }).ToArray()),
            ["topics"] = topics,
        });
    }
}

/// <summary>The console's embedded files, read once: bytes, content type and a strong ETag (content hash).</summary>
internal static class ConsoleAssets
{
    private const string ResourcePrefix = "OrleansMQ.Silo.Console.";

    private static readonly Lazy<FrozenDictionary<string, Asset>> All = new(Load);

    internal sealed record Asset(byte[] Content, string ContentType, string ETag)
    {
        public EntityTagHeaderValue Tag { get; } = new(ETag);
    }

    /// <summary>The asset names (<c>index.html</c>, <c>console.js</c>, …).</summary>
    public static IEnumerable<string> Names => All.Value.Keys;

    public static bool TryGet(string name, out Asset asset) => All.Value.TryGetValue(name, out asset!);

    /// <summary>
    /// The request paths that serve an asset. Only these are open without an API key: they are the
    /// same bytes for everyone and hold no broker data (the page asks for a key when the API says 401).
    /// </summary>
    public static bool IsAssetPath(PathString path)
    {
        string? value = path.Value;
        if (value == "/")
        {
            return true;
        }

        return value is not null && value.StartsWith(HttpGateway.ConsoleAssetPrefix, StringComparison.Ordinal)
            && All.Value.ContainsKey(value[HttpGateway.ConsoleAssetPrefix.Length..]);
    }

    private static FrozenDictionary<string, Asset> Load()
    {
        var assembly = typeof(ConsoleAssets).Assembly;
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (string resource in assembly.GetManifestResourceNames().Where(r => r.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            byte[] content = copy.ToArray();
            string name = resource[ResourcePrefix.Length..];
            string etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(content).AsSpan(0, 16)) + "\"";
            assets[name] = new Asset(content, ContentType(name), etag);
        }

        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static string ContentType(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".png" => "image/png",
        _ => "application/octet-stream",
    };
}
