using System.Buffers;

namespace OrleansMQ.Protocol.Batches;

/// <summary>
/// Builds a Kafka RecordBatch v2 in memory that grows as needed, over the one record encoder
/// (<see cref="RecordBatchEncoder"/>) the managed producer uses too. For the silo's own writes
/// (offset commits, REST produce), tests and benchmarks. Every Kafka codec is supported.
/// Reusable after <see cref="Clear"/>; not thread-safe.
/// </summary>
public sealed class RecordBatchBuilder
{
    private readonly RecordBatchEncoder _encoder = new();
    private byte[]? _compressed; // rented; valid until the records change
    private int _compressedLength;

    /// <summary>Creates a builder for <paramref name="codec"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The codec is not one Kafka defines.</exception>
    public RecordBatchBuilder(CompressionCodec codec = CompressionCodec.None)
    {
        if (codec > CompressionCodec.Zstd)
        {
            throw new ArgumentOutOfRangeException(nameof(codec), codec, "Kafka defines codecs 0 (none) to 4 (zstd).");
        }

        Compression = codec;
        _encoder.Reset(new byte[256]);
    }

    /// <summary>The codec the records section is written with.</summary>
    public CompressionCodec Compression { get; }

    /// <summary>The baseOffset field; 0 like a producer (the broker overwrites it).</summary>
    public long BaseOffset { get; set; }

    /// <summary>The partitionLeaderEpoch field; -1 like a producer.</summary>
    public int PartitionLeaderEpoch { get; set; } = -1;

    /// <summary>Producer id; -1 when the producer is not idempotent.</summary>
    public long ProducerId { get; set; } = -1;

    /// <summary>Producer epoch; -1 when the producer is not idempotent.</summary>
    public short ProducerEpoch { get; set; } = -1;

    /// <summary>Sequence of the first record; -1 when the producer is not idempotent.</summary>
    public int BaseSequence { get; set; } = -1;

    /// <summary>Sets attributes bit 4.</summary>
    public bool IsTransactional { get; set; }

    /// <summary>Records added since construction or <see cref="Clear"/>.</summary>
    public int Count => _encoder.Count;

    /// <summary>Adds a record with a key (an empty span is an empty key, not a null one).</summary>
    public void Add(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long timestamp, IReadOnlyList<KeyValuePair<string, byte[]>>? headers = null) =>
        AddRecord(key, keyIsNull: false, value, valueIsNull: false, timestamp, headers);

    /// <summary>Adds a record with a null key.</summary>
    public void Add(ReadOnlySpan<byte> value, long timestamp, IReadOnlyList<KeyValuePair<string, byte[]>>? headers = null) =>
        AddRecord(default, keyIsNull: true, value, valueIsNull: false, timestamp, headers);

    /// <summary>Adds a record with a null value (a tombstone for compacted topics).</summary>
    public void AddTombstone(ReadOnlySpan<byte> key, long timestamp, IReadOnlyList<KeyValuePair<string, byte[]>>? headers = null) =>
        AddRecord(key, keyIsNull: false, default, valueIsNull: true, timestamp, headers);

    /// <summary>Removes all records; the header properties keep their values.</summary>
    public void Clear()
    {
        DropCompressed();
        _encoder.Reset(_encoder.Buffer);
    }

    /// <summary>Exact size in bytes of the batch <see cref="Build()"/> produces (compresses if needed).</summary>
    public int GetSize() => Compression == CompressionCodec.None ? _encoder.Length : EnsureCompressed();

    /// <summary>Builds the batch into a new array.</summary>
    /// <exception cref="InvalidOperationException">No record was added.</exception>
    public byte[] Build()
    {
        var batch = new byte[GetSize()];
        Build(batch);
        return batch;
    }

    /// <summary>Builds the batch into <paramref name="destination"/>; returns the bytes written.</summary>
    /// <exception cref="InvalidOperationException">No record was added.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is smaller than <see cref="GetSize"/>.</exception>
    public int Build(Span<byte> destination)
    {
        if (Count == 0)
        {
            throw new InvalidOperationException("A record batch needs at least one record.");
        }

        int total = GetSize();
        if (destination.Length < total)
        {
            throw new ArgumentException($"The batch needs {total} bytes; the destination has {destination.Length}.", nameof(destination));
        }

        Span<byte> batch = destination[..total];
        if (Compression == CompressionCodec.None)
        {
            _encoder.Buffer.AsSpan(RecordBatch.HeaderSize, total - RecordBatch.HeaderSize).CopyTo(batch[RecordBatch.HeaderSize..]);
        }
        else
        {
            _compressed.AsSpan(RecordBatch.HeaderSize, total - RecordBatch.HeaderSize).CopyTo(batch[RecordBatch.HeaderSize..]);
        }

        _encoder.WriteHeader(batch, Compression, IsTransactional, ProducerId, ProducerEpoch, BaseSequence, BaseOffset, PartitionLeaderEpoch);
        return total;
    }

    private int EnsureCompressed()
    {
        if (_compressed is null)
        {
            _compressed = _encoder.Compress(Compression, out _compressedLength);
        }

        return _compressedLength;
    }

    private void DropCompressed()
    {
        if (_compressed is { } compressed)
        {
            _compressed = null;
            ArrayPool<byte>.Shared.Return(compressed);
        }
    }

    private void AddRecord(ReadOnlySpan<byte> key, bool keyIsNull, ReadOnlySpan<byte> value, bool valueIsNull, long timestamp, IReadOnlyList<KeyValuePair<string, byte[]>>? headers)
    {
        // byte[] and byte[]? are one type at run time; the encoder also takes null header values.
        IReadOnlyList<KeyValuePair<string, byte[]?>>? encoded = headers!;
        DropCompressed();
        while (!_encoder.TryAppend(key, keyIsNull, value, valueIsNull, encoded, timestamp))
        {
            long needed = (long)_encoder.Length + _encoder.NextRecordSize(key.Length, keyIsNull, value.Length, valueIsNull, encoded, timestamp);
            if (needed > Array.MaxLength)
            {
                throw new InvalidOperationException("The record batch would exceed the largest array size.");
            }

            _encoder.MoveTo(new byte[(int)Math.Min(Math.Max(needed, (long)_encoder.Buffer.Length * 2), Array.MaxLength)]);
        }
    }
}
