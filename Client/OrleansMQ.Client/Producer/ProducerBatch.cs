using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using OrleansMQ.Protocol.Batches;

namespace OrleansMQ.Client.Producer;

/// <summary>
/// One partition's batch being filled, then sent (and resent) until acknowledged. Records are
/// encoded straight into the pooled buffer after room for the 61-byte batch header, which is
/// written (with producer id, epoch, sequence and CRC) each time the batch is sent. Pooled: the
/// producer reuses these objects.
/// </summary>
internal sealed class ProducerBatch
{
    private Entry[] _entries = [];
    private int _entryCount;
    private byte[]? _compressed;
    private int _compressedLength;

    public PartitionState Partition { get; private set; } = null!;

    /// <summary>The batch buffer: header room, then the records.</summary>
    public byte[] Buffer { get; private set; } = [];

    /// <summary>End of the records in <see cref="Buffer"/>.</summary>
    public int Length { get; private set; }

    public int Count { get; private set; }

    /// <summary>Creation order across the producer (flush waits for batches up to a serial).</summary>
    public long Serial { get; private set; }

    /// <summary>Environment.TickCount64 at creation: linger and delivery timeout count from here.</summary>
    public long CreatedAt { get; private set; }

    public long FirstTimestamp { get; private set; }

    public long MaxTimestamp { get; private set; }

    public bool Sealed { get; set; }

    /// <summary>Base sequence, or -1 while none is assigned (idempotence).</summary>
    public int Sequence { get; set; } = -1;

    public long ProducerId { get; set; } = -1;

    public short ProducerEpoch { get; set; } = -1;

    public int Attempts { get; set; }

    /// <summary>Environment.TickCount64 before which a retry must not be sent.</summary>
    public long RetryAt { get; set; }

    public KafkaException? LastError { get; set; }

    public void Reset(PartitionState partition, byte[] buffer, long serial, long now)
    {
        Partition = partition;
        Buffer = buffer;
        Length = RecordBatch.HeaderSize;
        Count = 0;
        Serial = serial;
        CreatedAt = now;
        Sealed = false;
        Sequence = -1;
        ProducerId = -1;
        ProducerEpoch = -1;
        Attempts = 0;
        RetryAt = 0;
        LastError = null;
        _entryCount = 0;
        _compressedLength = 0;
    }

    /// <summary>Bytes a record takes in a batch (length prefix included), for the size checks.</summary>
    public static int RecordSize(int keyLength, bool keyIsNull, int valueLength, bool valueIsNull, IReadOnlyList<KeyValuePair<string, byte[]?>>? headers, long timestampDelta, int offsetDelta)
    {
        int body = BodySize(keyLength, keyIsNull, valueLength, valueIsNull, headers, timestampDelta, offsetDelta);
        return KafkaVarint.SizeOf(body) + body;
    }

    /// <summary>Appends a record; false when it does not fit (the batch is left unchanged).</summary>
    public bool TryAppend(ReadOnlySpan<byte> key, bool keyIsNull, ReadOnlySpan<byte> value, bool valueIsNull, IReadOnlyList<KeyValuePair<string, byte[]?>>? headers, long timestamp, IDeliveryHandler? handler, object? state)
    {
        if (Count == 0)
        {
            FirstTimestamp = timestamp;
            MaxTimestamp = timestamp;
        }

        long timestampDelta = timestamp - FirstTimestamp;
        int body = BodySize(key.Length, keyIsNull, value.Length, valueIsNull, headers, timestampDelta, Count);
        int size = KafkaVarint.SizeOf(body) + body;
        if (Length + size > Buffer.Length)
        {
            return false;
        }

        Span<byte> span = Buffer.AsSpan(Length, size);
        int p = KafkaVarint.Write(span, body);
        span[p++] = 0; // record attributes: unused
        p += KafkaVarint.Write(span[p..], timestampDelta);
        p += KafkaVarint.Write(span[p..], Count);
        p += WriteNullable(span[p..], key, keyIsNull);
        p += WriteNullable(span[p..], value, valueIsNull);
        int headerCount = headers?.Count ?? 0;
        p += KafkaVarint.Write(span[p..], headerCount);
        for (int h = 0; h < headerCount; h++)
        {
            var header = headers![h];
            int keyBytes = Encoding.UTF8.GetByteCount(header.Key);
            p += KafkaVarint.Write(span[p..], keyBytes);
            p += Encoding.UTF8.GetBytes(header.Key, span[p..]);
            p += WriteNullable(span[p..], header.Value, header.Value is null);
        }

        if (handler is not null)
        {
            if (_entryCount == _entries.Length)
            {
                GrowEntries();
            }

            _entries[_entryCount++] = new Entry(handler, state, Count, timestamp);
        }

        Length += size;
        Count++;
        if (timestamp > MaxTimestamp)
        {
            MaxTimestamp = timestamp;
        }

        return true;
    }

    /// <summary>Compresses the records once, when the batch is closed (the compressed copy is resent on retries).</summary>
    public void Compress(CompressionCodec codec)
    {
        if (codec != CompressionCodec.Gzip || _compressedLength > 0)
        {
            return;
        }

        int recordsLength = Length - RecordBatch.HeaderSize;
        var output = new MemoryStream(RecordBatch.HeaderSize + (recordsLength / 2) + 64);
        output.Position = RecordBatch.HeaderSize;
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(Buffer, RecordBatch.HeaderSize, recordsLength);
        }

        _compressed = output.GetBuffer();
        _compressedLength = (int)output.Length;
    }

    /// <summary>Writes the batch header (and CRC) for this attempt; returns the whole batch.</summary>
    public ReadOnlyMemory<byte> Prepare(CompressionCodec codec)
    {
        byte[] target = codec == CompressionCodec.Gzip && _compressed is not null ? _compressed : Buffer;
        int total = codec == CompressionCodec.Gzip && _compressed is not null ? _compressedLength : Length;
        Span<byte> header = target.AsSpan(0, total);
        BinaryPrimitives.WriteInt64BigEndian(header[RecordBatch.BaseOffset..], 0);
        BinaryPrimitives.WriteInt32BigEndian(header[RecordBatch.BatchLength..], total - RecordBatch.LengthOverhead);
        BinaryPrimitives.WriteInt32BigEndian(header[RecordBatch.PartitionLeaderEpoch..], -1);
        header[RecordBatch.Magic] = RecordBatch.CurrentMagic;
        BinaryPrimitives.WriteInt16BigEndian(header[RecordBatch.Attributes..], (short)(target == Buffer ? 0 : (int)codec));
        BinaryPrimitives.WriteInt32BigEndian(header[RecordBatch.LastOffsetDelta..], Count - 1);
        BinaryPrimitives.WriteInt64BigEndian(header[RecordBatch.FirstTimestamp..], FirstTimestamp);
        BinaryPrimitives.WriteInt64BigEndian(header[RecordBatch.MaxTimestamp..], MaxTimestamp);
        BinaryPrimitives.WriteInt64BigEndian(header[RecordBatch.ProducerId..], ProducerId);
        BinaryPrimitives.WriteInt16BigEndian(header[RecordBatch.ProducerEpoch..], ProducerEpoch);
        BinaryPrimitives.WriteInt32BigEndian(header[RecordBatch.BaseSequence..], Sequence);
        BinaryPrimitives.WriteInt32BigEndian(header[RecordBatch.RecordCount..], Count);
        RecordBatch.RecomputeCrc(header);
        return target.AsMemory(0, total);
    }

    /// <summary>Reports every record of the batch to its handler (errors in handlers are swallowed: they must not stop the producer).</summary>
    public void Complete(string topic, int partition, long baseOffset, long logAppendTime, KafkaException? error)
    {
        for (int i = 0; i < _entryCount; i++)
        {
            ref var entry = ref _entries[i];
            long offset = error is null && baseOffset >= 0 ? baseOffset + entry.OffsetDelta : -1;
            long timestamp = logAppendTime >= 0 ? logAppendTime : entry.Timestamp;
            var report = new DeliveryReport(new DeliveryResult(topic, partition, offset, timestamp), error, entry.State);
            try
            {
                entry.Handler.OnDelivery(in report);
            }
#pragma warning disable CA1031 // A user's handler must not break the I/O loop.
            catch (Exception)
#pragma warning restore CA1031
            {
            }

            entry = default;
        }

        _entryCount = 0;
    }

    /// <summary>Hands the buffers back; the object may then be reused.</summary>
    public byte[] TakeBuffer()
    {
        var buffer = Buffer;
        Buffer = [];
        _compressed = null;
        _compressedLength = 0;
        Partition = null!;
        return buffer;
    }

    private void GrowEntries()
    {
        var bigger = ArrayPool<Entry>.Shared.Rent(Math.Max(64, _entries.Length * 2));
        _entries.AsSpan(0, _entryCount).CopyTo(bigger);
        if (_entries.Length > 0)
        {
            ArrayPool<Entry>.Shared.Return(_entries, clearArray: true);
        }

        _entries = bigger;
    }

    private static int BodySize(int keyLength, bool keyIsNull, int valueLength, bool valueIsNull, IReadOnlyList<KeyValuePair<string, byte[]?>>? headers, long timestampDelta, int offsetDelta)
    {
        int headerCount = headers?.Count ?? 0;
        int size = 1
            + KafkaVarint.SizeOf(timestampDelta)
            + KafkaVarint.SizeOf(offsetDelta)
            + SizeOfNullable(keyLength, keyIsNull)
            + SizeOfNullable(valueLength, valueIsNull)
            + KafkaVarint.SizeOf(headerCount);
        for (int h = 0; h < headerCount; h++)
        {
            var header = headers![h];
            ArgumentNullException.ThrowIfNull(header.Key, "headers[].Key");
            int keyBytes = Encoding.UTF8.GetByteCount(header.Key);
            size += KafkaVarint.SizeOf(keyBytes) + keyBytes + SizeOfNullable(header.Value?.Length ?? 0, header.Value is null);
        }

        return size;
    }

    private static int SizeOfNullable(int length, bool isNull) =>
        isNull ? 1 : KafkaVarint.SizeOf(length) + length;

    private static int WriteNullable(Span<byte> destination, ReadOnlySpan<byte> bytes, bool isNull)
    {
        if (isNull)
        {
            return KafkaVarint.Write(destination, -1);
        }

        int p = KafkaVarint.Write(destination, bytes.Length);
        bytes.CopyTo(destination[p..]);
        return p + bytes.Length;
    }

    private readonly record struct Entry(IDeliveryHandler Handler, object? State, int OffsetDelta, long Timestamp);
}
