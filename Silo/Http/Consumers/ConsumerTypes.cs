using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansMQ.Silo.Http.Consumers;

/// <summary>
/// The create body (documents the shape; read by hand because REST Proxy's property names hold
/// dots and its values may be strings or numbers).
/// </summary>
internal sealed record CreateConsumerRequestV2(
    string? Name = null,
    string? Format = null,
    [property: JsonPropertyName("auto.offset.reset")] string? AutoOffsetReset = null,
    [property: JsonPropertyName("auto.commit.enable")] JsonElement? AutoCommitEnable = null,
    [property: JsonPropertyName("fetch.min.bytes")] JsonElement? FetchMinBytes = null,
    [property: JsonPropertyName("consumer.request.timeout.ms")] JsonElement? ConsumerRequestTimeoutMs = null);

internal sealed record CreateConsumerResponseV2(string InstanceId, string BaseUri);

/// <summary>Subscribe: exactly one of topics and topic_pattern (a regular expression matching whole names).</summary>
internal sealed record SubscriptionRequestV2(IReadOnlyList<string>? Topics = null, string? TopicPattern = null);

internal sealed record SubscriptionV2(IReadOnlyList<string> Topics);

internal sealed record PartitionRefV2(string Topic, int Partition);

internal sealed record AssignmentsV2(IReadOnlyList<PartitionRefV2> Partitions);

internal sealed record OffsetV2(string Topic, int Partition, long Offset, string? Metadata);

internal sealed record OffsetsV2(IReadOnlyList<OffsetV2> Offsets);

/// <summary>
/// One record read (documents the shape; the handler writes the array with a Utf8JsonWriter,
/// key and value as base64 for a binary instance, as embedded JSON for a json one).
/// </summary>
internal sealed record ConsumerRecordV2(string Topic, JsonElement? Key, JsonElement? Value, int Partition, long Offset);

/// <summary>The consumer-instance module's JSON (source-generated, snake_case).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(CreateConsumerRequestV2))]
[JsonSerializable(typeof(CreateConsumerResponseV2))]
[JsonSerializable(typeof(SubscriptionRequestV2))]
[JsonSerializable(typeof(SubscriptionV2))]
[JsonSerializable(typeof(AssignmentsV2))]
[JsonSerializable(typeof(OffsetsV2))]
[JsonSerializable(typeof(List<ConsumerRecordV2>))]
internal sealed partial class ConsumerJsonContext : JsonSerializerContext;
