using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using OrleansMQ.Silo.Groups;
using OrleansMQ.Silo.Produce;
using OrleansMQ.Silo.Topics;

namespace OrleansMQ.Silo.Http;

/// <summary>
/// Confluent REST Proxy v3 (<c>application/json</c>): the cluster, topics (list, create, describe,
/// delete), partitions, topic configs, records (produce, one record or a stream of concatenated
/// JSON records) and consumer groups with lag. Resources carry REST Proxy's <c>kind</c>,
/// <c>metadata.self</c> and <c>related</c> links so its clients and scripts read them unchanged.
/// </summary>
internal sealed partial class HttpGateway
{
    private const string V3Root = "/v3/clusters";

    partial void MapV3(IEndpointRouteBuilder app)
    {
        app.MapGet(V3Root, (HttpContext c) => V3Result(new JsonObject
        {
            ["kind"] = "KafkaClusterList",
            ["metadata"] = ListMetadata(c, V3Root),
            ["data"] = new JsonArray(ClusterJson(c)),
        }));
        app.MapGet(V3Root + "/{cluster_id}", (HttpContext c, string cluster_id) => Cluster(cluster_id) ?? V3Result(ClusterJson(c)));
        app.MapGet(V3Root + "/{cluster_id}/brokers", (HttpContext c, string cluster_id) => Cluster(cluster_id) ?? V3Result(new JsonObject
        {
            ["kind"] = "KafkaBrokerList",
            ["metadata"] = ListMetadata(c, $"{V3Root}/{cluster_id}/brokers"),
            ["data"] = new JsonArray(BrokerJson(c)),
        }));

        app.MapGet(V3Root + "/{cluster_id}/topics", V3ListTopics);
        app.MapPost(V3Root + "/{cluster_id}/topics", V3CreateTopicAsync);
        app.MapGet(V3Root + "/{cluster_id}/topics/{topic_name}", V3GetTopicAsync);
        app.MapDelete(V3Root + "/{cluster_id}/topics/{topic_name}", V3DeleteTopicAsync);
        app.MapGet(V3Root + "/{cluster_id}/topics/{topic_name}/partitions", V3ListPartitionsAsync);
        app.MapGet(V3Root + "/{cluster_id}/topics/{topic_name}/partitions/{partition_id:int}", V3GetPartitionAsync);
        app.MapGet(V3Root + "/{cluster_id}/topics/{topic_name}/configs", V3TopicConfigsAsync);
        app.MapPost(V3Root + "/{cluster_id}/topics/{topic_name}/records", V3ProduceAsync);

        app.MapGet(V3Root + "/{cluster_id}/consumer-groups", V3ListGroups);
        app.MapGet(V3Root + "/{cluster_id}/consumer-groups/{consumer_group_id}", V3GetGroupAsync);
        app.MapGet(V3Root + "/{cluster_id}/consumer-groups/{consumer_group_id}/lags", V3GroupLagsAsync);
        app.MapGet(V3Root + "/{cluster_id}/consumer-groups/{consumer_group_id}/lag-summary", V3GroupLagSummaryAsync);
    }

    // ---- resources ----

    private string ClusterId => _identity.ClusterId;

    /// <summary>Null when the id is this cluster's; otherwise the 404 to answer.</summary>
    private IResult? Cluster(string clusterId) =>
        clusterId == ClusterId ? null : V3Problem(404, "Cluster not found", $"Cluster '{clusterId}' not found; this cluster is '{ClusterId}'.");

    private static string BaseUrl(HttpContext c) => c.Request.Scheme + "://" + c.Request.Host.Value;

    private static JsonObject Related(HttpContext c, string path) => new() { ["related"] = BaseUrl(c) + path };

    private static JsonObject ListMetadata(HttpContext c, string path) => new() { ["self"] = BaseUrl(c) + path, ["next"] = null };

    private JsonObject ResourceMetadata(HttpContext c, string path, string resource) => new()
    {
        ["self"] = BaseUrl(c) + path,
        ["resource_name"] = $"crn:///kafka={ClusterId}" + resource,
    };

    private JsonObject ClusterJson(HttpContext c)
    {
        string self = $"{V3Root}/{ClusterId}";
        return new JsonObject
        {
            ["kind"] = "KafkaCluster",
            ["metadata"] = ResourceMetadata(c, self, ""),
            ["cluster_id"] = ClusterId,
            ["controller"] = Related(c, $"{self}/brokers/{_identity.NodeId}"),
            ["acls"] = Related(c, self + "/acls"),
            ["brokers"] = Related(c, self + "/brokers"),
            ["broker_configs"] = Related(c, self + "/broker-configs"),
            ["consumer_groups"] = Related(c, self + "/consumer-groups"),
            ["topics"] = Related(c, self + "/topics"),
            ["partition_reassignments"] = Related(c, self + "/topics/-/partitions/-/reassignment"),
        };
    }

    private JsonObject BrokerJson(HttpContext c)
    {
        string self = $"{V3Root}/{ClusterId}/brokers/{_identity.NodeId}";
        return new JsonObject
        {
            ["kind"] = "KafkaBroker",
            ["metadata"] = ResourceMetadata(c, self, $"/broker={_identity.NodeId}"),
            ["cluster_id"] = ClusterId,
            ["broker_id"] = _identity.NodeId,
            ["host"] = _identity.AdvertisedHost,
            ["port"] = _identity.AdvertisedPort,
            ["rack"] = null,
            ["configs"] = Related(c, self + "/configs"),
            ["partition_replicas"] = Related(c, self + "/partition-replicas"),
        };
    }

    private JsonObject TopicJson(HttpContext c, TopicMetadata topic)
    {
        string self = $"{V3Root}/{ClusterId}/topics/{topic.Name}";
        return new JsonObject
        {
            ["kind"] = "KafkaTopic",
            ["metadata"] = ResourceMetadata(c, self, $"/topic={topic.Name}"),
            ["cluster_id"] = ClusterId,
            ["topic_name"] = topic.Name,
            ["is_internal"] = topic.IsInternal,
            ["replication_factor"] = 1,
            ["partitions_count"] = topic.Partitions.Length,
            ["partitions"] = Related(c, self + "/partitions"),
            ["configs"] = Related(c, self + "/configs"),
            ["partition_reassignments"] = Related(c, self + "/partitions/-/reassignment"),
        };
    }

    private JsonObject PartitionJson(HttpContext c, TopicMetadata topic, int partition)
    {
        string self = $"{V3Root}/{ClusterId}/topics/{topic.Name}/partitions/{partition}";
        return new JsonObject
        {
            ["kind"] = "KafkaPartition",
            ["metadata"] = ResourceMetadata(c, self, $"/topic={topic.Name}/partition={partition}"),
            ["cluster_id"] = ClusterId,
            ["topic_name"] = topic.Name,
            ["partition_id"] = partition,
            ["leader"] = Related(c, $"{self}/replicas/{_identity.NodeId}"),
            ["replicas"] = Related(c, self + "/replicas"),
            ["reassignment"] = Related(c, self + "/reassignment"),

            // Not in REST Proxy's schema; extra fields are ignored by its clients and save a browse call.
            ["log_start_offset"] = topic.Partitions[partition].LogStartOffset,
            ["log_end_offset"] = topic.Partitions[partition].HighWatermark,
        };
    }

    private static IResult V3Result(JsonNode node, int status = 200) =>
        Results.Text(node.ToJsonString(), "application/json", Encoding.UTF8, status);

    /// <summary>REST Proxy v3 errors carry <c>error_code</c> (the HTTP status, or a finer code) and <c>message</c>.</summary>
    private static IResult V3Problem(int status, string title, string detail, int? errorCode = null) => Problem(status, title, detail, errorCode ?? status);

    private async Task<(TopicMetadata? Topic, IResult? Error)> V3TopicAsync(string clusterId, string topicName, CancellationToken cancellationToken)
    {
        if (Cluster(clusterId) is { } error)
        {
            return (null, error);
        }

        var (meta, _) = await _topics.GetOrAutoCreateAsync(topicName, allowAutoCreate: false, cancellationToken).ConfigureAwait(false);
        return meta is null ? (null, V3Problem(404, "Topic not found", $"This server does not host topic '{topicName}'.")) : (meta, null);
    }

    // ---- topics ----

    private IResult V3ListTopics(HttpContext c, string cluster_id)
    {
        if (Cluster(cluster_id) is { } error)
        {
            return error;
        }

        var data = new JsonArray();
        foreach (var t in _catalog.All)
        {
            data.Add(TopicJson(c, t));
        }

        return V3Result(new JsonObject { ["kind"] = "KafkaTopicList", ["metadata"] = ListMetadata(c, $"{V3Root}/{cluster_id}/topics"), ["data"] = data });
    }

    private async Task<IResult> V3CreateTopicAsync(HttpContext c, string cluster_id)
    {
        if (Cluster(cluster_id) is { } error)
        {
            return error;
        }

        var (body, bodyError) = await ReadV3BodyAsync(c).ConfigureAwait(false);
        if (bodyError is not null)
        {
            return bodyError;
        }

        var root = body!.Value;
        if (!root.TryGetProperty("topic_name", out var nameElement) || nameElement.ValueKind != JsonValueKind.String)
        {
            return V3Problem(400, "Bad Request", "topic_name (a string) is required.");
        }

        int partitions = -1;
        short replication = -1;
        if (root.TryGetProperty("partitions_count", out var pc) && pc.ValueKind != JsonValueKind.Null && !pc.TryGetInt32(out partitions))
        {
            return V3Problem(400, "Bad Request", "partitions_count must be an integer.");
        }

        if (root.TryGetProperty("replication_factor", out var rf) && rf.ValueKind != JsonValueKind.Null && !rf.TryGetInt16(out replication))
        {
            return V3Problem(400, "Bad Request", "replication_factor must be an integer.");
        }

        var configs = new List<KeyValuePair<string, string?>>();
        if (root.TryGetProperty("configs", out var cfg) && cfg.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in cfg.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("name", out var n) || n.ValueKind != JsonValueKind.String)
                {
                    return V3Problem(400, "Bad Request", "each configs entry needs a name.");
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
                TopicError.AlreadyExists => V3Problem(400, "Topic already exists", result.Message ?? $"Topic '{name}' already exists.", 40002),
                TopicError.Unavailable => V3Problem(503, "Try again", result.Message ?? result.Error.ToString()),
                _ => V3Problem(400, "Bad Request", result.Message ?? result.Error.ToString()),
            };
        }

        if (validateOnly)
        {
            return V3Result(new JsonObject { ["kind"] = "KafkaTopic", ["cluster_id"] = ClusterId, ["topic_name"] = name, ["validate_only"] = true }, 201);
        }

        var (meta, _) = await _topics.GetOrAutoCreateAsync(name, allowAutoCreate: false, c.RequestAborted).ConfigureAwait(false);
        return meta is null ? V3Problem(500, "Internal Server Error", $"Topic '{name}' was created but is not in the catalog.") : V3Result(TopicJson(c, meta), 201);
    }

    private async Task<IResult> V3GetTopicAsync(HttpContext c, string cluster_id, string topic_name)
    {
        var (meta, error) = await V3TopicAsync(cluster_id, topic_name, c.RequestAborted).ConfigureAwait(false);
        return error ?? V3Result(TopicJson(c, meta!));
    }

    private async Task<IResult> V3DeleteTopicAsync(HttpContext c, string cluster_id, string topic_name)
    {
        var (meta, error) = await V3TopicAsync(cluster_id, topic_name, c.RequestAborted).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        if (meta!.IsInternal)
        {
            return V3Problem(403, "Forbidden", $"'{topic_name}' is an internal topic.");
        }

        var result = await _topics.DeleteAsync(topic_name, c.RequestAborted).ConfigureAwait(false);
        return result.IsOk ? Results.NoContent() : V3Problem(result.Error switch { TopicError.UnknownTopic => 404, TopicError.Unavailable => 503, _ => 400 }, "Delete failed", result.Message ?? result.Error.ToString());
    }

    private async Task<IResult> V3ListPartitionsAsync(HttpContext c, string cluster_id, string topic_name)
    {
        var (meta, error) = await V3TopicAsync(cluster_id, topic_name, c.RequestAborted).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        var data = new JsonArray();
        for (int p = 0; p < meta!.Partitions.Length; p++)
        {
            data.Add(PartitionJson(c, meta, p));
        }

        return V3Result(new JsonObject { ["kind"] = "KafkaPartitionList", ["metadata"] = ListMetadata(c, $"{V3Root}/{cluster_id}/topics/{topic_name}/partitions"), ["data"] = data });
    }

    private async Task<IResult> V3GetPartitionAsync(HttpContext c, string cluster_id, string topic_name, int partition_id)
    {
        var (meta, error) = await V3TopicAsync(cluster_id, topic_name, c.RequestAborted).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        return partition_id < 0 || partition_id >= meta!.Partitions.Length
            ? V3Problem(404, "Partition not found", $"This server does not host partition {partition_id} of topic '{topic_name}'.")
            : V3Result(PartitionJson(c, meta, partition_id));
    }

    private async Task<IResult> V3TopicConfigsAsync(HttpContext c, string cluster_id, string topic_name)
    {
        var (meta, error) = await V3TopicAsync(cluster_id, topic_name, c.RequestAborted).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        var data = new JsonArray();
        string self = $"{V3Root}/{cluster_id}/topics/{topic_name}/configs";
        foreach (var (name, _) in TopicConfig.Defaults.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            bool isDefault = !meta!.Config.Values.ContainsKey(name);
            data.Add(new JsonObject
            {
                ["kind"] = "KafkaTopicConfig",
                ["metadata"] = ResourceMetadata(c, $"{self}/{name}", $"/topic={topic_name}/config={name}"),
                ["cluster_id"] = ClusterId,
                ["topic_name"] = topic_name,
                ["name"] = name,
                ["value"] = meta.Config.Get(name),
                ["is_default"] = isDefault,
                ["is_read_only"] = false,
                ["is_sensitive"] = false,
                ["source"] = isDefault ? "DEFAULT_CONFIG" : "DYNAMIC_TOPIC_CONFIG",
                ["synonyms"] = new JsonArray(),
            });
        }

        return V3Result(new JsonObject { ["kind"] = "KafkaTopicConfigList", ["metadata"] = ListMetadata(c, self), ["data"] = data });
    }

    // ---- records ----

    /// <summary>
    /// Produces one record per JSON object in the body. A body of exactly one record answers with
    /// its delivery report (or its error as the HTTP status); a body of several concatenated
    /// records — REST Proxy's streaming mode, usually sent chunked — answers 200 with one report
    /// per record, in order, each with its own <c>error_code</c>, written as each is appended.
    /// The whole request is bounded by <see cref="HttpSettings.MaxRequestBodyBytes"/>.
    /// </summary>
    private async Task V3ProduceAsync(HttpContext c, string cluster_id, string topic_name)
    {
        var (meta, error) = await V3TopicAsync(cluster_id, topic_name, c.RequestAborted).ConfigureAwait(false);
        if (error is null && meta!.IsInternal)
        {
            error = V3Problem(403, "Forbidden", $"'{topic_name}' is an internal topic.");
        }

        if (error is null && MediaType(c.Request) != "application/json")
        {
            error = V3Problem(415, "Unsupported Media Type", $"Content type '{c.Request.ContentType}' is not supported; use application/json.");
        }

        if (error is not null)
        {
            await error.ExecuteAsync(c).ConfigureAwait(false);
            return;
        }

        bool streaming = c.Request.ContentLength is null; // chunked: answer as records arrive
        bool started = false;
        JsonObject? pending = null; // buffered single report (non-streaming), written at the end
        int count = 0;
        var body = c.Request.BodyReader;
        bool holding = false; // a ReadAsync not yet answered by AdvanceTo: the reader must get one even when we stop early
        ReadOnlySequence<byte> held = default;
        try
        {
            while (true)
            {
                var read = await body.ReadAsync(c.RequestAborted).ConfigureAwait(false);
                var buffer = read.Buffer;
                held = buffer;
                holding = true;
                while (NextJsonValue(ref buffer, read.IsCompleted) is { } document)
                {
                    JsonObject report;
                    using (document)
                    {
                        report = await ProduceOneV3Async(meta!, document.RootElement, c.RequestAborted).ConfigureAwait(false);
                    }

                    count++;
                    if (!streaming && count == 1)
                    {
                        pending = report;
                        continue;
                    }

                    if (!started)
                    {
                        started = true;
                        c.Response.StatusCode = 200;
                        c.Response.ContentType = "application/json";
                        if (pending is not null)
                        {
                            await WriteReportAsync(c, pending).ConfigureAwait(false);
                            pending = null;
                        }
                    }

                    await WriteReportAsync(c, report).ConfigureAwait(false);
                }

                holding = false;
                body.AdvanceTo(buffer.Start, buffer.End);
                if (read.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (JsonException ex)
        {
            if (!started)
            {
                await V3Problem(400, "Bad Request", "The body is not valid JSON: " + ex.Message).ExecuteAsync(c).ConfigureAwait(false);
                return;
            }

            await WriteReportAsync(c, new JsonObject { ["error_code"] = 400, ["message"] = "The rest of the stream is not valid JSON: " + ex.Message }).ConfigureAwait(false);
            return;
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            if (!started)
            {
                await V3Problem(413, "Payload Too Large", $"The body exceeds {_settings.MaxRequestBodyBytes} bytes.").ExecuteAsync(c).ConfigureAwait(false);
                return;
            }

            await WriteReportAsync(c, new JsonObject { ["error_code"] = 413, ["message"] = $"The stream exceeded {_settings.MaxRequestBodyBytes} bytes; open a new one." }).ConfigureAwait(false);
            return;
        }
        finally
        {
            if (holding)
            {
                body.AdvanceTo(held.End);
            }
        }

        if (started)
        {
            return;
        }

        if (pending is null)
        {
            await V3Problem(400, "Bad Request", "The body holds no record.").ExecuteAsync(c).ConfigureAwait(false);
            return;
        }

        int code = pending["error_code"]!.GetValue<int>();
        if (code != 200)
        {
            await V3Problem(code, "Produce failed", pending["message"]?.GetValue<string>() ?? "error").ExecuteAsync(c).ConfigureAwait(false);
            return;
        }

        await V3Result(pending).ExecuteAsync(c).ConfigureAwait(false);
    }

    /// <summary>
    /// The next complete top-level JSON value of a concatenated-JSON body, parsed, with
    /// <paramref name="buffer"/> moved past it; null when the buffer holds only part of one (read
    /// more) or nothing but whitespace. Values are taken as soon as they close, so a streaming
    /// client gets each report before it sends the next record. Throws JsonException on bad JSON
    /// (including a value cut off by the end of the body).
    /// </summary>
    private static JsonDocument? NextJsonValue(ref ReadOnlySequence<byte> buffer, bool isFinal)
    {
        // Whitespace between values (and at the end) is skipped here: the reader refuses an empty final block.
        buffer = buffer.Slice(LeadingWhitespace(buffer));
        if (buffer.IsEmpty)
        {
            return null;
        }

        var reader = new Utf8JsonReader(buffer, isFinal, default);
        if (!reader.Read())
        {
            if (isFinal && reader.BytesConsumed < buffer.Length)
            {
                throw new JsonException("incomplete JSON value at the end of the body");
            }

            buffer = buffer.Slice(reader.BytesConsumed); // whitespace only
            return null;
        }

        long start = reader.TokenStartIndex;
        if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && !reader.TrySkip())
        {
            if (isFinal)
            {
                throw new JsonException("incomplete JSON value at the end of the body");
            }

            buffer = buffer.Slice(start);
            return null;
        }

        var value = buffer.Slice(start, reader.BytesConsumed - start);
        var document = JsonDocument.Parse(value);
        buffer = buffer.Slice(reader.BytesConsumed);
        return document;
    }

    private static long LeadingWhitespace(in ReadOnlySequence<byte> buffer)
    {
        long skipped = 0;
        foreach (var segment in buffer)
        {
            int i = segment.Span.IndexOfAnyExcept(" \t\r\n"u8);
            if (i >= 0)
            {
                return skipped + i;
            }

            skipped += segment.Length;
        }

        return skipped;
    }

    private static async Task WriteReportAsync(HttpContext c, JsonObject report)
    {
        await c.Response.WriteAsync(report.ToJsonString() + "\n", c.RequestAborted).ConfigureAwait(false);
        await c.Response.Body.FlushAsync(c.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Validates and appends one v3 record; returns its delivery report (error_code 200 when stored).</summary>
    private async Task<JsonObject> ProduceOneV3Async(TopicMetadata meta, JsonElement r, CancellationToken cancellationToken)
    {
        static JsonObject Error(int code, string message) => new() { ["error_code"] = code, ["message"] = message };

        if (r.ValueKind != JsonValueKind.Object)
        {
            return Error(400, "A record must be a JSON object.");
        }

        int? partition = null;
        if (r.TryGetProperty("partition_id", out var p) && p.ValueKind != JsonValueKind.Null)
        {
            if (!p.TryGetInt32(out int pid))
            {
                return Error(400, "partition_id must be an integer.");
            }

            if (pid < 0 || pid >= meta.Partitions.Length)
            {
                return Error(404, $"This server does not host partition {pid} of topic '{meta.Name}'.");
            }

            partition = pid;
        }

        if (!TryV3Data(r, "key", out var key, out string? keyType, out string? keyError))
        {
            return Error(400, keyError!);
        }

        if (!TryV3Data(r, "value", out var value, out string? valueType, out string? valueError))
        {
            return Error(400, valueError!);
        }

        if (key is null && value is null)
        {
            return Error(400, "A record needs a key or a value.");
        }

        List<KeyValuePair<string, byte[]>>? headers = null;
        if (r.TryGetProperty("headers", out var h) && h.ValueKind == JsonValueKind.Array)
        {
            headers = new List<KeyValuePair<string, byte[]>>();
            foreach (var header in h.EnumerateArray())
            {
                if (header.ValueKind != JsonValueKind.Object || !header.TryGetProperty("name", out var hn) || hn.ValueKind != JsonValueKind.String)
                {
                    return Error(400, "Each header needs a name.");
                }

                byte[]? hv = null;
                if (header.TryGetProperty("value", out var hvElement) && hvElement.ValueKind != JsonValueKind.Null)
                {
                    if (hvElement.ValueKind != JsonValueKind.String || !TryBase64(hvElement.GetString()!, out hv))
                    {
                        return Error(400, $"Header '{hn.GetString()}': value must be base64.");
                    }
                }

                headers.Add(new(hn.GetString()!, hv!));
            }
        }
        else if (r.TryGetProperty("headers", out h) && h.ValueKind != JsonValueKind.Null)
        {
            return Error(400, "headers must be an array.");
        }

        long? timestamp = null;
        if (r.TryGetProperty("timestamp", out var ts) && ts.ValueKind != JsonValueKind.Null)
        {
            if (ts.ValueKind != JsonValueKind.String || !DateTimeOffset.TryParse(ts.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var when))
            {
                return Error(400, "timestamp must be an ISO 8601 date-time.");
            }

            timestamp = when.ToUnixTimeMilliseconds();
        }

        int size = (key?.Length ?? 0) + (value?.Length ?? 0) + (headers?.Sum(x => x.Key.Length + (x.Value?.Length ?? 0)) ?? 0);
        if (size > meta.Config.MaxMessageBytes)
        {
            return Error(413, $"The record ({size} bytes) is larger than the topic's max.message.bytes ({meta.Config.MaxMessageBytes}).");
        }

        int target = partition ?? _produce.ChoosePartition(key, key is not null, meta.Partitions.Length);
        // A null array must stay a null key/value (the array → memory conversion would make it empty).
        var record = new PendingRecord(target, key is null ? null : new ReadOnlyMemory<byte>(key), value is null ? null : new ReadOnlyMemory<byte>(value), headers, timestamp);
        var produced = (await _produce.ProduceRecordsAsync(meta, [record], cancellationToken).ConfigureAwait(false))[0];
        if (produced.Error != OrleansMQ.Protocol.Kafka.ErrorCode.None)
        {
            return Error(500, produced.Message ?? "append failed");
        }

        return new JsonObject
        {
            ["error_code"] = 200,
            ["cluster_id"] = ClusterId,
            ["topic_name"] = meta.Name,
            ["partition_id"] = produced.Partition,
            ["offset"] = produced.Offset,
            ["timestamp"] = DateTimeOffset.FromUnixTimeMilliseconds(produced.Timestamp).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
            ["key"] = key is null ? null : new JsonObject { ["type"] = keyType, ["size"] = key.Length },
            ["value"] = value is null ? null : new JsonObject { ["type"] = valueType, ["size"] = value.Length },
        };
    }

    /// <summary>
    /// A v3 key or value: <c>{"type": "BINARY"|"JSON"|"STRING", "data": …}</c>. BINARY data is base64,
    /// STRING its UTF-8 text, JSON the data's JSON text; without a type, JSON (as the v2 JSON
    /// format). Absent or <c>data: null</c> is a null key/value.
    /// </summary>
    private static bool TryV3Data(JsonElement record, string name, out byte[]? bytes, out string? type, out string? error)
    {
        bytes = null;
        type = null;
        error = null;
        if (!record.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            error = $"{name} must be an object with type and data.";
            return false;
        }

        type = "JSON";
        if (element.TryGetProperty("type", out var t) && t.ValueKind != JsonValueKind.Null)
        {
            type = t.ValueKind == JsonValueKind.String ? t.GetString()!.ToUpperInvariant() : "?";
        }

        if (element.TryGetProperty("schema", out _) || element.TryGetProperty("schema_id", out _) || element.TryGetProperty("subject", out _))
        {
            error = $"{name}: schemas are not supported (no schema registry); use BINARY, JSON or STRING.";
            return false;
        }

        if (!element.TryGetProperty("data", out var data) || data.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        switch (type)
        {
            case "BINARY":
                if (data.ValueKind != JsonValueKind.String || !TryBase64(data.GetString()!, out bytes))
                {
                    error = $"{name}.data is not valid base64.";
                    return false;
                }

                return true;
            case "STRING":
                if (data.ValueKind != JsonValueKind.String)
                {
                    error = $"{name}.data must be a string for type STRING.";
                    return false;
                }

                bytes = Encoding.UTF8.GetBytes(data.GetString()!);
                return true;
            case "JSON":
                bytes = Encoding.UTF8.GetBytes(data.GetRawText());
                return true;
            default:
                error = $"{name}.type must be BINARY, JSON or STRING.";
                return false;
        }
    }

    private static bool TryBase64(string text, out byte[]? bytes)
    {
        try
        {
            bytes = Convert.FromBase64String(text);
            return true;
        }
        catch (FormatException)
        {
            bytes = null;
            return false;
        }
    }

    private async Task<(JsonElement? Body, IResult? Error)> ReadV3BodyAsync(HttpContext c)
    {
        var (document, status, detail) = await ParseJsonBodyAsync(c).ConfigureAwait(false);
        if (document is null)
        {
            return (null, V3Problem(status, status == 413 ? "Payload Too Large" : "Bad Request", detail!));
        }

        using (document)
        {
            return document.RootElement.ValueKind == JsonValueKind.Object
                ? (document.RootElement.Clone(), null)
                : (null, V3Problem(400, "Bad Request", "The body must be a JSON object."));
        }
    }

    // ---- consumer groups ----

    private IResult? GroupsUnavailable() =>
        _groups.Availability != GroupError.None ? V3Problem(503, "Group coordinator loading", "The group coordinator is still loading; retry.") : null;

    private JsonObject GroupJson(HttpContext c, string groupId, GroupState state, string protocolType, string protocolName)
    {
        string self = $"{V3Root}/{ClusterId}/consumer-groups/{groupId}";
        return new JsonObject
        {
            ["kind"] = "KafkaConsumerGroup",
            ["metadata"] = ResourceMetadata(c, self, $"/consumer-group={groupId}"),
            ["cluster_id"] = ClusterId,
            ["consumer_group_id"] = groupId,
            ["is_simple"] = protocolType.Length == 0,
            ["partition_assignor"] = protocolName,
            ["state"] = GroupStateName(state),
            ["coordinator"] = Related(c, $"{V3Root}/{ClusterId}/brokers/{_identity.NodeId}"),
            ["consumers"] = Related(c, self + "/consumers"),
            ["lag_summary"] = Related(c, self + "/lag-summary"),
        };
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

    private IResult V3ListGroups(HttpContext c, string cluster_id)
    {
        if ((Cluster(cluster_id) ?? GroupsUnavailable()) is { } error)
        {
            return error;
        }

        var data = new JsonArray();
        foreach (var (id, state, protocolType) in _groups.List())
        {
            data.Add(GroupJson(c, id, state, protocolType, ""));
        }

        return V3Result(new JsonObject { ["kind"] = "KafkaConsumerGroupList", ["metadata"] = ListMetadata(c, $"{V3Root}/{cluster_id}/consumer-groups"), ["data"] = data });
    }

    private async Task<IResult> V3GetGroupAsync(HttpContext c, string cluster_id, string consumer_group_id)
    {
        if ((Cluster(cluster_id) ?? GroupsUnavailable()) is { } error)
        {
            return error;
        }

        var d = await _groups.DescribeAsync(consumer_group_id, c.RequestAborted).ConfigureAwait(false);
        return d.State == GroupState.Dead
            ? V3Problem(404, "Group not found", $"Consumer group '{consumer_group_id}' not found.")
            : V3Result(GroupJson(c, consumer_group_id, d.State, d.ProtocolType, d.ProtocolName));
    }

    private async Task<(GroupLag? Lag, IResult? Error)> V3LagAsync(string clusterId, string groupId, CancellationToken cancellationToken)
    {
        if ((Cluster(clusterId) ?? GroupsUnavailable()) is { } error)
        {
            return (null, error);
        }

        var lag = await _groups.DescribeLagAsync(groupId, cancellationToken).ConfigureAwait(false);
        return lag is null ? (null, V3Problem(404, "Group not found", $"Consumer group '{groupId}' not found.")) : (lag, null);
    }

    private async Task<IResult> V3GroupLagsAsync(HttpContext c, string cluster_id, string consumer_group_id)
    {
        var (lag, error) = await V3LagAsync(cluster_id, consumer_group_id, c.RequestAborted).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        string self = $"{V3Root}/{cluster_id}/consumer-groups/{consumer_group_id}/lags";
        var data = new JsonArray();
        foreach (var p in lag!.Partitions)
        {
            data.Add(new JsonObject
            {
                ["kind"] = "KafkaConsumerLag",
                ["metadata"] = ResourceMetadata(c, $"{self}/{p.Topic}/partitions/{p.Partition}", $"/consumer-group={consumer_group_id}/lag={p.Topic}/partition={p.Partition}"),
                ["cluster_id"] = ClusterId,
                ["consumer_group_id"] = consumer_group_id,
                ["topic_name"] = p.Topic,
                ["partition_id"] = p.Partition,
                ["current_offset"] = p.CommittedOffset,
                ["log_end_offset"] = p.LogEndOffset,
                ["lag"] = p.Lag,
                ["consumer_id"] = p.MemberId ?? "",
                ["client_id"] = p.ClientId ?? "",
            });
        }

        return V3Result(new JsonObject { ["kind"] = "KafkaConsumerLagList", ["metadata"] = ListMetadata(c, self), ["data"] = data });
    }

    private async Task<IResult> V3GroupLagSummaryAsync(HttpContext c, string cluster_id, string consumer_group_id)
    {
        var (lag, error) = await V3LagAsync(cluster_id, consumer_group_id, c.RequestAborted).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        var max = lag!.Partitions.Where(p => p.Lag is not null).MaxBy(p => p.Lag);
        string self = $"{V3Root}/{cluster_id}/consumer-groups/{consumer_group_id}/lag-summary";
        return V3Result(new JsonObject
        {
            ["kind"] = "KafkaConsumerGroupLagSummary",
            ["metadata"] = ResourceMetadata(c, self, $"/consumer-group={consumer_group_id}/lag-summary"),
            ["cluster_id"] = ClusterId,
            ["consumer_group_id"] = consumer_group_id,
            ["max_lag_consumer_id"] = max?.MemberId ?? "",
            ["max_lag_client_id"] = max?.ClientId ?? "",
            ["max_lag_topic_name"] = max?.Topic ?? "",
            ["max_lag_partition_id"] = max?.Partition ?? 0,
            ["max_lag"] = max?.Lag ?? 0,
            ["total_lag"] = lag.Partitions.Sum(p => p.Lag ?? 0),
        });
    }
}
