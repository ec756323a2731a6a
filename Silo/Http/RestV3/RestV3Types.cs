using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansMQ.Silo.Http.RestV3;

// REST Proxy v3 resources: kind first, metadata (self, resource_name), the fields, and related
// links ({"related": url}), as REST Proxy's clients and scripts read them. Kind is fixed per type.

/// <summary>A resource's metadata: its URL and its Confluent resource name (crn).</summary>
internal sealed record ResourceMetadataV3(string Self, string ResourceName);

/// <summary>A list's metadata: its URL; next is always null (one page).</summary>
internal sealed record ListMetadataV3(string Self, string? Next);

internal sealed record RelatedV3(string Related);

/// <summary>A REST Proxy v3 list: <c>{"kind": "Kafka…List", "metadata": …, "data": [...]}</c>.</summary>
internal sealed record ListV3<T>(string Kind, ListMetadataV3 Metadata, IReadOnlyList<T> Data);

internal sealed record ClusterV3(ResourceMetadataV3 Metadata, string ClusterId, RelatedV3 Controller, RelatedV3 Acls, RelatedV3 Brokers, RelatedV3 BrokerConfigs, RelatedV3 ConsumerGroups, RelatedV3 Topics, RelatedV3 PartitionReassignments)
{
    [JsonPropertyOrder(-1)]
    public string Kind { get; init; } = "KafkaCluster";
}

internal sealed record BrokerV3(ResourceMetadataV3 Metadata, string ClusterId, int BrokerId, string Host, int Port, string? Rack, RelatedV3 Configs, RelatedV3 PartitionReplicas)
{
    [JsonPropertyOrder(-1)]
    public string Kind { get; init; } = "KafkaBroker";
}

internal sealed record TopicV3(ResourceMetadataV3 Metadata, string ClusterId, string TopicName, bool IsInternal, int ReplicationFactor, int PartitionsCount, RelatedV3 Partitions, RelatedV3 Configs, RelatedV3 PartitionReassignments)
{
    [JsonPropertyOrder(-1)]
    public string Kind { get; init; } = "KafkaTopic";
}

/// <summary>The answer to a create with validate_only: nothing was created.</summary>
internal sealed record TopicValidatedV3(string ClusterId, string TopicName, bool ValidateOnly)
{
    [JsonPropertyOrder(-1)]
    public string Kind { get; init; } = "KafkaTopic";
}

/// <summary>A partition; log_start_offset and log_end_offset are not in REST Proxy's schema (its clients ignore extra fields; they save a browse call).</summary>
internal sealed record PartitionV3(ResourceMetadataV3 Metadata, string ClusterId, string TopicName, int PartitionId, RelatedV3 Leader, RelatedV3 Replicas, RelatedV3 Reassignment, long LogStartOffset, long LogEndOffset)
{
    [JsonPropertyOrder(-1)]
    public string Kind { get; init; } = "KafkaPartition";
}

internal sealed record TopicConfigV3(ResourceMetadataV3 Metadata, string ClusterId, string TopicName, string Name, string Value, bool IsDefault, bool IsReadOnly, bool IsSensitive, string Source, IReadOnlyList<string> Synonyms)
{
    [JsonPropertyOrder(-1)]
    public string Kind { get; init; } = "KafkaTopicConfig";
}

internal sealed record ConsumerGroupV3(ResourceMetadataV3 Metadata, string ClusterId, string ConsumerGroupId, bool IsSimple, string PartitionAssignor, string State, RelatedV3 Coordinator, RelatedV3 Consumers, RelatedV3 LagSummary)
{
    [JsonPropertyOrder(-1)]
    public string Kind { get; init; } = "KafkaConsumerGroup";
}

internal sealed record ConsumerLagV3(ResourceMetadataV3 Metadata, string ClusterId, string ConsumerGroupId, string TopicName, int PartitionId, long? CurrentOffset, long LogEndOffset, long? Lag, string ConsumerId, string ClientId)
{
    [JsonPropertyOrder(-1)]
    public string Kind { get; init; } = "KafkaConsumerLag";
}

internal sealed record ConsumerGroupLagSummaryV3(ResourceMetadataV3 Metadata, string ClusterId, string ConsumerGroupId, string MaxLagConsumerId, string MaxLagClientId, string MaxLagTopicName, int MaxLagPartitionId, long MaxLag, long TotalLag)
{
    [JsonPropertyOrder(-1)]
    public string Kind { get; init; } = "KafkaConsumerGroupLagSummary";
}

/// <summary>The create-topic body.</summary>
internal sealed record CreateTopicV3(string TopicName, int? PartitionsCount = null, short? ReplicationFactor = null, IReadOnlyList<ConfigEntryV3>? Configs = null, bool? ValidateOnly = null);

internal sealed record ConfigEntryV3(string Name, string? Value = null);

/// <summary>
/// One record of a v3 produce body (documents the shape; the handler reads each concatenated JSON
/// value of the stream with <see cref="Utf8JsonReader"/>). Key and value: <c>{"type": "BINARY"|"JSON"|"STRING", "data": …}</c>.
/// </summary>
internal sealed record ProduceRecordV3(int? PartitionId = null, IReadOnlyList<HeaderV3>? Headers = null, DataV3? Key = null, DataV3? Value = null, DateTimeOffset? Timestamp = null);

internal sealed record HeaderV3(string Name, string? Value = null);

internal sealed record DataV3(string? Type = null, JsonElement? Data = null);

/// <summary>A stored record's delivery report (error_code 200); key and value null when absent.</summary>
internal sealed record DeliveryReportV3(int ErrorCode, string ClusterId, string TopicName, int PartitionId, long Offset, string Timestamp, PayloadSizeV3? Key, PayloadSizeV3? Value);

/// <summary>A refused record's report in a stream (a single record's refusal is a problem document instead).</summary>
internal sealed record ProduceErrorV3(int ErrorCode, string Message);

/// <summary>One record's outcome: delivered, or refused.</summary>
internal readonly record struct ReportV3(DeliveryReportV3? Delivered, ProduceErrorV3? Error)
{
    public static ReportV3 Refused(int code, string message) => new(null, new ProduceErrorV3(code, message));
}

internal sealed record PayloadSizeV3(string Type, int Size);

/// <summary>The REST Proxy v3 module's JSON (source-generated, snake_case).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(ListV3<ClusterV3>))]
[JsonSerializable(typeof(ClusterV3))]
[JsonSerializable(typeof(ListV3<BrokerV3>))]
[JsonSerializable(typeof(ListV3<TopicV3>))]
[JsonSerializable(typeof(TopicV3))]
[JsonSerializable(typeof(TopicValidatedV3))]
[JsonSerializable(typeof(ListV3<PartitionV3>))]
[JsonSerializable(typeof(PartitionV3))]
[JsonSerializable(typeof(ListV3<TopicConfigV3>))]
[JsonSerializable(typeof(ListV3<ConsumerGroupV3>))]
[JsonSerializable(typeof(ConsumerGroupV3))]
[JsonSerializable(typeof(ListV3<ConsumerLagV3>))]
[JsonSerializable(typeof(ConsumerGroupLagSummaryV3))]
[JsonSerializable(typeof(CreateTopicV3))]
[JsonSerializable(typeof(ProduceRecordV3))]
[JsonSerializable(typeof(DeliveryReportV3))]
[JsonSerializable(typeof(ProduceErrorV3))]
internal sealed partial class RestV3JsonContext : JsonSerializerContext;
