using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansMQ.Silo.Http.RestV2;

/// <summary>REST Proxy v2 topic metadata: name, every config's effective value, partitions.</summary>
internal sealed record TopicV2(string Name, IReadOnlyDictionary<string, string> Configs, IReadOnlyList<PartitionV2> Partitions);

internal sealed record PartitionV2(int Partition, int Leader, IReadOnlyList<ReplicaV2> Replicas);

internal sealed record ReplicaV2(int Broker, bool Leader, bool InSync);

internal sealed record BrokersV2(IReadOnlyList<int> Brokers);

/// <summary>
/// A v2 produce body (documents the shape; the handler reads it with <see cref="JsonDocument"/>
/// into a pooled arena). Binary format: key and value are base64 strings; JSON format: any JSON
/// value, stored as its JSON text.
/// </summary>
internal sealed record ProduceRequestV2(IReadOnlyList<ProduceRecordV2> Records);

internal sealed record ProduceRecordV2(JsonElement? Key = null, JsonElement? Value = null, int? Partition = null);

/// <summary>
/// A v2 produce answer (documents the shape; the handler writes it with a Utf8JsonWriter): one
/// offset per record in request order, or error_code 50003 with the reason.
/// </summary>
internal sealed record ProduceResponseV2(int? KeySchemaId, int? ValueSchemaId, IReadOnlyList<ProducedOffsetV2> Offsets);

internal sealed record ProducedOffsetV2(int Partition, long? Offset, int? ErrorCode, string? Error);

/// <summary>The REST Proxy v2 module's JSON (source-generated, snake_case).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(List<string>))]
[JsonSerializable(typeof(TopicV2))]
[JsonSerializable(typeof(PartitionV2))]
[JsonSerializable(typeof(List<PartitionV2>))]
[JsonSerializable(typeof(BrokersV2))]
[JsonSerializable(typeof(ProduceRequestV2))]
[JsonSerializable(typeof(ProduceResponseV2))]
internal sealed partial class RestV2JsonContext : JsonSerializerContext;
