namespace OrleansMQ.Protocol.Batches;

/// <summary>
/// Reads the records of an uncompressed records section (the bytes after a batch header, or the
/// decompressed block). Every length is checked against the bytes actually present before it is
/// used, so a lying batch throws <see cref="InvalidDataException"/> and never reads out of bounds.
/// Allocates nothing on success.
/// <code>
/// length         varint   bytes of the rest of the record
/// attributes     int8
/// timestampDelta varlong
/// offsetDelta    varint
/// keyLength      varint   -1 = null key
/// key            bytes
/// valueLength    varint   -1 = null value
/// value          bytes
/// headerCount    varint
/// headers        (keyLength varint, key, valueLength varint, value) x headerCount
/// </code>
/// All varints are zigzag-encoded.
/// </summary>
public ref struct RecordReader
{
    // attributes + timestampDelta + offsetDelta + keyLength + valueLength + headerCount, 1 byte each.
    private const int MinBodySize = 6;

    // Smallest header: keyLength and valueLength varints with an empty key and value.
    private const int MinHeaderSize = 2;

    private readonly ReadOnlySpan<byte> _data;
    private readonly int _count;
    private int _position;
    private int _read;

    /// <summary>Creates a reader over <paramref name="records"/> that expects <paramref name="recordCount"/> records.</summary>
    public RecordReader(ReadOnlySpan<byte> records, int recordCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(recordCount);
        _data = records;
        _count = recordCount;
        _position = 0;
        _read = 0;
    }

    /// <summary>Records read so far.</summary>
    public readonly int RecordsRead => _read;

    /// <summary>
    /// Reads the next record. Returns false once <c>recordCount</c> records have been read and the
    /// section is used up exactly.
    /// </summary>
    /// <exception cref="InvalidDataException">
    /// A length or varint is malformed or runs past its record, the section ends before
    /// <c>recordCount</c> records, or bytes remain after the last one.
    /// </exception>
    public bool TryReadNext(out RecordView record)
    {
        int index = _read;
        int pos = _position;
        if (index == _count)
        {
            if (pos != _data.Length)
            {
                throw new InvalidDataException($"{_data.Length - pos} bytes follow the last of {_count} records.");
            }

            record = default;
            return false;
        }

        if (pos >= _data.Length)
        {
            throw new InvalidDataException($"The records section ends after {index} of {_count} records.");
        }

        int length = KafkaVarint.ReadInt32(_data, ref pos);
        if (length < MinBodySize || length > _data.Length - pos)
        {
            throw new InvalidDataException($"Record {index} has length {length}; it must be at least {MinBodySize} and at most the {_data.Length - pos} bytes left.");
        }

        ReadOnlySpan<byte> body = _data.Slice(pos, length);
        int p = 0;
        byte attributes = body[p++];
        long timestampDelta = KafkaVarint.ReadInt64(body, ref p);
        int offsetDelta = KafkaVarint.ReadInt32(body, ref p);
        ReadOnlySpan<byte> key = ReadNullableBytes(body, ref p, index, "key", out bool keyIsNull);
        ReadOnlySpan<byte> value = ReadNullableBytes(body, ref p, index, "value", out bool valueIsNull);

        int headerCount = KafkaVarint.ReadInt32(body, ref p);
        if (headerCount < 0 || headerCount > (body.Length - p) / MinHeaderSize)
        {
            throw new InvalidDataException($"Record {index} has header count {headerCount} with {body.Length - p} bytes left.");
        }

        int headersStart = p;
        for (int h = 0; h < headerCount; h++)
        {
            int keyLength = KafkaVarint.ReadInt32(body, ref p);
            if (keyLength < 0 || keyLength > body.Length - p)
            {
                throw new InvalidDataException($"Record {index}, header {h} has key length {keyLength} with {body.Length - p} bytes left.");
            }

            p += keyLength;
            int valueLength = KafkaVarint.ReadInt32(body, ref p);
            if (valueLength < -1 || valueLength > body.Length - p)
            {
                throw new InvalidDataException($"Record {index}, header {h} has value length {valueLength} with {body.Length - p} bytes left.");
            }

            p += Math.Max(valueLength, 0);
        }

        if (p != body.Length)
        {
            throw new InvalidDataException($"Record {index} declares {length} bytes but its fields use {p}.");
        }

        record = new RecordView(attributes, timestampDelta, offsetDelta, key, keyIsNull, value, valueIsNull, headerCount, body[headersStart..]);
        _position = pos + length;
        _read = index + 1;
        return true;
    }

    private static ReadOnlySpan<byte> ReadNullableBytes(ReadOnlySpan<byte> body, scoped ref int p, int index, string field, out bool isNull)
    {
        int length = KafkaVarint.ReadInt32(body, ref p);
        if (length < 0)
        {
            if (length != -1)
            {
                throw new InvalidDataException($"Record {index} has {field} length {length}; only -1 (null) may be negative.");
            }

            isNull = true;
            return default;
        }

        if (length > body.Length - p)
        {
            throw new InvalidDataException($"Record {index} has {field} length {length} with {body.Length - p} bytes left.");
        }

        isNull = false;
        ReadOnlySpan<byte> bytes = body.Slice(p, length);
        p += length;
        return bytes;
    }
}
