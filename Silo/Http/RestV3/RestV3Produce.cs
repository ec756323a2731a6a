using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using OrleansMQ.Silo.Produce;
using OrleansMQ.Silo.Topics;
using static OrleansMQ.Silo.Http.GatewayResults;

namespace OrleansMQ.Silo.Http.RestV3;

/// <summary>
/// REST Proxy v3 produce (<c>POST /v3/clusters/{cluster_id}/topics/{topic_name}/records</c>): one
/// record, or a stream of concatenated JSON records (usually chunked) answered with one delivery
/// report per record as each is appended through the silo's produce path
/// (<see cref="ProduceService"/>). The body is read from the request pipe value by value, so it is
/// not bound to a typed record: <see cref="ProduceRecordV3"/> and <see cref="DeliveryReportV3"/>
/// describe the shapes for the OpenAPI document.
/// </summary>
internal sealed class RestV3Produce
{
    private readonly RestV3Resources _v3;
    private readonly ProduceService _produce;
    private readonly HttpSettings _settings;

    public RestV3Produce(RestV3Resources v3, ProduceService produce, HttpSettings settings)
    {
        _v3 = v3;
        _produce = produce;
        _settings = settings;
    }

    /// <summary>
    /// Produces one record per JSON object in the body. A body of exactly one record answers with
    /// its delivery report (or its error as the HTTP status); a body of several concatenated
    /// records — REST Proxy's streaming mode, usually sent chunked — answers 200 with one report
    /// per record, in order, each with its own <c>error_code</c>, written as each is appended.
    /// The whole request is bounded by <see cref="HttpSettings.MaxRequestBodyBytes"/>.
    /// </summary>
    internal async Task ProduceAsync(HttpContext c, string cluster_id, string topic_name)
    {
        var (meta, error) = await _v3.TopicAsync(cluster_id, topic_name, c.RequestAborted).ConfigureAwait(false);
        if (error is null && meta!.IsInternal)
        {
            error = RestV3Resources.Problem(403, "Forbidden", $"'{topic_name}' is an internal topic.");
        }

        if (error is null && MediaType(c.Request) != "application/json")
        {
            error = RestV3Resources.Problem(415, "Unsupported Media Type", $"Content type '{c.Request.ContentType}' is not supported; use application/json.");
        }

        if (error is not null)
        {
            await error.ExecuteAsync(c).ConfigureAwait(false);
            return;
        }

        bool streaming = c.Request.ContentLength is null; // chunked: answer as records arrive
        bool started = false;
        ReportV3? pending = null; // buffered single report (non-streaming), written at the end
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
                    ReportV3 report;
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
                            await WriteReportAsync(c, pending.Value).ConfigureAwait(false);
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
                await RestV3Resources.Problem(400, "Bad Request", "The body is not valid JSON: " + ex.Message).ExecuteAsync(c).ConfigureAwait(false);
                return;
            }

            await WriteReportAsync(c, ReportV3.Refused(400, "The rest of the stream is not valid JSON: " + ex.Message)).ConfigureAwait(false);
            return;
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            if (!started)
            {
                await RestV3Resources.Problem(413, "Payload Too Large", $"The body exceeds {_settings.MaxRequestBodyBytes} bytes.").ExecuteAsync(c).ConfigureAwait(false);
                return;
            }

            await WriteReportAsync(c, ReportV3.Refused(413, $"The stream exceeded {_settings.MaxRequestBodyBytes} bytes; open a new one.")).ConfigureAwait(false);
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
            await RestV3Resources.Problem(400, "Bad Request", "The body holds no record.").ExecuteAsync(c).ConfigureAwait(false);
            return;
        }

        if (pending.Value.Error is { } refused)
        {
            await RestV3Resources.Problem(refused.ErrorCode, "Produce failed", refused.Message).ExecuteAsync(c).ConfigureAwait(false);
            return;
        }

        await Results.Json(pending.Value.Delivered, RestV3JsonContext.Default.DeliveryReportV3, "application/json").ExecuteAsync(c).ConfigureAwait(false);
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

    /// <summary>One report and a newline, flushed: a streaming client reads it before it sends the next record.</summary>
    private static async Task WriteReportAsync(HttpContext c, ReportV3 report)
    {
        var body = c.Response.BodyWriter;
        using (var json = new Utf8JsonWriter(body))
        {
            if (report.Delivered is { } delivered)
            {
                JsonSerializer.Serialize(json, delivered, RestV3JsonContext.Default.DeliveryReportV3);
            }
            else
            {
                JsonSerializer.Serialize(json, report.Error!, RestV3JsonContext.Default.ProduceErrorV3);
            }
        }

        body.Write("\n"u8);
        await body.FlushAsync(c.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Validates and appends one v3 record; returns its delivery report (error_code 200 when stored).</summary>
    private async Task<ReportV3> ProduceOneV3Async(TopicMetadata meta, JsonElement r, CancellationToken cancellationToken)
    {
        static ReportV3 Error(int code, string message) => ReportV3.Refused(code, message);

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

        return new ReportV3(
            new DeliveryReportV3(
                200,
                _v3.ClusterId,
                meta.Name,
                produced.Partition,
                produced.Offset,
                DateTimeOffset.FromUnixTimeMilliseconds(produced.Timestamp).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
                key is null ? null : new PayloadSizeV3(keyType!, key.Length),
                value is null ? null : new PayloadSizeV3(valueType!, value.Length)),
            null);
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
}
