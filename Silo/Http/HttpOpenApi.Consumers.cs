using System.Text.Json.Nodes;

namespace OrleansMQ.Silo.Http;

/// <summary>The REST Proxy v2 consumer-instance paths of the OpenAPI document (routes in HttpGateway.Consumers.cs).</summary>
internal static partial class HttpOpenApi
{
    private const string Instance = "/consumers/{group}/instances/{instance}";

    static partial void AddConsumerInstancePaths(JsonObject paths, JsonObject schemas)
    {
        schemas["ConsumerPartitions"] = new JsonObject
        {
            ["type"] = "object",
            ["required"] = new JsonArray("partitions"),
            ["properties"] = new JsonObject { ["partitions"] = new JsonObject { ["type"] = "array", ["items"] = ObjectOf("topic", "partition") } },
        };
        schemas["ConsumerOffsets"] = new JsonObject
        {
            ["type"] = "object",
            ["required"] = new JsonArray("offsets"),
            ["properties"] = new JsonObject { ["offsets"] = new JsonObject { ["type"] = "array", ["items"] = ObjectOf("topic", "partition", "offset") } },
        };
        schemas["ConsumerRecord"] = new JsonObject
        {
            ["type"] = "object",
            ["description"] = "key and value: base64 strings (binary instances) or embedded JSON (json instances); null stays null.",
            ["properties"] = new JsonObject
            {
                ["topic"] = new JsonObject { ["type"] = "string" },
                ["key"] = new JsonObject(),
                ["value"] = new JsonObject(),
                ["partition"] = new JsonObject { ["type"] = "integer" },
                ["offset"] = new JsonObject { ["type"] = "integer" },
            },
        };

        var createBody = new JsonObject
        {
            ["type"] = "object",
            ["properties"] = new JsonObject
            {
                ["name"] = new JsonObject { ["type"] = "string", ["description"] = "Instance name (default rest-consumer-<uuid>)." },
                ["format"] = new JsonObject { ["type"] = "string", ["enum"] = new JsonArray("binary", "json") },
                ["auto.offset.reset"] = new JsonObject { ["type"] = "string", ["enum"] = new JsonArray("earliest", "latest", "none") },
                ["auto.commit.enable"] = new JsonObject { ["type"] = "string", ["description"] = "true (default) or false." },
                ["fetch.min.bytes"] = new JsonObject { ["type"] = "integer", ["description"] = "Bytes a records request waits for (-1: none)." },
                ["consumer.request.timeout.ms"] = new JsonObject { ["type"] = "integer", ["description"] = "Longest wait of a records request." },
            },
        };

        paths["/consumers/{group}"] = new JsonObject
        {
            ["post"] = WithBody(Op("REST Proxy v2: create a consumer instance (a member of the group).", [PathParam("group", "string")], Responses(
                ("200", "The instance.", JsonContent(HttpGateway.V2, ObjectOf("instance_id", "base_uri"))),
                ("400", "Body is not JSON.", null),
                ("409", "An instance of this name exists in the group (error_code 40902).", null),
                ("415", "Unsupported content type.", null),
                ("422", "Invalid configuration (error_code 42204).", null),
                ("429", "MaxConsumerInstances reached (error_code 42901).", null))), createBody, required: false),
        };
        paths[Instance] = new JsonObject
        {
            ["delete"] = Op("REST Proxy v2: close the instance; it leaves its group.", InstanceParams(), Responses(
                ("204", "Closed.", null),
                ("404", "Unknown instance (error_code 40403).", null))),
        };
        paths[Instance + "/subscription"] = new JsonObject
        {
            ["post"] = WithBody(InstanceOp("Subscribe to topics or a topic pattern (replaces the subscription; the member rejoins).",
                ("204", "Subscribed.", null),
                ("409", "The instance has manual assignments (error_code 40903).", null),
                ("422", "Neither or both of topics and topic_pattern, or a bad pattern.", null)),
                new JsonObject
                {
                    ["type"] = "object",
                    ["properties"] = new JsonObject
                    {
                        ["topics"] = new JsonObject { ["type"] = "array", ["items"] = new JsonObject { ["type"] = "string" } },
                        ["topic_pattern"] = new JsonObject { ["type"] = "string", ["description"] = "Regular expression matching whole topic names." },
                    },
                }),
            ["get"] = InstanceOp("The subscribed topics (for a pattern: the topics it matches now).",
                ("200", "Topics.", JsonContent(HttpGateway.V2, ObjectOf("topics")))),
            ["delete"] = InstanceOp("Unsubscribe (leaves the group) and drop manual assignments.",
                ("204", "Unsubscribed.", null)),
        };
        paths[Instance + "/assignments"] = new JsonObject
        {
            ["post"] = WithBody(InstanceOp("Assign partitions manually (no group membership; commits still use the group).",
                ("204", "Assigned.", null),
                ("404", "Unknown topic or partition (error_code 40401/40402).", null),
                ("409", "The instance is subscribed (error_code 40903).", null),
                ("422", "Bad partition list.", null)), Ref("#/components/schemas/ConsumerPartitions")),
            ["get"] = InstanceOp("The partitions assigned now (by the group or manually).",
                ("200", "Partitions.", JsonContent(HttpGateway.V2, Ref("#/components/schemas/ConsumerPartitions")))),
        };
        paths[Instance + "/offsets"] = new JsonObject
        {
            ["post"] = WithBody(InstanceOp("Commit offsets: the listed ones (offset of the last record processed; offset + 1 is committed), or with no body everything returned so far.",
                ("200", "Committed.", null),
                ("422", "Bad offset list.", null),
                ("500", "Kafka error (error_code 50002, 50003 when retriable), e.g. a rebalance fenced the commit.", null)), Ref("#/components/schemas/ConsumerOffsets"), required: false),
            ["get"] = WithBody(InstanceOp("Committed offsets of the partitions in the body (REST Proxy reads a body on GET; without one, the current assignment). Partitions without a commit are left out.",
                ("200", "Offsets.", JsonContent(HttpGateway.V2, Ref("#/components/schemas/ConsumerOffsets"))),
                ("422", "Bad partition list.", null)), Ref("#/components/schemas/ConsumerPartitions"), required: false),
        };
        paths[Instance + "/positions"] = new JsonObject
        {
            ["post"] = WithBody(InstanceOp("Seek: the next records start at these offsets.",
                ("204", "Done.", null),
                ("404", "Unknown topic or partition.", null),
                ("409", "Partition not assigned to this instance (error_code 40903).", null),
                ("422", "Bad offset list.", null)), Ref("#/components/schemas/ConsumerOffsets")),
        };
        paths[Instance + "/positions/beginning"] = new JsonObject
        {
            ["post"] = WithBody(InstanceOp("Seek to the log start of these partitions.",
                ("204", "Done.", null),
                ("404", "Unknown topic or partition.", null),
                ("409", "Partition not assigned to this instance (error_code 40903).", null),
                ("422", "Bad partition list.", null)), Ref("#/components/schemas/ConsumerPartitions")),
        };
        paths[Instance + "/positions/end"] = new JsonObject
        {
            ["post"] = WithBody(InstanceOp("Seek to the log end of these partitions.",
                ("204", "Done.", null),
                ("404", "Unknown topic or partition.", null),
                ("409", "Partition not assigned to this instance (error_code 40903).", null),
                ("422", "Bad partition list.", null)), Ref("#/components/schemas/ConsumerPartitions")),
        };

        var records = InstanceOp("Fetch records: waits up to the timeout for the first, then returns what is there (up to max_bytes of keys and values).",
            ("200", "Records, in offset order per partition.", new JsonObject
            {
                [HttpGateway.BinaryV2] = new JsonObject { ["schema"] = new JsonObject { ["type"] = "array", ["items"] = Ref("#/components/schemas/ConsumerRecord") } },
                [HttpGateway.JsonV2] = new JsonObject { ["schema"] = new JsonObject { ["type"] = "array", ["items"] = Ref("#/components/schemas/ConsumerRecord") } },
            }),
            ("400", "Bad timeout or max_bytes.", null),
            ("406", "Accept does not match the instance's format (error_code 40601).", null),
            ("409", "Neither subscribed nor assigned (error_code 40903).", null),
            ("500", "Kafka error, or a json instance met a record that is not JSON (error_code 50002).", null));
        ((JsonArray)records["parameters"]!).Add(QueryParam("timeout", "integer", "Longest wait, ms; only shortens the instance's consumer.request.timeout.ms."));
        ((JsonArray)records["parameters"]!).Add(QueryParam("max_bytes", "integer", "Most key plus value bytes (capped by ConsumerRequestMaxBytes)."));
        paths[Instance + "/records"] = new JsonObject { ["get"] = records };
    }

    private static JsonArray InstanceParams() => [PathParam("group", "string"), PathParam("instance", "string")];

    /// <summary>An operation on an instance; 404 (40403) is added to its responses.</summary>
    private static JsonObject InstanceOp(string summary, params (string Status, string Description, JsonObject? Content)[] responses)
    {
        var result = Responses(responses);
        result["404"] ??= ProblemResponse("Unknown instance (error_code 40403).");
        return Op("REST Proxy v2 consumer instance: " + summary, InstanceParams(), result);
    }

    private static JsonObject WithBody(JsonObject operation, JsonObject schema, bool required = true)
    {
        operation["requestBody"] = new JsonObject
        {
            ["required"] = required,
            ["content"] = new JsonObject
            {
                [HttpGateway.V2] = new JsonObject { ["schema"] = schema },
                ["application/json"] = new JsonObject { ["schema"] = schema.DeepClone() },
            },
        };
        return operation;
    }
}
