using System.Buffers;

namespace OrleansMQ.Protocol.Batches.Compression;

/// <summary>
/// A write-only stream (and <see cref="IBufferWriter{T}"/>) over a buffer rented from
/// <see cref="ArrayPool{T}.Shared"/>, starting after a reserved prefix, for the codecs that write
/// through a stream. Grows by renting a larger array; <see cref="Detach"/> hands the buffer over.
/// </summary>
internal sealed class PooledOutput : Stream, IBufferWriter<byte>
{
    private byte[] _buffer;
    private int _length;

    public PooledOutput(int offset, int expected)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(offset + expected, 256));
        _length = offset;
    }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => _length;

    public override long Position
    {
        get => _length;
        set => throw new NotSupportedException();
    }

    /// <summary>The buffer and the end of what was written; the stream must not be used after.</summary>
    public byte[] Detach(out int length)
    {
        byte[] buffer = _buffer;
        length = _length;
        _buffer = [];
        _length = 0;
        return buffer;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        buffer.CopyTo(GetSpan(buffer.Length));
        _length += buffer.Length;
    }

    public override void WriteByte(byte value)
    {
        GetSpan(1)[0] = value;
        _length++;
    }

    public void Advance(int count) => _length += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_length);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_length);
    }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        // Only a buffer that was never detached goes back (an exception while compressing).
        if (disposing && _buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }

        base.Dispose(disposing);
    }

    private void Ensure(int sizeHint)
    {
        long needed = (long)_length + Math.Max(sizeHint, 1);
        if (needed <= _buffer.Length)
        {
            return;
        }

        if (needed > Array.MaxLength)
        {
            throw new InvalidOperationException("The compressed records would exceed the largest array size.");
        }

        byte[] larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(Math.Max(needed, (long)_buffer.Length * 2), Array.MaxLength));
        _buffer.AsSpan(0, _length).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
    }
}
