namespace OrleansMQ.Protocol.Batches;

/// <summary>One record header: a UTF-8 key (never null in Kafka) and a nullable byte value.</summary>
public readonly ref struct RecordHeader
{
    private readonly ReadOnlySpan<byte> _key;
    private readonly ReadOnlySpan<byte> _value;

    internal RecordHeader(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool valueIsNull)
    {
        _key = key;
        _value = value;
        ValueIsNull = valueIsNull;
    }

    /// <summary>The UTF-8 key bytes.</summary>
    public ReadOnlySpan<byte> Key => _key;

    /// <summary>The value bytes; empty when <see cref="ValueIsNull"/>.</summary>
    public ReadOnlySpan<byte> Value => _value;

    /// <summary>True for a null value (valueLength -1).</summary>
    public bool ValueIsNull { get; }
}
