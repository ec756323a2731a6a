using OrleansMQ.Protocol;

namespace OrleansMQ.Client.Consumer;

/// <summary>How a partition's starting position is still to be found.</summary>
internal enum PositionInit
{
    /// <summary>Known: fetch from <see cref="PartitionState.FetchOffset"/>.</summary>
    Ready,

    /// <summary>Ask the group for its committed offset (OffsetFetch), then reset if there is none.</summary>
    Committed,

    /// <summary>Apply <see cref="AutoOffsetReset"/> (ListOffsets).</summary>
    Reset,
}

/// <summary>
/// One assigned partition. Guarded by the consumer's lock. <see cref="Version"/> changes whenever
/// the position jumps (seek, reset, pause, revoke), so chunks fetched before are recognised as stale.
/// </summary>
internal sealed class PartitionState(TopicPartition topicPartition, PositionInit init)
{
    public TopicPartition TopicPartition { get; } = topicPartition;

    /// <summary>The next offset to hand to the application (-1 until known).</summary>
    public long Position { get; set; } = -1;

    /// <summary>The offset after the last record the application finished (what auto commit commits; -1 none).</summary>
    public long Processed { get; set; } = -1;

    /// <summary>The last offset this consumer committed (-1 none).</summary>
    public long Committed { get; set; } = -1;

    /// <summary>The next offset the fetcher asks for (runs ahead of <see cref="Position"/> by what is queued).</summary>
    public long FetchOffset { get; set; } = -1;

    public int Version { get; set; }

    public PositionInit Init { get; set; } = init;

    public bool Paused { get; set; }

    /// <summary>An error was handed to the application; nothing is fetched until a seek.</summary>
    public bool Stopped { get; set; }

    /// <summary>Being revoked: records are no longer handed out, commits still include it.</summary>
    public bool Revoking { get; set; }

    /// <summary>No fetch before this (Environment.TickCount64).</summary>
    public long RetryAt { get; set; }

    public long HighWatermark { get; set; } = -1;

    /// <summary>Moves both positions to <paramref name="offset"/> and invalidates what was fetched.</summary>
    public void JumpTo(long offset)
    {
        Position = offset;
        Processed = offset;
        FetchOffset = offset;
        Init = PositionInit.Ready;
        Stopped = false;
        Version++;
    }

    /// <summary>Drops what was fetched ahead of <see cref="Position"/>.</summary>
    public void Rewind()
    {
        if (Init == PositionInit.Ready && Position >= 0)
        {
            FetchOffset = Position;
        }

        Version++;
    }
}

/// <summary>What one fetch brought for one partition: records, or the error that stops it.</summary>
internal sealed record FetchedChunk(PartitionState State, int Version, List<ConsumeResult> Records, KafkaConsumeException? Error);
