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
using OrleansMQ.Silo.Kafka;
using OrleansMQ.Silo.Kafka.Network;
using OrleansMQ.Silo.Topics;
using OrleansMQ.Silo.Http.OpenApi;
using static OrleansMQ.Silo.Http.GatewayResults;
using static OrleansMQ.Silo.Http.RestMediaTypes;

namespace OrleansMQ.Silo.Http.Consumers;

/// <summary>
/// REST Proxy v2 consumer instances (<c>/consumers/...</c>). Each instance is a Kafka group member connected to
/// this silo's own Kafka listener over loopback (see <see cref="RestConsumerInstance"/>); the registry bounds and
/// expires them. Errors are problem documents with REST Proxy's <c>error_code</c>.
/// </summary>
internal sealed partial class ConsumerInstanceEndpoints : IAsyncDisposable
{
    internal const string Tag = "REST Proxy v2 consumers";
    private const string InstancePath = "/consumers/{group}/instances/{instance}";

    private readonly HttpSettings _settings;
    private readonly TopicCatalog _catalog;
    private readonly BrokerIdentity _identity;
    private readonly KafkaListener _listener;
    private readonly ILogger _logger;
    private RestConsumerRegistry? _consumerInstances;

    public ConsumerInstanceEndpoints(HttpSettings settings, TopicCatalog catalog, BrokerIdentity identity, KafkaListener listener, ILogger<ConsumerInstanceEndpoints> logger)
    {
        _settings = settings;
        _catalog = catalog;
        _identity = identity;
        _listener = listener;
        _logger = logger;
    }

    /// <summary>The consumer instances (null before <see cref="Map"/>).</summary>
    internal RestConsumerRegistry? ConsumerInstances => _consumerInstances;

    public void Map(IEndpointRouteBuilder app)
    {
        _consumerInstances = new RestConsumerRegistry(_settings, KafkaBootstrap, _catalog, _logger, addressMap: OwnAddressToListener);
        app = app.MapGroup("").WithTags(Tag);

        app.MapPost("/consumers/{group}", CreateConsumerAsync)
            .WithName("V2CreateConsumer").WithSummary("REST Proxy v2: create a consumer instance in a group (name, format binary|json, auto.offset.reset, auto.commit.enable, fetch.min.bytes, consumer.request.timeout.ms).")
            .DocumentBody<CreateConsumerRequestV2>(V2, "application/json").Produces<CreateConsumerResponseV2>(200, V2).ProducesProblem(409).ProducesProblem(422).ProducesProblem(429);
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
        })
            .WithName("V2DeleteConsumer").WithSummary("REST Proxy v2: delete a consumer instance (it leaves its group).")
            .Produces(204).ProducesProblem(404);

        app.MapPost(InstancePath + "/subscription", (HttpContext c, string group, string instance) => OnInstanceAsync(c, group, instance, SubscribeAsync))
            .WithName("V2Subscribe").WithSummary("REST Proxy v2: subscribe to topics or a topic pattern.")
            .DocumentBody<SubscriptionRequestV2>(V2, "application/json").Produces(204).ProducesProblem(404).ProducesProblem(409).ProducesProblem(422);
        app.MapGet(InstancePath + "/subscription", (HttpContext c, string group, string instance) => OnInstanceAsync(c, group, instance, (i, _, _) =>
            Task.FromResult(Results.Json(new SubscriptionV2([.. i.Subscription]), ConsumerJsonContext.Default.SubscriptionV2, V2))))
            .WithName("V2GetSubscription").WithSummary("REST Proxy v2: the subscribed topics.")
            .Produces<SubscriptionV2>(200, V2).ProducesProblem(404);
        app.MapDelete(InstancePath + "/subscription", (HttpContext c, string group, string instance) => OnInstanceAsync(c, group, instance, async (i, _, _) =>
        {
            await i.UnsubscribeAsync().ConfigureAwait(false);
            return Results.NoContent();
        }))
            .WithName("V2Unsubscribe").WithSummary("REST Proxy v2: unsubscribe.")
            .Produces(204).ProducesProblem(404);

        app.MapPost(InstancePath + "/assignments", (HttpContext c, string group, string instance) => OnInstanceAsync(c, group, instance, async (i, body, _) =>
        {
            var partitions = ConsumerRequests.ParsePartitions(body, "partitions", allowEmpty: true);
            foreach (var tp in partitions)
            {
                i.Log(tp);
            }

            await i.AssignAsync(partitions).ConfigureAwait(false);
            return Results.NoContent();
        }))
            .WithName("V2Assign").WithSummary("REST Proxy v2: assign partitions by hand.")
            .DocumentBody<AssignmentsV2>(V2, "application/json").Produces(204).ProducesProblem(404).ProducesProblem(409).ProducesProblem(422);
        app.MapGet(InstancePath + "/assignments", (HttpContext c, string group, string instance) => OnInstanceAsync(c, group, instance, (i, _, _) =>
            Task.FromResult(Results.Json(new AssignmentsV2([.. i.Assignment.Select(tp => new PartitionRefV2(tp.Topic, tp.Partition))]), ConsumerJsonContext.Default.AssignmentsV2, V2))))
            .WithName("V2GetAssignments").WithSummary("REST Proxy v2: the assigned partitions.")
            .Produces<AssignmentsV2>(200, V2).ProducesProblem(404);

        app.MapPost(InstancePath + "/offsets", (HttpContext c, string group, string instance) => OnInstanceAsync(c, group, instance, async (i, body, ct) =>
        {
            // No body (or no "offsets"): commit everything returned so far. Listed offsets are those of the last
            // records processed; Kafka commits the next offset to read, so REST Proxy commits offset + 1.
            List<(OrleansMQ.Protocol.TopicPartition, long)>? offsets = null;
            if (body is { } b && b.ValueKind == JsonValueKind.Object && b.TryGetProperty("offsets", out _))
            {
                offsets = [.. ConsumerRequests.ParseOffsets(b, "offsets").Select(o => (o.Partition, o.Offset + 1))];
            }

            await i.CommitAsync(offsets, ct).ConfigureAwait(false);
            return Results.Ok();
        }))
            .WithName("V2CommitOffsets").WithSummary("REST Proxy v2: commit the listed offsets (the last records processed), or everything returned so far.")
            .DocumentBody<OffsetsV2>(V2, "application/json").Produces(200).ProducesProblem(404).ProducesProblem(422).ProducesProblem(500);
        app.MapGet(InstancePath + "/offsets", (HttpContext c, string group, string instance) => OnInstanceAsync(c, group, instance, async (i, body, ct) =>
        {
            // REST Proxy reads the partitions from a body on GET; without one, the current assignment.
            var partitions = body is null ? i.Assignment : ConsumerRequests.ParsePartitions(body, "partitions", allowEmpty: true);
            var committed = await i.CommittedAsync(partitions, ct).ConfigureAwait(false);
            var list = new List<OffsetV2>();
            foreach (var tp in partitions)
            {
                if (committed.TryGetValue(tp, out long offset) && offset >= 0)
                {
                    list.Add(new OffsetV2(tp.Topic, tp.Partition, offset, ""));
                }
            }

            return Results.Json(new OffsetsV2(list), ConsumerJsonContext.Default.OffsetsV2, V2);
        }))
            .WithName("V2GetOffsets").WithSummary("REST Proxy v2: committed offsets of the given (or assigned) partitions.")
            .Produces<OffsetsV2>(200, V2).ProducesProblem(404).ProducesProblem(500);

        app.MapPost(InstancePath + "/positions", (HttpContext c, string group, string instance) => OnInstanceAsync(c, group, instance, (i, body, _) =>
        {
            var offsets = ConsumerRequests.ParseOffsets(body, "offsets");
            foreach (var (tp, _) in offsets)
            {
                i.Log(tp);
            }

            i.Seek(offsets);
            return Task.FromResult(Results.NoContent());
        }))
            .WithName("V2Seek").WithSummary("REST Proxy v2: seek partitions to offsets.")
            .DocumentBody<OffsetsV2>(V2, "application/json").Produces(204).ProducesProblem(404).ProducesProblem(409).ProducesProblem(422);
        app.MapPost(InstancePath + "/positions/beginning", (HttpContext c, string group, string instance) => OnInstanceAsync(c, group, instance, (i, body, _) =>
        {
            i.Seek(i.Boundaries(ConsumerRequests.ParsePartitions(body, "partitions", allowEmpty: false), end: false));
            return Task.FromResult(Results.NoContent());
        }))
            .WithName("V2SeekToBeginning").WithSummary("REST Proxy v2: seek partitions to their beginning.")
            .DocumentBody<AssignmentsV2>(V2, "application/json").Produces(204).ProducesProblem(404).ProducesProblem(409).ProducesProblem(422);
        app.MapPost(InstancePath + "/positions/end", (HttpContext c, string group, string instance) => OnInstanceAsync(c, group, instance, (i, body, _) =>
        {
            i.Seek(i.Boundaries(ConsumerRequests.ParsePartitions(body, "partitions", allowEmpty: false), end: true));
            return Task.FromResult(Results.NoContent());
        }))
            .WithName("V2SeekToEnd").WithSummary("REST Proxy v2: seek partitions to their end.")
            .DocumentBody<AssignmentsV2>(V2, "application/json").Produces(204).ProducesProblem(404).ProducesProblem(409).ProducesProblem(422);

        app.MapGet(InstancePath + "/records", (HttpContext c, string group, string instance) => OnInstanceAsync(c, group, instance, (i, _, ct) => RecordsAsync(c, i, ct), readBody: false))
            .WithName("V2ReadRecords").WithSummary("REST Proxy v2: read records; Accept must match the instance's format (binary: base64, json: embedded JSON).")
            .DocumentQuery("timeout", isInteger: true, "Milliseconds to wait for records (at most the instance's consumer.request.timeout.ms).")
            .DocumentQuery("max_bytes", isInteger: true, "Most bytes of records to return (capped by OrleansMQ:Http:ConsumerRequestMaxBytes).")
            .Produces<List<ConsumerRecordV2>>(200, BinaryV2, JsonV2).ProducesProblem(404).ProducesProblem(406).ProducesProblem(500);
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
            var body = await ConsumerRequests.ReadBodyAsync(context).ConfigureAwait(false);
            var config = ConsumerRequests.ParseConsumerConfig(body, _settings.ConsumerRequestTimeoutMs);
            var instance = Instances.Create(group, config);
            string baseUri = $"{context.Request.Scheme}://{context.Request.Host}/consumers/{Uri.EscapeDataString(group)}/instances/{Uri.EscapeDataString(instance.Name)}";
            LogConsumerCreated(_logger, group, instance.Name, config.Format);
            return Results.Json(new CreateConsumerResponseV2(instance.Name, baseUri), ConsumerJsonContext.Default.CreateConsumerResponseV2, V2);
        }
        catch (RestConsumerException ex)
        {
            return RestProblem(ex.Status, ex.ErrorCode, ex.Title, ex.Message);
        }
    }

    // ---- instance requests ----

    /// <summary>Finds the instance (404/40403), reads the JSON body (400 when not JSON), runs the action alone on the instance.</summary>
    private async Task<IResult> OnInstanceAsync(HttpContext context, string group, string name, Func<RestConsumerInstance, JsonElement?, CancellationToken, Task<IResult>> action, bool readBody = true)
    {
        try
        {
            var instance = Instances.Get(group, name);
            JsonElement? body = readBody ? await ConsumerRequests.ReadBodyAsync(context).ConfigureAwait(false) : null;
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
