namespace OrleansMQ.Protocol.Batches;

/// <summary>
/// One record of a RecordBatch v2, as slices of the records section (nothing is copied). Valid as
/// long as the span the <see cref="RecordReader"/> reads is.
/// </summary>
public readonly ref struct RecordView
{
    private readonly ReadOnlySpan<byte> _key;
    private readonly ReadOnlySpan<byte> _value;
    private readonly ReadOnlySpan<byte> _headers;

    internal RecordView(
        byte attributes,
        long timestampDelta,
        int offsetDelta,
        ReadOnlySpan<byte> key,
        bool keyIsNull,
        ReadOnlySpan<byte> value,
        bool valueIsNull,
        int headerCount,
        ReadOnlySpan<byte> headersRaw)
    {
        Attributes = attributes;
        TimestampDelta = timestampDelta;
        OffsetDelta = offsetDelta;
        _key = key;
        KeyIsNull = keyIsNull;
        _value = value;
        ValueIsNull = valueIsNull;
        HeaderCount = headerCount;
        _headers = headersRaw;
    }

    /// <summary>The record attributes byte (unused by Kafka so far, always 0 from real clients).</summary>
    public byte Attributes { get; }

    /// <summary>Timestamp relative to the batch's firstTimestamp (may be negative).</summary>
    public long TimestampDelta { get; }

    /// <summary>Offset relative to the batch's baseOffset.</summary>
    public int OffsetDelta { get; }

    /// <summary>Key bytes; empty when <see cref="KeyIsNull"/>.</summary>
    public ReadOnlySpan<byte> Key => _key;

    /// <summary>True for a null key (keyLength -1), as opposed to an empty one.</summary>
    public bool KeyIsNull { get; }

    /// <summary>Value bytes; empty when <see cref="ValueIsNull"/>.</summary>
    public ReadOnlySpan<byte> Value => _value;

    /// <summary>True for a null value (a tombstone), as opposed to an empty one.</summary>
    public bool ValueIsNull { get; }

    /// <summary>Number of headers.</summary>
    public int HeaderCount { get; }

    /// <summary>The encoded headers after the header count: (keyLength, key, valueLength, value) each.</summary>
    public ReadOnlySpan<byte> HeadersRaw => _headers;

    /// <summary>A reader over the headers (already bounds-checked by <see cref="RecordReader"/>).</summary>
    public RecordHeaderReader GetHeaders() => new(_headers, HeaderCount);
}
