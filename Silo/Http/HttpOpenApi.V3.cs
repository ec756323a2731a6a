using System.Text.Json.Nodes;

namespace OrleansMQ.Silo.Http;

/// <summary>The REST Proxy v3 part of the OpenAPI document (routes in HttpGateway.V3.cs).</summary>
internal static partial class HttpOpenApi
{
    private const string V3Json = "application/json";

    static partial void AddV3Paths(JsonObject paths, JsonObject schemas)
    {
        const string root = "/v3/clusters";
        const string cluster = root + "/{cluster_id}";
        const string topic = cluster + "/topics/{topic_name}";
        const string group = cluster + "/consumer-groups/{consumer_group_id}";

        JsonArray Params(params string[] names) => new(names.Select(n => (JsonNode)PathParam(n, n == "partition_id" ? "integer" : "string")).ToArray());
        JsonObject Get(string summary, string schema, params string[] parameters) => Op(summary, Params(parameters), Responses(
            ("200", summary, JsonContent(V3Json, Ref("#/components/schemas/" + schema))),
            ("404", "Unknown cluster, topic, partition or group (error_code 404).", null)));

        schemas["V3Resource"] = new JsonObject
        {
            ["type"] = "object",
            ["description"] = "A REST Proxy v3 resource: kind, metadata (self, resource_name), its fields and related links.",
            ["properties"] = new JsonObject { ["kind"] = new JsonObject { ["type"] = "string" }, ["metadata"] = new JsonObject { ["type"] = "object" } },
        };
        schemas["V3List"] = new JsonObject
        {
            ["type"] = "object",
            ["description"] = "A REST Proxy v3 list: kind, metadata (self, next) and data (resources).",
            ["properties"] = new JsonObject
            {
                ["kind"] = new JsonObject { ["type"] = "string" },
                ["metadata"] = new JsonObject { ["type"] = "object" },
                ["data"] = new JsonObject { ["type"] = "array", ["items"] = Ref("#/components/schemas/V3Resource") },
            },
        };
        schemas["V3ProduceRecord"] = new JsonObject
        {
            ["type"] = "object",
            ["properties"] = new JsonObject
            {
                ["partition_id"] = new JsonObject { ["type"] = "integer" },
                ["headers"] = new JsonObject { ["type"] = "array", ["items"] = ObjectOf("name", "value") },
                ["key"] = ObjectOf("type", "data"),
                ["value"] = ObjectOf("type", "data"),
                ["timestamp"] = new JsonObject { ["type"] = "string", ["format"] = "date-time" },
            },
        };
        schemas["V3DeliveryReport"] = ObjectOf("error_code", "message", "cluster_id", "topic_name", "partition_id", "offset", "timestamp", "key", "value");

        paths[root] = new JsonObject { ["get"] = Op("REST Proxy v3: the cluster (one).", responses: Responses(("200", "KafkaClusterList.", JsonContent(V3Json, Ref("#/components/schemas/V3List"))))) };
        paths[cluster] = new JsonObject { ["get"] = Get("KafkaCluster.", "V3Resource", "cluster_id") };
        paths[cluster + "/brokers"] = new JsonObject { ["get"] = Get("KafkaBrokerList (this silo).", "V3List", "cluster_id") };
        var createTopic = Op("Create a topic (topic_name, partitions_count, replication_factor, configs [{name,value}], validate_only).", Params("cluster_id"), Responses(
            ("201", "KafkaTopic.", JsonContent(V3Json, Ref("#/components/schemas/V3Resource"))),
            ("400", "Bad body, invalid settings, or the topic exists (error_code 40002).", null),
            ("404", "Unknown cluster.", null)));
        createTopic["requestBody"] = new JsonObject { ["required"] = true, ["content"] = JsonContent(V3Json, ObjectOf("topic_name", "partitions_count", "replication_factor", "configs", "validate_only")) };
        paths[cluster + "/topics"] = new JsonObject { ["get"] = Get("KafkaTopicList.", "V3List", "cluster_id"), ["post"] = createTopic };
        paths[topic] = new JsonObject
        {
            ["get"] = Get("KafkaTopic.", "V3Resource", "cluster_id", "topic_name"),
            ["delete"] = Op("Delete a topic.", Params("cluster_id", "topic_name"), Responses(
                ("403", "Internal topic.", null),
                ("404", "Unknown cluster or topic.", null))),
        };
        ((JsonObject)paths[topic]!["delete"]!["responses"]!)["204"] = new JsonObject { ["description"] = "Deleted." };
        paths[topic + "/partitions"] = new JsonObject { ["get"] = Get("KafkaPartitionList (with log_start_offset and log_end_offset).", "V3List", "cluster_id", "topic_name") };
        paths[topic + "/partitions/{partition_id}"] = new JsonObject { ["get"] = Get("KafkaPartition.", "V3Resource", "cluster_id", "topic_name", "partition_id") };
        paths[topic + "/configs"] = new JsonObject { ["get"] = Get("KafkaTopicConfigList.", "V3List", "cluster_id", "topic_name") };
        var produce = Op("Produce: one record, or concatenated records (streaming mode, usually chunked) answered by one delivery report each, in order.", Params("cluster_id", "topic_name"), Responses(
            ("200", "The delivery report (one record), or a stream of reports each with its own error_code (200 = stored).", JsonContent(V3Json, Ref("#/components/schemas/V3DeliveryReport"))),
            ("400", "Bad JSON or an invalid single record.", null),
            ("403", "Internal topic.", null),
            ("404", "Unknown cluster, topic or partition.", null),
            ("413", "Body over MaxRequestBodyBytes, or a single record over max.message.bytes.", null),
            ("415", "Not application/json.", null)));
        produce["requestBody"] = new JsonObject { ["required"] = true, ["content"] = JsonContent(V3Json, Ref("#/components/schemas/V3ProduceRecord")) };
        paths[topic + "/records"] = new JsonObject { ["post"] = produce };

        paths[cluster + "/consumer-groups"] = new JsonObject { ["get"] = Get("KafkaConsumerGroupList.", "V3List", "cluster_id") };
        paths[group] = new JsonObject { ["get"] = Get("KafkaConsumerGroup.", "V3Resource", "cluster_id", "consumer_group_id") };
        paths[group + "/lags"] = new JsonObject { ["get"] = Get("KafkaConsumerLagList: per partition current_offset, log_end_offset, lag, consumer.", "V3List", "cluster_id", "consumer_group_id") };
        paths[group + "/lag-summary"] = new JsonObject { ["get"] = Get("KafkaConsumerGroupLagSummary: max and total lag.", "V3Resource", "cluster_id", "consumer_group_id") };
    }
}
