using System.Text.Json.Serialization;

namespace OrleansMQ.Silo.Http.Console;

/// <summary>
/// <c>GET /orleansmq/v1/stats</c>: cumulative counters at one instant. The console polls it once a
/// second and divides the differences by the time between polls (counters, not rates, so any poll
/// interval works and a missed poll loses nothing).
/// </summary>
internal sealed record ConsoleStats(
    long TimeMs,
    int NodeId,
    long RecordsIn,
    long StorageBytesIn,
    long StorageDiskBytes,
    long KafkaBytesIn,
    long KafkaBytesOut,
    long KafkaRequests,
    long KafkaConnectionsOpen,
    long HttpRequests,
    long GrainActivations,
    long GrainCalls,
    IReadOnlyList<GrainTypeStats> Grains,
    IReadOnlyList<TopicStats> Topics);

/// <summary>Activations of one grain type in this silo's memory.</summary>
internal sealed record GrainTypeStats(string Type, long Activations);

/// <summary>A topic's offsets summed over its partitions (internal topics left out).</summary>
internal sealed record TopicStats(string Topic, bool IndexKeys, long LogEndOffsetSum, long Messages, IReadOnlyList<PartitionStats> Partitions);

internal sealed record PartitionStats(int Partition, long LogStartOffset, long LogEndOffset);

/// <summary>The console module's JSON (source-generated; snake_case as the page reads it).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(ConsoleStats))]
internal sealed partial class ConsoleJsonContext : JsonSerializerContext;
