using System.Buffers;
using System.Buffers.Text;
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Produce;
using OrleansMQ.Silo.Topics;
using static OrleansMQ.Silo.Http.GatewayResults;
using static OrleansMQ.Silo.Http.RestMediaTypes;

namespace OrleansMQ.Silo.Http.RestV2;

/// <summary>
/// REST Proxy v2 produce (<c>POST /topics/{topic}[/partitions/{partition}]</c>): the JSON body is
/// parsed once and validated whole (nothing is appended unless every record is good), payloads
/// are decoded into one pooled arena per request, the records go through the silo's produce path
/// (<see cref="ProduceService"/>), and the answer is written straight to the response pipe with a
/// <see cref="Utf8JsonWriter"/>. Typed binding of the body would cost an array per payload and a
/// DOM per answer; <see cref="ProduceRequestV2"/> and <see cref="ProduceResponseV2"/> describe the
/// shapes for the OpenAPI document.
/// </summary>
internal sealed class RestV2Produce
{
    private readonly ProduceService _produce;
    private readonly HttpSettings _settings;

    public RestV2Produce(ProduceService produce, HttpSettings settings)
    {
        _produce = produce;
        _settings = settings;
    }

    internal async Task<IResult> ProduceAsync(HttpContext context, string topic, int? pathPartition)
    {
        var request = context.Request;
        var cancellationToken = context.RequestAborted;
        string mediaType = MediaType(request);
        bool binary;
        if (mediaType == BinaryV2)
        {
            binary = true;
        }
        else if (mediaType == JsonV2)
        {
            binary = false;
        }
        else
        {
            return RestProblem(415, 415, "Unsupported Media Type", $"Content type '{request.ContentType}' is not supported; use {JsonV2} or {BinaryV2}.");
        }

        if (request.ContentLength > _settings.MaxRequestBodyBytes)
        {
            return RestProblem(413, 413, "Payload Too Large", $"The body is {request.ContentLength} bytes; the limit is {_settings.MaxRequestBodyBytes}.");
        }

        var (document, status, detail) = await ParseJsonBodyAsync(context, _settings).ConfigureAwait(false);
        if (document is null)
        {
            return RestProblem(status, status, status == 413 ? "Payload Too Large" : "Bad Request", detail!);
        }

        using (document)
        {
            var (meta, topicError) = await _produce.TopicAsync(topic, cancellationToken).ConfigureAwait(false);
            if (meta is null)
            {
                return topicError == TopicError.InvalidTopic
                    ? RestProblem(422, 42202, "Unprocessable Entity", $"'{topic}' is not a valid topic name: {TopicNames.Validate(topic)}")
                    : RestProblem(404, 40401, "Topic not found", $"Topic '{topic}' not found.");
            }

            if (pathPartition is { } pp && (pp < 0 || pp >= meta.Partitions.Length))
            {
                return RestProblem(404, 40402, "Partition not found", $"Partition {pp} of topic '{topic}' not found.");
            }

            // Validate everything first: nothing is appended unless every record is good. Payload
            // bytes are decoded into one pooled arena per request (its JSON text bounds their size),
            // not an array per record.
            byte[] arena = ArrayPool<byte>.Shared.Rent(Math.Max(16, JsonMarshal.GetRawUtf8Value(document.RootElement).Length));
            try
            {
                var (records, error) = ParseRecords(document.RootElement, binary, meta, pathPartition, arena);
                if (error is not null)
                {
                    return error;
                }

                var offsets = await _produce.ProduceRecordsAsync(meta, records!, cancellationToken).ConfigureAwait(false);
                await WriteProduceResponseAsync(context.Response, offsets, cancellationToken).ConfigureAwait(false);
                return Results.Empty;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(arena);
            }
        }
    }

    /// <summary>REST Proxy's produce answer, written straight to the response pipe (no JSON DOM per record).</summary>
    private static async Task WriteProduceResponseAsync(HttpResponse response, ProducedRecord[] offsets, CancellationToken cancellationToken)
    {
        response.StatusCode = 200;
        response.ContentType = V2;
        using (var json = new Utf8JsonWriter(response.BodyWriter))
        {
            json.WriteStartObject();
            json.WriteNull("key_schema_id");
            json.WriteNull("value_schema_id");
            json.WriteStartArray("offsets");
            foreach (var o in offsets)
            {
                json.WriteStartObject();
                json.WriteNumber("partition", o.Partition);
                if (o.Error == ErrorCode.None)
                {
                    json.WriteNumber("offset", o.Offset);
                    json.WriteNull("error_code");
                    json.WriteNull("error");
                }
                else
                {
                    // REST Proxy's code for a failed produce (a Kafka error behind it).
                    json.WriteNull("offset");
                    json.WriteNumber("error_code", 50003);
                    json.WriteString("error", o.Message);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        await response.BodyWriter.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private (List<PendingRecord>? Records, IResult? Error) ParseRecords(JsonElement root, bool binary, TopicMetadata meta, int? pathPartition, byte[] arena)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("records", out var recordsElement) || recordsElement.ValueKind != JsonValueKind.Array)
        {
            return (null, RestProblem(422, 42201, "Unprocessable Entity", "The body must be an object with a \"records\" array."));
        }

        if (recordsElement.GetArrayLength() == 0)
        {
            return (null, RestProblem(422, 42201, "Unprocessable Entity", "\"records\" is empty."));
        }

        var records = new List<PendingRecord>(recordsElement.GetArrayLength());
        int index = 0;
        int used = 0;
        foreach (var r in recordsElement.EnumerateArray())
        {
            if (r.ValueKind != JsonValueKind.Object)
            {
                return (null, RestProblem(422, 42201, "Unprocessable Entity", $"records[{index}] is not an object."));
            }

            ReadOnlyMemory<byte>? key = null, value = null;
            if (r.TryGetProperty("key", out var k) && !TryPayload(k, binary, arena, ref used, out key))
            {
                return (null, RestProblem(422, 42205, "Unprocessable Entity", $"records[{index}].key is not valid base64."));
            }

            if (r.TryGetProperty("value", out var v) && !TryPayload(v, binary, arena, ref used, out value))
            {
                return (null, RestProblem(422, 42205, "Unprocessable Entity", $"records[{index}].value is not valid base64."));
            }

            if (key is null && value is null)
            {
                return (null, RestProblem(422, 42201, "Unprocessable Entity", $"records[{index}] has neither key nor value."));
            }

            int partition;
            if (r.TryGetProperty("partition", out var p) && p.ValueKind != JsonValueKind.Null)
            {
                if (p.ValueKind != JsonValueKind.Number || !p.TryGetInt32(out partition))
                {
                    return (null, RestProblem(422, 42201, "Unprocessable Entity", $"records[{index}].partition is not an integer."));
                }

                if (partition < 0 || partition >= meta.Partitions.Length || (pathPartition is { } fixedPartition && fixedPartition != partition))
                {
                    return (null, RestProblem(404, 40402, "Partition not found", $"records[{index}]: partition {partition} of topic '{meta.Name}' not found."));
                }
            }
            else if (pathPartition is { } fixedPartition)
            {
                partition = fixedPartition;
            }
            else
            {
                partition = _produce.ChoosePartition(key is { } keyBytes ? keyBytes.Span : default, key is not null, meta.Partitions.Length);
            }

            if ((key?.Length ?? 0) + (value?.Length ?? 0) > meta.Config.MaxMessageBytes)
            {
                return (null, RestProblem(422, 42201, "Unprocessable Entity", $"records[{index}] is larger than the topic's max.message.bytes ({meta.Config.MaxMessageBytes})."));
            }

            records.Add(new PendingRecord(partition, key, value));
            index++;
        }

        return (records, null);
    }

    /// <summary>
    /// Binary: base64 text or null. JSON: the element's JSON text as UTF-8 (null stays null). The
    /// bytes go to <paramref name="arena"/> at <paramref name="used"/>; the arena is at least as
    /// long as the whole JSON text, which no decoded payload set can outgrow.
    /// </summary>
    private static bool TryPayload(JsonElement element, bool binary, byte[] arena, ref int used, out ReadOnlyMemory<byte>? bytes)
    {
        bytes = null;
        if (element.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        var raw = JsonMarshal.GetRawUtf8Value(element);
        if (!binary)
        {
            raw.CopyTo(arena.AsSpan(used));
            bytes = arena.AsMemory(used, raw.Length);
            used += raw.Length;
            return true;
        }

        if (element.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        // The raw value is the quoted string, decoded in place. Base64 never needs escapes, but a
        // client may write "\/" for "/" or wrap lines; such text takes the slower unescaping path.
        var text = raw[1..^1];
        if (text.IndexOf((byte)'\\') < 0 && Base64.DecodeFromUtf8(text, arena.AsSpan(used), out _, out int written) == OperationStatus.Done)
        {
            bytes = arena.AsMemory(used, written);
            used += written;
            return true;
        }

        if (!Convert.TryFromBase64String(element.GetString()!, arena.AsSpan(used), out int decoded))
        {
            return false;
        }

        bytes = arena.AsMemory(used, decoded);
        used += decoded;
        return true;
    }
}
