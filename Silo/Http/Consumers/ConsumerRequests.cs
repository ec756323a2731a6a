using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using OrleansMQ.Client.Consumer;
using static OrleansMQ.Silo.Http.GatewayResults;
using static OrleansMQ.Silo.Http.RestMediaTypes;

namespace OrleansMQ.Silo.Http.Consumers;

/// <summary>
/// The consumer-instance requests' bodies, read by hand: REST Proxy's property names hold dots and
/// its values may be strings or numbers, and each bad field must answer with REST Proxy's
/// error_code (a <see cref="RestConsumerException"/>) rather than a binding failure.
/// </summary>
internal static class ConsumerRequests
{
    private const int MaxInstanceRequestTimeoutMs = 300_000;

    /// <summary>The create body's settings (REST Proxy's names), each checked; defaults for what is absent.</summary>
    public static RestConsumerConfig ParseConsumerConfig(JsonElement? body, int defaultRequestTimeoutMs)
    {
        string? name = null;
        var format = RestFormat.Binary;
        var reset = AutoOffsetReset.Latest;
        bool autoCommit = true;
        long minBytes = -1;
        int timeoutMs = defaultRequestTimeoutMs;
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

    /// <summary>The JSON body, or null when there is none. Content types: REST Proxy's (vnd.kafka…+json) or application/json.</summary>
    public static async Task<JsonElement?> ReadBodyAsync(HttpContext context)
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

    public static List<OrleansMQ.Protocol.TopicPartition> ParsePartitions(JsonElement? body, string property, bool allowEmpty)
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

    public static List<(OrleansMQ.Protocol.TopicPartition Partition, long Offset)> ParseOffsets(JsonElement? body, string property)
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
}
