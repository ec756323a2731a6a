using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using OrleansMQ.Client;
using OrleansMQ.Client.Consumer;
using OrleansMQ.Silo.Http.RestProxy;

namespace OrleansMQ.Silo.Http;

/// <summary>
/// REST Proxy v2 consumer instances (<c>/consumers/...</c>). Each instance is a Kafka group member connected to
/// this silo's own Kafka listener over loopback (see <see cref="RestConsumerInstance"/>); the registry bounds and
/// expires them. Errors are problem documents with REST Proxy's <c>error_code</c>.
/// </summary>
internal sealed partial class HttpGateway : IAsyncDisposable
{
    private const string InstancePath = "/consumers/{group}/instances/{instance}";
    private const int MaxInstanceRequestTimeoutMs = 300_000;

    private RestConsumerRegistry? _consumerInstances;

    /// <summary>The consumer instances (null before <see cref="Map"/>).</summary>
    internal RestConsumerRegistry? ConsumerInstances => _consumerInstances;

    partial void MapConsumerInstances(IEndpointRouteBuilder app)
    {
        _consumerInstances = new RestConsumerRegistry(_settings, KafkaBootstrap, _catalog, _logger, addressMap: OwnAddressToListener);

        app.MapPost("/consumers/{group}", CreateConsumerAsync);
        app.MapDelete(InstancePath, async (string group, string instance) =>
        {
            try
            {
                await Instances.DeleteAsync(group, instance).ConfigureAwait(false);
                return Results.NoContent();
            }
            catch (RestConsumerException ex)
            {
                return RestProblem(ex.Status, ex.ErrorCode, ex.Title, ex.Message);
            }
        });

        app.MapPost(InstancePath + "/subscription", (HttpContext c, string group, string instance) => OnInstanceAsync(c, group, instance, SubscribeAsync));
        app.MapGet(InstancePath + "/subscription", (HttpContext c, string group, string instance) => OnInstanceAsync(c, group, instance, (i, _, _) =>
            Task.FromResult(JsonResult(new System.Text.Json.Nodes.JsonObject { ["topics"] = StringArray(i.Subscription) }, V2))));
        app.MapDelete(InstancePath + "/subscription", (HttpContext c, string group, string instance) => OnInstanceAsync(c, group, instance, async (i, _, _) =>
        {
            await i.UnsubscribeAsync().ConfigureAwait(false);
            return Results.NoContent();
        }));

        app.MapPost(InstancePath + "/assignments", (HttpContext c, string group, string instance) => OnInstanceAsync(c, group, instance, async (i, body, _) =>
        {
            var partitions = ParsePartitions(body, "partitions", allowEmpty: true);
            foreach (var tp in partitions)
            {
                i.Log(tp);
            }

            await i.AssignAsync(partitions).ConfigureAwait(false);
            return Results.NoContent();
        }));
        app.MapGet(InstancePath + "/assignments", (HttpContext c, string group, string instance) => OnInstanceAsync(c, group, instance, (i, _, _) =>
            Task.FromResult(JsonResult(new System.Text.Json.Nodes.JsonObject { ["partitions"] = PartitionArray(i.Assignment) }, V2))));

        app.MapPost(InstancePath + "/offsets", (HttpContext c, string group, string instance) => OnInstanceAsync(c, group, instance, async (i, body, ct) =>
        {
            // No body (or no "offsets"): commit everything returned so far. Listed offsets are those of the last
            // records processed; Kafka commits the next offset to read, so REST Proxy commits offset + 1.
            List<(OrleansMQ.Protocol.TopicPartition, long)>? offsets = null;
            if (body is { } b && b.ValueKind == JsonValueKind.Object && b.TryGetProperty("offsets", out _))
            {
                offsets = [.. ParseOffsets(b, "offsets").Select(o => (o.Partition, o.Offset + 1))];
            }

            await i.CommitAsync(offsets, ct).ConfigureAwait(false);
            return Results.Ok();
        }));
        app.MapGet(InstancePath + "/offsets", (HttpContext c, string group, string instance) => OnInstanceAsync(c, group, instance, async (i, body, ct) =>
        {
            // REST Proxy reads the partitions from a body on GET; without one, the current assignment.
            var partitions = body is null ? i.Assignment : ParsePartitions(body, "partitions", allowEmpty: true);
            var committed = await i.CommittedAsync(partitions, ct).ConfigureAwait(false);
            var array = new System.Text.Json.Nodes.JsonArray();
            foreach (var tp in partitions)
            {
                if (committed.TryGetValue(tp, out long offset) && offset >= 0)
                {
                    array.Add(new System.Text.Json.Nodes.JsonObject { ["topic"] = tp.Topic, ["partition"] = tp.Partition, ["offset"] = offset, ["metadata"] = "" });
                }
            }

            return JsonResult(new System.Text.Json.Nodes.JsonObject { ["offsets"] = array }, V2);
        }));

        app.MapPost(InstancePath + "/positions", (HttpContext c, string group, string instance) => OnInstanceAsync(c, group, instance, (i, body, _) =>
        {
            var offsets = ParseOffsets(body, "offsets");
            foreach (var (tp, _) in offsets)
            {
                i.Log(tp);
            }

            i.Seek(offsets);
            return Task.FromResult(Results.NoContent());
        }));
        app.MapPost(InstancePath + "/positions/beginning", (HttpContext c, string group, string instance) => OnInstanceAsync(c, group, instance, (i, body, _) =>
        {
            i.Seek(i.Boundaries(ParsePartitions(body, "partitions", allowEmpty: false), end: false));
            return Task.FromResult(Results.NoContent());
        }));
        app.MapPost(InstancePath + "/positions/end", (HttpContext c, string group, string instance) => OnInstanceAsync(c, group, instance, (i, body, _) =>
        {
            i.Seek(i.Boundaries(ParsePartitions(body, "partitions", allowEmpty: false), end: true));
            return Task.FromResult(Results.NoContent());
        }));

        app.MapGet(InstancePath + "/records", (HttpContext c, string group, string instance) => OnInstanceAsync(c, group, instance, (i, _, ct) => RecordsAsync(c, i, ct), readBody: false));
    }

    /// <summary>Closes every consumer instance (each leaves its group); the hosted service calls it before the broker stops.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_consumerInstances is not null)
        {
            await _consumerInstances.DisposeAsync().ConfigureAwait(false);
        }
    }

    private RestConsumerRegistry Instances => _consumerInstances ?? throw new InvalidOperationException("Consumer instances are not mapped.");

    /// <summary>The silo's own Kafka listener: its address when bound to a specific one, else loopback.</summary>
    /// <summary>This silo's advertised address → its listener (other brokers' addresses unchanged).</summary>
    private OrleansMQ.Client.BrokerAddress OwnAddressToListener(OrleansMQ.Client.BrokerAddress advertised)
    {
        if (!string.Equals(advertised.Host, _identity.AdvertisedHost, StringComparison.OrdinalIgnoreCase) || advertised.Port != _identity.AdvertisedPort)
        {
            return advertised;
        }

        return OrleansMQ.Client.BrokerAddress.ParseList(KafkaBootstrap())[0];
    }

    private string KafkaBootstrap()
    {
        var endPoint = _listener.LocalEndPoint ?? throw new InvalidOperationException("The Kafka listener has not started.");
        var address = endPoint.Address;
        if (address.Equals(IPAddress.Any))
        {
            address = IPAddress.Loopback;
        }
        else if (address.Equals(IPAddress.IPv6Any))
        {
            address = IPAddress.IPv6Loopback;
        }

        string host = address.AddressFamily == AddressFamily.InterNetworkV6 ? "[" + address + "]" : address.ToString();
        return host + ":" + endPoint.Port.ToString(CultureInfo.InvariantCulture);
    }

    // ---- create ----

    private async Task<IResult> CreateConsumerAsync(HttpContext context, string group)
    {
        try
        {
            var body = await ReadConsumerBodyAsync(context).ConfigureAwait(false);
            var config = ParseConsumerConfig(body);
            var instance = Instances.Create(group, config);
            string baseUri = $"{context.Request.Scheme}://{context.Request.Host}/consumers/{Uri.EscapeDataString(group)}/instances/{Uri.EscapeDataString(instance.Name)}";
            LogConsumerCreated(_logger, group, instance.Name, config.Format);
            return JsonResult(new System.Text.Json.Nodes.JsonObject { ["instance_id"] = instance.Name, ["base_uri"] = baseUri }, V2);
        }
        catch (RestConsumerException ex)
        {
            return RestProblem(ex.Status, ex.ErrorCode, ex.Title, ex.Message);
        }
    }

    private RestConsumerConfig ParseConsumerConfig(JsonElement? body)
    {
        string? name = null;
        var format = RestFormat.Binary;
        var reset = AutoOffsetReset.Latest;
        bool autoCommit = true;
        long minBytes = -1;
        int timeoutMs = _settings.ConsumerRequestTimeoutMs;
        if (body is { } b)
        {
            if (b.ValueKind != JsonValueKind.Object)
            {
                throw new RestConsumerException(422, 422, "Unprocessable Entity", "The body must be a JSON object.");
            }

            name = OptionalString(b, "name") ?? OptionalString(b, "id");
            if (OptionalString(b, "format") is { } f)
            {
                format = f.ToLowerInvariant() switch
                {
                    "binary" => RestFormat.Binary,
                    "json" => RestFormat.Json,
                    "avro" or "jsonschema" or "protobuf" => throw RestConsumerException.Invalid($"format '{f}' needs Schema Registry, which OrleansMQ does not have; use binary or json."),
                    _ => throw RestConsumerException.Invalid($"format must be binary or json; got '{f}'."),
                };
            }

            if (OptionalString(b, "auto.offset.reset") is { } r)
            {
                reset = r.ToLowerInvariant() switch
                {
                    "earliest" or "smallest" => AutoOffsetReset.Earliest,
                    "latest" or "largest" => AutoOffsetReset.Latest,
                    "none" => AutoOffsetReset.Error,
                    _ => throw RestConsumerException.Invalid($"auto.offset.reset must be earliest, latest or none; got '{r}'."),
                };
            }

            if (b.TryGetProperty("auto.commit.enable", out var ac) && ac.ValueKind != JsonValueKind.Null)
            {
                autoCommit = ac.ValueKind switch
                {
                    JsonValueKind.True => true,
                    JsonValueKind.False => false,
                    JsonValueKind.String when bool.TryParse(ac.GetString(), out bool parsed) => parsed,
                    _ => throw RestConsumerException.Invalid("auto.commit.enable must be true or false."),
                };
            }

            if (OptionalLong(b, "fetch.min.bytes") is { } mb)
            {
                minBytes = mb >= -1 ? mb : throw RestConsumerException.Invalid($"fetch.min.bytes must be -1 (none) or more; got {mb}.");
            }

            if (OptionalLong(b, "consumer.request.timeout.ms") is { } t)
            {
                timeoutMs = t is >= 0 and <= MaxInstanceRequestTimeoutMs ? (int)t : throw RestConsumerException.Invalid($"consumer.request.timeout.ms must be 0-{MaxInstanceRequestTimeoutMs}; got {t}.");
            }
        }

        name ??= "rest-consumer-" + Guid.NewGuid().ToString("N");
        if (name.Length is 0 or > 249 || name.Any(ch => ch == '/' || char.IsControl(ch) || char.IsWhiteSpace(ch)))
        {
            throw RestConsumerException.Invalid("name must be 1-249 characters without '/', spaces or control characters.");
        }

        return new RestConsumerConfig(name, format, reset, autoCommit, minBytes, timeoutMs);
    }

    private static string? OptionalString(JsonElement body, string property)
    {
        if (!body.TryGetProperty(property, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw RestConsumerException.Invalid($"{property} must be a string.");
    }

    /// <summary>REST Proxy clients send numbers as JSON numbers or as strings; both are accepted.</summary>
    private static long? OptionalLong(JsonElement body, string property)
    {
        if (!body.TryGetProperty(property, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out long n))
        {
            return n;
        }

        if (value.ValueKind == JsonValueKind.String && long.TryParse(value.GetString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out n))
        {
            return n;
        }

        throw RestConsumerException.Invalid($"{property} must be an integer.");
    }

    // ---- instance requests ----

    /// <summary>Finds the instance (404/40403), reads the JSON body (400 when not JSON), runs the action alone on the instance.</summary>
    private async Task<IResult> OnInstanceAsync(HttpContext context, string group, string name, Func<RestConsumerInstance, JsonElement?, CancellationToken, Task<IResult>> action, bool readBody = true)
    {
        try
        {
            var instance = Instances.Get(group, name);
            JsonElement? body = readBody ? await ReadConsumerBodyAsync(context).ConfigureAwait(false) : null;
            return await instance.RunAsync((i, ct) => action(i, body, ct), context.RequestAborted).ConfigureAwait(false);
        }
        catch (RestConsumerException ex)
        {
            return RestProblem(ex.Status, ex.ErrorCode, ex.Title, ex.Message);
        }
        catch (KafkaException ex)
        {
            LogConsumerRequestFailed(_logger, group, name, ex.Message);
            return ex.IsRetriable ? RestProblem(500, 50003, "Retriable Kafka error", ex.Message) : RestProblem(500, 50002, "Kafka error", ex.Message);
        }
        catch (InvalidOperationException ex)
        {
            // A partition revoked by a rebalance between our check and the consumer call.
            return RestProblem(409, 40903, "Illegal state", "Illegal state: " + ex.Message);
        }
    }

    /// <summary>The JSON body, or null when there is none. Content types: REST Proxy's (vnd.kafka…+json) or application/json.</summary>
    private static async Task<JsonElement?> ReadConsumerBodyAsync(HttpContext context)
    {
        var request = context.Request;
        string mediaType = MediaType(request);
        if (mediaType.Length > 0 && mediaType != "application/json" && !(mediaType.StartsWith("application/vnd.kafka", StringComparison.Ordinal) && mediaType.EndsWith("+json", StringComparison.Ordinal)))
        {
            throw new RestConsumerException(415, 415, "Unsupported Media Type", $"Content type '{request.ContentType}' is not supported; use {V2}.");
        }

        // Read first (Kestrel caps it at MaxRequestBodyBytes): an empty body, chunked or not, is no body.
        byte[] bytes;
        try
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
            bytes = buffer.ToArray();
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw new RestConsumerException(413, 413, "Payload Too Large", "The body is too large.");
        }

        if (bytes.AsSpan().Trim(" \t\r\n"u8).IsEmpty)
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(bytes);
            return document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new RestConsumerException(400, 400, "Bad Request", "The body is not valid JSON: " + ex.Message);
        }
    }

    private static async Task<IResult> SubscribeAsync(RestConsumerInstance instance, JsonElement? body, CancellationToken cancellationToken)
    {
        if (body is not { ValueKind: JsonValueKind.Object } b)
        {
            throw new RestConsumerException(422, 422, "Unprocessable Entity", "The body must be {\"topics\":[…]} or {\"topic_pattern\":\"…\"}.");
        }

        bool hasTopics = b.TryGetProperty("topics", out var topics) && topics.ValueKind != JsonValueKind.Null;
        bool hasPattern = b.TryGetProperty("topic_pattern", out var pattern) && pattern.ValueKind != JsonValueKind.Null;
        if (hasTopics == hasPattern)
        {
            throw new RestConsumerException(422, 422, "Unprocessable Entity", "Give exactly one of \"topics\" (a list) and \"topic_pattern\".");
        }

        if (hasTopics)
        {
            if (topics.ValueKind != JsonValueKind.Array || topics.GetArrayLength() == 0 || topics.EnumerateArray().Any(t => t.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(t.GetString())))
            {
                throw new RestConsumerException(422, 422, "Unprocessable Entity", "\"topics\" must be a non-empty list of topic names.");
            }

            await instance.SubscribeAsync([.. topics.EnumerateArray().Select(t => t.GetString()!).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)], null).ConfigureAwait(false);
            return Results.NoContent();
        }

        Regex regex;
        try
        {
            // Kafka matches the whole topic name (Java's Matcher.matches).
            regex = new Regex("^(?:" + (pattern.ValueKind == JsonValueKind.String ? pattern.GetString() : throw new ArgumentException("not a string")) + ")$", RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));
        }
        catch (ArgumentException ex)
        {
            throw new RestConsumerException(422, 422, "Unprocessable Entity", "\"topic_pattern\" is not a valid regular expression: " + ex.Message);
        }

        cancellationToken.ThrowIfCancellationRequested();
        await instance.SubscribeAsync(null, regex).ConfigureAwait(false);
        return Results.NoContent();
    }

    private static List<OrleansMQ.Protocol.TopicPartition> ParsePartitions(JsonElement? body, string property, bool allowEmpty)
    {
        if (body is not { ValueKind: JsonValueKind.Object } b || !b.TryGetProperty(property, out var list) || list.ValueKind != JsonValueKind.Array || (!allowEmpty && list.GetArrayLength() == 0))
        {
            throw new RestConsumerException(422, 422, "Unprocessable Entity", $"The body must be {{\"{property}\":[{{\"topic\":…,\"partition\":…}}]}}{(allowEmpty ? "" : " with at least one partition")}.");
        }

        var result = new List<OrleansMQ.Protocol.TopicPartition>();
        int index = 0;
        foreach (var item in list.EnumerateArray())
        {
            result.Add(ParsePartition(item, property, index++));
        }

        return [.. result.Distinct()];
    }

    private static List<(OrleansMQ.Protocol.TopicPartition Partition, long Offset)> ParseOffsets(JsonElement? body, string property)
    {
        if (body is not { ValueKind: JsonValueKind.Object } b || !b.TryGetProperty(property, out var list) || list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
        {
            throw new RestConsumerException(422, 422, "Unprocessable Entity", $"The body must be {{\"{property}\":[{{\"topic\":…,\"partition\":…,\"offset\":…}}]}} with at least one entry.");
        }

        var result = new List<(OrleansMQ.Protocol.TopicPartition, long)>();
        int index = 0;
        foreach (var item in list.EnumerateArray())
        {
            var tp = ParsePartition(item, property, index);
            if (!item.TryGetProperty("offset", out var o) || o.ValueKind != JsonValueKind.Number || !o.TryGetInt64(out long offset) || offset < 0)
            {
                throw RestConsumerException.Unprocessable($"{property}[{index}].offset must be an integer >= 0.");
            }

            result.Add((tp, offset));
            index++;
        }

        return result;
    }

    private static OrleansMQ.Protocol.TopicPartition ParsePartition(JsonElement item, string property, int index)
    {
        if (item.ValueKind != JsonValueKind.Object
            || !item.TryGetProperty("topic", out var t) || t.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(t.GetString())
            || !item.TryGetProperty("partition", out var p) || p.ValueKind != JsonValueKind.Number || !p.TryGetInt32(out int partition) || partition < 0)
        {
            throw RestConsumerException.Unprocessable($"{property}[{index}] needs \"topic\" (a name) and \"partition\" (an integer >= 0).");
        }

        return new OrleansMQ.Protocol.TopicPartition(t.GetString()!, partition);
    }

    private static System.Text.Json.Nodes.JsonArray StringArray(IEnumerable<string> values)
    {
        var array = new System.Text.Json.Nodes.JsonArray();
        foreach (string v in values)
        {
            array.Add(v);
        }

        return array;
    }

    private static System.Text.Json.Nodes.JsonArray PartitionArray(IEnumerable<OrleansMQ.Protocol.TopicPartition> partitions)
    {
        var array = new System.Text.Json.Nodes.JsonArray();
        foreach (var tp in partitions)
        {
            array.Add(new System.Text.Json.Nodes.JsonObject { ["topic"] = tp.Topic, ["partition"] = tp.Partition });
        }

        return array;
    }

    // ---- records ----

    private async Task<IResult> RecordsAsync(HttpContext context, RestConsumerInstance instance, CancellationToken cancellationToken)
    {
        string wanted = instance.Config.Format == RestFormat.Json ? JsonV2 : BinaryV2;
        if (!Acceptable(context.Request.Headers.Accept.ToString(), wanted))
        {
            return RestProblem(406, 40601, "Not Acceptable", $"The requested embedded data format does not match the deserializer for this consumer instance ({wanted}).");
        }

        var query = context.Request.Query;
        if (!TryLong(query["timeout"], instance.Config.RequestTimeoutMs, out long timeoutMs) || timeoutMs < 0
            || !TryLong(query["max_bytes"], _settings.ConsumerRequestMaxBytes, out long maxBytes) || maxBytes < 1)
        {
            return RestProblem(400, 400, "Bad Request", "timeout must be an integer >= 0 (ms) and max_bytes an integer >= 1.");
        }

        // As REST Proxy: timeout only shortens the instance's consumer.request.timeout.ms; max_bytes is capped by the gateway's limit.
        timeoutMs = Math.Min(timeoutMs, instance.Config.RequestTimeoutMs);
        maxBytes = Math.Min(maxBytes, _settings.ConsumerRequestMaxBytes);
        bool json = instance.Config.Format == RestFormat.Json;
        var records = await instance.ReadAsync(TimeSpan.FromMilliseconds(timeoutMs), maxBytes, json ? JsonRefusal : _ => null, cancellationToken).ConfigureAwait(false);

        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var r in records)
            {
                writer.WriteStartObject();
                writer.WriteString("topic", r.Topic);
                WriteEmbedded(writer, "key", r.Key, json);
                WriteEmbedded(writer, "value", r.Value, json);
                writer.WriteNumber("partition", r.Partition);
                writer.WriteNumber("offset", r.Offset);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        return Results.Bytes(buffer.WrittenMemory.ToArray(), wanted);
    }

    private static void WriteEmbedded(Utf8JsonWriter writer, string name, byte[]? bytes, bool json)
    {
        writer.WritePropertyName(name);
        if (bytes is null)
        {
            writer.WriteNullValue();
        }
        else if (json)
        {
            writer.WriteRawValue(bytes, skipInputValidation: true); // validated by JsonRefusal
        }
        else
        {
            writer.WriteBase64StringValue(bytes);
        }
    }

    /// <summary>Null when key and value are JSON text (or null); else why the json format cannot render the record.</summary>
    private static string? JsonRefusal(ConsumeResult record) =>
        IsJson(record.Key) && IsJson(record.Value) ? null
            : $"The record at {record.Topic}-{record.Partition} offset {record.Offset} is not JSON; read it with a binary consumer instance, or seek past it.";

    private static bool IsJson(byte[]? bytes)
    {
        if (bytes is null)
        {
            return true;
        }

        try
        {
            var reader = new Utf8JsonReader(bytes);
            if (!reader.Read())
            {
                return false;
            }

            reader.Skip();
            return !reader.Read(); // nothing after the value
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>No Accept, a wildcard, a generic JSON type or the instance's own format; another embedded format is 406.</summary>
    private static bool Acceptable(string accept, string wanted)
    {
        if (string.IsNullOrWhiteSpace(accept))
        {
            return true;
        }

        foreach (string part in accept.Split(','))
        {
            string media = part.Split(';')[0].Trim().ToLowerInvariant();
            if (media == wanted || media is "*/*" or "application/*" or "application/json" or V2 or "application/vnd.kafka+json")
            {
                return true;
            }
        }

        return false;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "REST consumer {Group}/{Instance} created ({Format})")]
    private static partial void LogConsumerCreated(ILogger logger, string group, string instance, RestFormat format);

    [LoggerMessage(Level = LogLevel.Warning, Message = "REST consumer {Group}/{Instance}: {Reason}")]
    private static partial void LogConsumerRequestFailed(ILogger logger, string group, string instance, string reason);
}
