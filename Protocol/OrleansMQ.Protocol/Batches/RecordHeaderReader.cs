namespace OrleansMQ.Protocol.Batches;

/// <summary>
/// Reads the headers of one record: <c>headerKeyLength varint, key, headerValueLength varint
/// (-1 = null), value</c>, repeated <c>headerCount</c> times. Allocates nothing.
/// </summary>
public ref struct RecordHeaderReader
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly int _count;
    private int _position;
    private int _read;

    /// <summary>Creates a reader over <see cref="RecordView.HeadersRaw"/> and <see cref="RecordView.HeaderCount"/>.</summary>
    public RecordHeaderReader(ReadOnlySpan<byte> headersRaw, int headerCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(headerCount);
        _data = headersRaw;
        _count = headerCount;
        _position = 0;
        _read = 0;
    }

    /// <summary>Reads the next header; false after the last one.</summary>
    /// <exception cref="InvalidDataException">The header bytes are malformed.</exception>
    public bool TryReadNext(out RecordHeader header)
    {
        if (_read == _count)
        {
            header = default;
            return false;
        }

        int pos = _position;
        int keyLength = KafkaVarint.ReadInt32(_data, ref pos);
        if (keyLength < 0 || keyLength > _data.Length - pos)
        {
            throw new InvalidDataException($"Header {_read} has key length {keyLength} with {_data.Length - pos} bytes left.");
        }

        ReadOnlySpan<byte> key = _data.Slice(pos, keyLength);
        pos += keyLength;
        int valueLength = KafkaVarint.ReadInt32(_data, ref pos);
        if (valueLength < -1 || valueLength > _data.Length - pos)
        {
            throw new InvalidDataException($"Header {_read} has value length {valueLength} with {_data.Length - pos} bytes left.");
        }

        ReadOnlySpan<byte> value = valueLength < 0 ? default : _data.Slice(pos, valueLength);
        pos += Math.Max(valueLength, 0);
        header = new RecordHeader(key, value, valueLength < 0);
        _position = pos;
        _read++;
        return true;
    }
}
