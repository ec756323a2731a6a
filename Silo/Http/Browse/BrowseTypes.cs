using System.Text.Json.Serialization;

namespace OrleansMQ.Silo.Http.Browse;

/// <summary>A partition's offsets: log start ≤ high watermark (the next offset to be written).</summary>
internal sealed record PartitionOffsets(string Topic, int Partition, long LogStartOffset, long HighWatermark);

/// <summary>Records of one partition from an offset.</summary>
internal sealed record PartitionRecords(string Topic, int Partition, IReadOnlyList<BrowsedRecord> Records);

/// <summary>Records of a topic found by key or time range.</summary>
internal sealed record TopicRecords(string Topic, IReadOnlyList<BrowsedRecord> Records);

/// <summary>
/// One record: key and value as base64 (<c>key</c>, <c>value</c>) and as UTF-8 text when they
/// decode (<c>key_text</c>, <c>value_text</c>); null when absent. A key lookup leaves out headers.
/// </summary>
internal sealed record BrowsedRecord(
    int Partition,
    long Offset,
    long Timestamp,
    string? Key,
    string? KeyText,
    string? Value,
    string? ValueText,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<BrowsedHeader>? Headers);

internal sealed record BrowsedHeader(string Key, string? Value, string? ValueText);

internal sealed record GroupSummary(string GroupId, string State, string ProtocolType);

/// <summary>A group's lag; a partition's lag and committed offset are null when nothing is committed.</summary>
internal sealed record GroupLagView(string GroupId, string State, long TotalLag, IReadOnlyList<PartitionLagView> Partitions);

internal sealed record PartitionLagView(string Topic, int Partition, long? CommittedOffset, long LogEndOffset, long? Lag, string? MemberId, string? ClientId);

/// <summary>The browse module's JSON (source-generated, snake_case).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(PartitionOffsets))]
[JsonSerializable(typeof(PartitionRecords))]
[JsonSerializable(typeof(TopicRecords))]
[JsonSerializable(typeof(List<GroupSummary>))]
[JsonSerializable(typeof(GroupLagView))]
internal sealed partial class BrowseJsonContext : JsonSerializerContext;
