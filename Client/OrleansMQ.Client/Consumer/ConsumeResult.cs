using OrleansMQ.Protocol;

namespace OrleansMQ.Client.Consumer;

/// <summary>One record header: a UTF-8 key and a value (null when the producer sent a null value).</summary>
public readonly record struct ConsumeHeader(string Key, byte[]? Value);

/// <summary>Whether <see cref="ConsumeResult.Timestamp"/> was set by the producer or by the broker.</summary>
public enum TimestampType
{
    /// <summary>The producer's timestamp (<c>CreateTime</c>).</summary>
    CreateTime,

    /// <summary>The broker's append time (topic config <c>message.timestamp.type=LogAppendTime</c>).</summary>
    LogAppendTime,
}

/// <summary>One consumed record.</summary>
public sealed record ConsumeResult
{
    public required string Topic { get; init; }

    public required int Partition { get; init; }

    public required long Offset { get; init; }

    /// <summary>The key; null for a null key.</summary>
    public byte[]? Key { get; init; }

    /// <summary>The value; null for a tombstone.</summary>
    public byte[]? Value { get; init; }

    public IReadOnlyList<ConsumeHeader> Headers { get; init; } = [];

    public DateTimeOffset Timestamp { get; init; }

    public TimestampType TimestampType { get; init; }

    /// <summary>The partition leader epoch of the batch (-1 when unknown).</summary>
    public int LeaderEpoch { get; init; } = -1;

    /// <summary>The record's partition.</summary>
    public TopicPartition TopicPartition => new(Topic, Partition);
}
