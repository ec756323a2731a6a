using System.Buffers;
using OrleansMQ.Protocol.Batches;

namespace OrleansMQ.Client.Producer;

/// <summary>
/// One partition's batch being filled, then sent (and resent) until acknowledged. Records are
/// encoded by the shared <see cref="RecordBatchEncoder"/> straight into the pooled buffer after
/// room for the 61-byte batch header, which is written (with producer id, epoch, sequence and
/// CRC) each time the batch is sent. A compressed copy is made once, into a buffer rented from
/// <see cref="ArrayPool{T}.Shared"/>, when the batch is first sent. Pooled: the producer reuses
/// these objects.
/// </summary>
internal sealed class ProducerBatch
{
    private readonly RecordBatchEncoder _encoder = new();
    private Entry[] _entries = [];
    private int _entryCount;
    private byte[]? _compressed;
    private int _compressedLength;

    public PartitionState Partition { get; private set; } = null!;

    /// <summary>The batch buffer: header room, then the records.</summary>
    public byte[] Buffer => _encoder.Buffer;

    /// <summary>End of the records in <see cref="Buffer"/>.</summary>
    public int Length => _encoder.Length;

    public int Count => _encoder.Count;

    /// <summary>Creation order across the producer (flush waits for batches up to a serial).</summary>
    public long Serial { get; private set; }

    /// <summary>Environment.TickCount64 at creation: linger and delivery timeout count from here.</summary>
    public long CreatedAt { get; private set; }

    public long FirstTimestamp => _encoder.FirstTimestamp;

    public long MaxTimestamp => _encoder.MaxTimestamp;

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
        _encoder.Reset(buffer);
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
        ReturnCompressed();
    }

    /// <summary>Bytes a record takes in a batch (length prefix included), for the size checks.</summary>
    public static int RecordSize(int keyLength, bool keyIsNull, int valueLength, bool valueIsNull, IReadOnlyList<KeyValuePair<string, byte[]?>>? headers, long timestampDelta, int offsetDelta) =>
        RecordBatchEncoder.RecordSize(keyLength, keyIsNull, valueLength, valueIsNull, headers, timestampDelta, offsetDelta);

    /// <summary>Appends a record; false when it does not fit (the batch is left unchanged).</summary>
    public bool TryAppend(ReadOnlySpan<byte> key, bool keyIsNull, ReadOnlySpan<byte> value, bool valueIsNull, IReadOnlyList<KeyValuePair<string, byte[]?>>? headers, long timestamp, IDeliveryHandler? handler, object? state)
    {
        int offsetDelta = _encoder.Count;
        if (!_encoder.TryAppend(key, keyIsNull, value, valueIsNull, headers, timestamp))
        {
            return false;
        }

        if (handler is not null)
        {
            if (_entryCount == _entries.Length)
            {
                GrowEntries();
            }

            _entries[_entryCount++] = new Entry(handler, state, offsetDelta, timestamp);
        }

        return true;
    }

    /// <summary>Compresses the records once, when the batch is first sent (the compressed copy is resent on retries).</summary>
    public void Compress(CompressionCodec codec)
    {
        if (codec == CompressionCodec.None || _compressed is not null)
        {
            return;
        }

        _compressed = _encoder.Compress(codec, out _compressedLength);
    }

    /// <summary>Writes the batch header (and CRC) for this attempt; returns the whole batch.</summary>
    public ReadOnlyMemory<byte> Prepare(CompressionCodec codec)
    {
        bool compressed = codec != CompressionCodec.None && _compressed is not null;
        byte[] target = compressed ? _compressed! : Buffer;
        int total = compressed ? _compressedLength : Length;
        _encoder.WriteHeader(target.AsSpan(0, total), compressed ? codec : CompressionCodec.None, isTransactional: false, ProducerId, ProducerEpoch, Sequence);
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

    /// <summary>Hands the buffers back (the compressed copy to the shared pool); the object may then be reused.</summary>
    public byte[] TakeBuffer()
    {
        ReturnCompressed();
        Partition = null!;
        return _encoder.Detach();
    }

    private void ReturnCompressed()
    {
        if (_compressed is { } compressed)
        {
            _compressed = null;
            _compressedLength = 0;
            ArrayPool<byte>.Shared.Return(compressed);
        }
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

    private readonly record struct Entry(IDeliveryHandler Handler, object? State, int OffsetDelta, long Timestamp);
}
