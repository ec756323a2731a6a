using Microsoft.Win32.SafeHandles;

namespace OrleansMQ.Storage.Tiering;

/// <summary>
/// A read-only, seekable view of <c>length</c> bytes of a file starting at <c>offset</c> (one sealed
/// segment), read with <see cref="RandomAccess"/> so it shares no file position. Seekable and of
/// known length, the SDK can split it into blocks and rewind a block for a retry.
/// </summary>
internal sealed class FileRangeStream : Stream
{
    private readonly SafeFileHandle _file;
    private readonly long _offset;
    private readonly long _length;
    private readonly string _path;
    private long _position;

    public FileRangeStream(SafeFileHandle file, long offset, long length, string path)
    {
        _file = file;
        _offset = offset;
        _length = length;
        _path = path;
    }

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => _length;

    public override long Position
    {
        get => _position;
        set => _position = value is >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var slice = Window(buffer.Length);
        if (slice == 0)
        {
            return 0;
        }

        return Advance(RandomAccess.Read(_file, buffer[..slice], _offset + _position), slice);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var slice = Window(buffer.Length);
        if (slice == 0)
        {
            return 0;
        }

        int n = await RandomAccess.ReadAsync(_file, buffer[..slice], _offset + _position, cancellationToken).ConfigureAwait(false);
        return Advance(n, slice);
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => _length + offset,
        };
        return _position;
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private int Window(int wanted) => (int)Math.Min(wanted, Math.Max(0, _length - _position));

    private int Advance(int n, int wanted)
    {
        if (n == 0 && wanted > 0)
        {
            throw new EndOfStreamException($"'{_path}' ended at {_offset + _position} while uploading it; it must not shrink during an upload.");
        }

        _position += n;
        return n;
    }
}
