using System.Text.Json.Nodes;

namespace OrleansMQ.Silo.Http;

/// <summary>The web console's routes: the page, its static files and the stats it polls.</summary>
internal static partial class HttpOpenApi
{
    static partial void AddConsolePaths(JsonObject paths, JsonObject schemas)
    {
        var partitionStats = ObjectOf("partition", "log_start_offset", "log_end_offset");
        var topicStats = ObjectOf("topic", "index_keys", "log_end_offset_sum", "messages", "partitions");
        ((JsonObject)topicStats["properties"]!)["partitions"] = new JsonObject { ["type"] = "array", ["items"] = partitionStats };
        var stats = ObjectOf("time_ms", "node_id", "records_in", "storage_bytes_in", "storage_disk_bytes", "kafka_bytes_in", "kafka_bytes_out", "kafka_requests", "kafka_connections_open", "http_requests", "topics");
        stats["description"] = "Cumulative counters; rates are differences between two polls divided by the difference of time_ms.";
        ((JsonObject)stats["properties"]!)["topics"] = new JsonObject { ["type"] = "array", ["items"] = topicStats };
        schemas["Stats"] = stats;

        paths["/"] = new JsonObject
        {
            ["get"] = Asset("Web console (HTML). Open without a key; the page asks for one when the API answers 401.", null),
        };
        paths[HttpGateway.ConsoleAssetPrefix + "{asset}"] = new JsonObject
        {
            ["get"] = Asset("A static file of the web console (console.js, console.css). Open without a key.", [PathParam("asset", "string")]),
        };
        paths[HttpGateway.StatsPath] = new JsonObject
        {
            ["get"] = Op("Cumulative counters for the console's throughput charts: per-topic offsets, storage and Kafka listener bytes, requests.", responses: Responses(
                ("200", "Counters now.", JsonContent("application/json", Ref("#/components/schemas/Stats"))))),
        };
    }

    private static JsonObject Asset(string summary, JsonArray? parameters)
    {
        var text = new JsonObject { ["type"] = "string" };
        var responses = Responses(("200", "The file; ETag is a hash of its bytes, Cache-Control: no-cache.", new JsonObject
        {
            ["text/html"] = new JsonObject { ["schema"] = text.DeepClone() },
            ["text/javascript"] = new JsonObject { ["schema"] = text.DeepClone() },
            ["text/css"] = new JsonObject { ["schema"] = text.DeepClone() },
        }));
        responses["304"] = new JsonObject { ["description"] = "If-None-Match matched the ETag (no body)." };
        if (parameters is not null)
        {
            responses["404"] = ProblemResponse("No such file.");
        }

        return Op(summary, parameters, responses, open: true);
    }
}
