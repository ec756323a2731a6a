using Orleans;
using Orleans.Streams;

namespace OrleansMQ.Streaming.Providers;

/// <summary>
/// The position of one event: the offset of the Kafka record that carries its batch in the queue's
/// partition, and its index within that batch. Tokens order by offset, then index, which is the
/// order the partition delivers them in; Orleans serializes them, so a subscriber can keep one and
/// resume or rewind from it. Tokens of different queues do not compare meaningfully (as in every
/// Orleans provider: a stream lives in one queue).
/// </summary>
[Serializable]
[GenerateSerializer]
[Alias("OrleansMQ.Streaming.OrleansMQSequenceToken")]
public sealed class OrleansMQSequenceToken : StreamSequenceToken
{
    /// <summary>Creates the token of event <paramref name="eventIndex"/> of the record at <paramref name="offset"/>.</summary>
    public OrleansMQSequenceToken(long offset, int eventIndex)
    {
        SequenceNumber = offset;
        EventIndex = eventIndex;
    }

    /// <summary>The partition offset of the record (Orleans' name for it).</summary>
    [Id(0)]
    public override long SequenceNumber { get; protected set; }

    /// <summary>The event's index within the record's batch.</summary>
    [Id(1)]
    public override int EventIndex { get; protected set; }

    /// <summary>The partition offset of the record.</summary>
    public long Offset => SequenceNumber;

    /// <inheritdoc />
    public override bool Equals(StreamSequenceToken? other) =>
        other is not null && other.SequenceNumber == SequenceNumber && other.EventIndex == EventIndex;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is StreamSequenceToken other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(SequenceNumber, EventIndex);

    /// <inheritdoc />
    public override int CompareTo(StreamSequenceToken? other)
    {
        // Any token type compares by the two numbers every StreamSequenceToken has, so a token saved
        // by a subscriber (deserialized as this type or a base) still orders against cached ones.
        if (other is null)
        {
            return 1;
        }

        int bySequence = SequenceNumber.CompareTo(other.SequenceNumber);
        return bySequence != 0 ? bySequence : EventIndex.CompareTo(other.EventIndex);
    }

    /// <inheritdoc />
    public override string ToString() => $"[OrleansMQSequenceToken: Offset={SequenceNumber}, EventIndex={EventIndex}]";
}
