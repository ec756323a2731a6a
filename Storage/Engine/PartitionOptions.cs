namespace OrleansMQ.Storage.Engine;

/// <summary>Per-partition storage settings (from the topic's configs).</summary>
public sealed record PartitionOptions
{
    public static readonly PartitionOptions Default = new();

    /// <summary>Index record keys in the IndexFile for lookup by key. Default off (as RocketMQ keys are opt-in).</summary>
    public bool IndexKeys { get; init; }

    /// <summary>Largest batch accepted for this partition (max.message.bytes); null uses the engine limit.</summary>
    public int? MaxBatchBytes { get; init; }
}
