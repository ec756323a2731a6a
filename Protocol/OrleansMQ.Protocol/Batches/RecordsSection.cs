using System.Buffers;

namespace OrleansMQ.Protocol.Batches;

/// <summary>
/// The uncompressed records of one batch: either a slice of the batch itself or a decompressed
/// buffer rented from <see cref="ArrayPool{T}.Shared"/>. Dispose it (<c>using</c>) to return the
/// buffer; do not copy it, because each copy would return the same buffer.
/// </summary>
public ref struct RecordsSection : IDisposable
{
    private ReadOnlySpan<byte> _span;
    private byte[]? _rented;

    internal RecordsSection(ReadOnlySpan<byte> span, int recordCount, byte[]? rented)
    {
        _span = span;
        _rented = rented;
        RecordCount = recordCount;
    }

    /// <summary>The uncompressed records bytes; empty after <see cref="Dispose"/>.</summary>
    public readonly ReadOnlySpan<byte> Span => _span;

    /// <summary>The batch's recordCount.</summary>
    public int RecordCount { get; private set; }

    /// <summary>True when the bytes were decompressed into a pooled buffer.</summary>
    public readonly bool IsPooled => _rented is not null;

    /// <summary>A reader over <see cref="Span"/> expecting <see cref="RecordCount"/> records.</summary>
    public readonly RecordReader CreateReader() => new(_span, RecordCount);

    /// <summary>Returns a rented buffer to the pool. Idempotent on the same instance.</summary>
    public void Dispose()
    {
        byte[]? rented = _rented;
        _rented = null;
        _span = default;
        RecordCount = 0;
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
