namespace OrleansMQ.Protocol.Kafka;

/// <summary>One field of a tagged-field section: its tag and its bytes (a slice of the frame).</summary>
public readonly record struct TaggedField(int Tag, ReadOnlyMemory<byte> Data)
{
    /// <summary>A reader over just this field's bytes.</summary>
    public KafkaReader CreateReader() => new(Data);
}
