using System.Text.Json.Nodes;

namespace OrleansMQ.Silo.Http;

/// <summary>
/// The gateway's OpenAPI 3.0 document, served at <c>/openapi/v1.json</c>. Written by hand (the
/// Microsoft.AspNetCore.OpenApi package is not used); a test checks that every route mapped by
/// <see cref="HttpGateway.Map"/> appears here with its methods, so the two cannot drift apart.
/// </summary>
internal static partial class HttpOpenApi
{
    internal const string Path = "/openapi/v1.json";
    private const string Problem = "application/problem+json";
    private const string ProblemRef = "#/components/schemas/ProblemDetails";

    private static readonly Lazy<string> Json = new(() => Build().ToJsonString());

    /// <summary>The document as JSON text (built once).</summary>
    public static string Text => Json.Value;

    internal static JsonObject Build()
    {
        var document = Core();
        var paths = (JsonObject)document["paths"]!;
        var schemas = (JsonObject)document["components"]!["schemas"]!;

        // Each part of the gateway documents its own routes in its own file (HttpOpenApi.*.cs).
        AddConsumerInstancePaths(paths, schemas);
        AddV3Paths(paths, schemas);
        AddConsolePaths(paths, schemas);
        return document;
    }

    static partial void AddConsumerInstancePaths(JsonObject paths, JsonObject schemas);

    static partial void AddV3Paths(JsonObject paths, JsonObject schemas);

    static partial void AddConsolePaths(JsonObject paths, JsonObject schemas);

    private static JsonObject Core() => new()
    {
        ["openapi"] = "3.0.3",
        ["info"] = new JsonObject
        {
            ["title"] = "OrleansMQ HTTP gateway",
            ["version"] = "v1",
            ["description"] = "Health and readiness probes, Prometheus metrics, Confluent REST Proxy v2 produce and topic metadata, and the OrleansMQ browse API. Errors are RFC 9457 problem documents; REST Proxy paths add error_code.",
        },
        ["security"] = new JsonArray(new JsonObject { ["bearer"] = new JsonArray() }, new JsonObject { ["apiKey"] = new JsonArray() }),
        ["paths"] = new JsonObject
        {
            ["/healthz"] = new JsonObject { ["get"] = Op("Liveness probe (never needs a key).", open: true, responses: Responses(("200", "The process runs.", Plain("text/plain")))) },
            ["/readyz"] = new JsonObject
            {
                ["get"] = Op("Readiness probe (never needs a key).", open: true, responses: Responses(
                    ("200", "Storage recovered, broker started, group coordinator loaded.", Plain("text/plain")),
                    ("503", "Not ready yet; the body says why.", Plain("text/plain")))),
            },
            ["/metrics"] = new JsonObject { ["get"] = Op("Prometheus metrics, text format 0.0.4.", responses: Responses(("200", "Metrics.", Plain("text/plain; version=0.0.4")))) },
            [Path] = new JsonObject { ["get"] = Op("This OpenAPI document.", responses: Responses(("200", "OpenAPI 3.0 document.", JsonContent("application/json", new JsonObject { ["type"] = "object" })))) },
            ["/topics"] = new JsonObject
            {
                ["get"] = Op("REST Proxy v2: topic names (internal topics left out).", responses: Responses(
                    ("200", "Topic names.", JsonContent(HttpGateway.V2, new JsonObject { ["type"] = "array", ["items"] = new JsonObject { ["type"] = "string" } })))),
            },
            ["/topics/{topic}"] = new JsonObject
            {
                ["get"] = Op("REST Proxy v2: topic metadata.", [PathParam("topic", "string")], responses: Responses(
                    ("200", "Topic name, configs and partitions.", JsonContent(HttpGateway.V2, new JsonObject { ["type"] = "object" })),
                    ("404", "Unknown topic (error_code 40401).", null))),
                ["post"] = Produce("REST Proxy v2: produce; partition per record from its partition field, else murmur2 of the key, else round-robin.", [PathParam("topic", "string")]),
            },
            ["/topics/{topic}/partitions"] = new JsonObject
            {
                ["get"] = Op("REST Proxy v2: partitions of a topic (leader and replicas).", [PathParam("topic", "string")], Responses(
                    ("200", "Partitions.", JsonContent(HttpGateway.V2, new JsonObject { ["type"] = "array", ["items"] = ObjectOf("partition", "leader", "replicas") })),
                    ("404", "Unknown topic (error_code 40401).", null))),
            },
            ["/topics/{topic}/partitions/{partition}"] = new JsonObject
            {
                ["get"] = Op("REST Proxy v2: one partition (leader and replicas).", [PathParam("topic", "string"), PathParam("partition", "integer")], Responses(
                    ("200", "The partition.", JsonContent(HttpGateway.V2, ObjectOf("partition", "leader", "replicas"))),
                    ("404", "Unknown topic or partition (error_code 40401/40402).", null))),
                ["post"] = Produce("REST Proxy v2: produce to one partition.", [PathParam("topic", "string"), PathParam("partition", "integer")]),
            },
            ["/brokers"] = new JsonObject
            {
                ["get"] = Op("REST Proxy v2: broker ids (this silo).", responses: Responses(("200", "Broker ids.", JsonContent(HttpGateway.V2, ObjectOf("brokers"))))),
            },
            ["/orleansmq/v1/topics/{topic}/partitions/{partition}/offsets"] = new JsonObject
            {
                ["get"] = Op("Log start offset and high watermark of a partition.", [PathParam("topic", "string"), PathParam("partition", "integer")], Responses(
                    ("200", "Offsets.", JsonContent("application/json", ObjectOf("topic", "partition", "log_start_offset", "high_watermark"))),
                    ("404", "Unknown topic or partition.", null))),
            },
            ["/orleansmq/v1/topics/{topic}/partitions/{partition}/messages"] = new JsonObject
            {
                ["get"] = Op("Records from an offset.", [PathParam("topic", "string"), PathParam("partition", "integer"), QueryParam("offset", "integer", "First offset (default log start)."), QueryParam("count", "integer", "At most this many records, 1-10000 (default 100).")], Responses(
                    ("200", "Records.", JsonContent("application/json", ObjectOf("topic", "partition", "records"))),
                    ("400", "Bad query.", null),
                    ("404", "Unknown topic or partition.", null),
                    ("416", "Offset outside [log start, high watermark].", null))),
            },
            ["/orleansmq/v1/topics/{topic}/messages"] = new JsonObject
            {
                ["get"] = Op("Records by key (key index) or by time range, across partitions.", [PathParam("topic", "string"), QueryParam("key", "string", "UTF-8 key; needs orleansmq.index.keys=true."), QueryParam("from", "string", "ISO 8601 date-time or Unix milliseconds."), QueryParam("to", "string", "ISO 8601 date-time or Unix milliseconds."), QueryParam("limit", "integer", "At most this many records, 1-10000 (default 100).")], Responses(
                    ("200", "Records.", JsonContent("application/json", ObjectOf("topic", "records"))),
                    ("400", "Bad query.", null),
                    ("404", "Unknown topic.", null),
                    ("409", "Keys not indexed for this topic.", null))),
            },
            ["/orleansmq/v1/groups"] = new JsonObject
            {
                ["get"] = Op("Consumer groups.", responses: Responses(
                    ("200", "Groups.", JsonContent("application/json", new JsonObject { ["type"] = "array", ["items"] = ObjectOf("group_id", "state", "protocol_type") })),
                    ("503", "Group coordinator loading.", null))),
            },
            ["/orleansmq/v1/groups/{group}/lag"] = new JsonObject
            {
                ["get"] = Op("Lag of a consumer group per partition.", [PathParam("group", "string")], Responses(
                    ("200", "Lag.", JsonContent("application/json", ObjectOf("group_id", "state", "total_lag", "partitions"))),
                    ("404", "Unknown group.", null),
                    ("503", "Group coordinator loading.", null))),
            },
        },
        ["components"] = new JsonObject
        {
            ["securitySchemes"] = new JsonObject
            {
                ["bearer"] = new JsonObject { ["type"] = "http", ["scheme"] = "bearer", ["description"] = "An API key from OrleansMQ:Http:ApiKeys (only when keys are configured)." },
                ["apiKey"] = new JsonObject { ["type"] = "apiKey", ["in"] = "header", ["name"] = ApiKeyAuthentication.ApiKeyHeader },
            },
            ["schemas"] = new JsonObject
            {
                ["ProblemDetails"] = new JsonObject
                {
                    ["type"] = "object",
                    ["description"] = "RFC 9457 problem document; REST Proxy paths add error_code and message.",
                    ["required"] = new JsonArray("type", "title", "status", "detail"),
                    ["properties"] = new JsonObject
                    {
                        ["type"] = new JsonObject { ["type"] = "string" },
                        ["title"] = new JsonObject { ["type"] = "string" },
                        ["status"] = new JsonObject { ["type"] = "integer" },
                        ["detail"] = new JsonObject { ["type"] = "string" },
                        ["error_code"] = new JsonObject { ["type"] = "integer" },
                        ["message"] = new JsonObject { ["type"] = "string" },
                    },
                },
                ["ProduceRequest"] = new JsonObject
                {
                    ["type"] = "object",
                    ["required"] = new JsonArray("records"),
                    ["properties"] = new JsonObject
                    {
                        ["records"] = new JsonObject
                        {
                            ["type"] = "array",
                            ["items"] = new JsonObject
                            {
                                ["type"] = "object",
                                ["description"] = "key and value: any JSON (json.v2) or base64 strings (binary.v2); at least one of them.",
                                ["properties"] = new JsonObject { ["key"] = new JsonObject(), ["value"] = new JsonObject(), ["partition"] = new JsonObject { ["type"] = "integer" } },
                            },
                        },
                    },
                },
                ["ProduceResponse"] = ObjectOf("key_schema_id", "value_schema_id", "offsets"),
            },
        },
    };

    private static JsonObject Produce(string summary, JsonArray parameters)
    {
        var op = Op(summary, parameters, Responses(
            ("200", "One offset per record, in request order.", JsonContent(HttpGateway.V2, Ref("#/components/schemas/ProduceResponse"))),
            ("400", "Body is not JSON (error_code 400).", null),
            ("404", "Unknown topic or partition (error_code 40401/40402).", null),
            ("413", "Body over MaxRequestBodyBytes.", null),
            ("415", "Unsupported content type.", null),
            ("422", "Invalid records (error_code 42201/42205).", null)));
        op["requestBody"] = new JsonObject
        {
            ["required"] = true,
            ["content"] = new JsonObject
            {
                [HttpGateway.JsonV2] = new JsonObject { ["schema"] = Ref("#/components/schemas/ProduceRequest") },
                [HttpGateway.BinaryV2] = new JsonObject { ["schema"] = Ref("#/components/schemas/ProduceRequest") },
            },
        };
        return op;
    }

    private static JsonObject Op(string summary, JsonArray? parameters = null, JsonObject? responses = null, bool open = false)
    {
        var op = new JsonObject { ["summary"] = summary };
        if (parameters is not null)
        {
            op["parameters"] = parameters;
        }

        if (open)
        {
            op["security"] = new JsonArray();
        }
        else
        {
            responses ??= [];
            responses["401"] = ProblemResponse("Missing or unknown API key (only when keys are configured).");
        }

        op["responses"] = responses ?? [];
        return op;
    }

    /// <summary>Responses; a null content means a problem document.</summary>
    private static JsonObject Responses(params (string Status, string Description, JsonObject? Content)[] responses)
    {
        var result = new JsonObject();
        foreach (var (status, description, content) in responses)
        {
            result[status] = content is null ? ProblemResponse(description) : new JsonObject { ["description"] = description, ["content"] = content };
        }

        return result;
    }

    private static JsonObject ProblemResponse(string description) =>
        new() { ["description"] = description, ["content"] = new JsonObject { [Problem] = new JsonObject { ["schema"] = Ref(ProblemRef) } } };

    private static JsonObject Plain(string contentType) => new() { [contentType] = new JsonObject { ["schema"] = new JsonObject { ["type"] = "string" } } };

    private static JsonObject JsonContent(string contentType, JsonObject schema) => new() { [contentType] = new JsonObject { ["schema"] = schema } };

    private static JsonObject Ref(string reference) => new() { ["$ref"] = reference };

    private static JsonObject ObjectOf(params string[] properties)
    {
        var props = new JsonObject();
        foreach (string p in properties)
        {
            props[p] = new JsonObject();
        }

        return new JsonObject { ["type"] = "object", ["properties"] = props };
    }

    private static JsonObject PathParam(string name, string type) =>
        new() { ["name"] = name, ["in"] = "path", ["required"] = true, ["schema"] = new JsonObject { ["type"] = type } };

    private static JsonObject QueryParam(string name, string type, string description) =>
        new() { ["name"] = name, ["in"] = "query", ["required"] = false, ["description"] = description, ["schema"] = new JsonObject { ["type"] = type } };
}
