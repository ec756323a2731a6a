using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace OrleansMQ.Silo.Kafka.Network;

/// <summary>
/// Writes responses of one connection to its socket, one at a time, in the order given:
/// <code>
///   [size: int32 big-endian = response.Length][chunk 0][chunk 1]...
/// </code>
/// Memory chunks and size prefixes are gathered in a 64 KiB send buffer so pipelined small
/// responses leave in few send calls; the buffer is flushed before a file region, which goes
/// with sendfile(2) straight from the page cache (or, with zero-copy off, is read into the send
/// buffer). Only the connection's single sender task calls this class.
/// </summary>
internal sealed class ResponseSender : IDisposable
{
    internal const int BufferSize = 64 * 1024;

    private readonly Socket _socket;
    private readonly SafeSocketHandle _socketHandle;
    private readonly long _key;
    private readonly bool _zeroCopy;
    private readonly KafkaListenerMetrics _metrics;
    private readonly SocketWritableWaiter _writableWaiter;
    private byte[]? _buffer;
    private int _buffered;
    private bool _waitedForWritable;

    public ResponseSender(Socket socket, long key, bool zeroCopy, KafkaListenerMetrics metrics, SocketWritableWaiter writableWaiter)
    {
        _socket = socket;
        _socketHandle = socket.SafeHandle;
        _key = key;
        _zeroCopy = zeroCopy;
        _metrics = metrics;
        _writableWaiter = writableWaiter;
    }

    /// <summary>Bytes waiting in the send buffer.</summary>
    public int Buffered => _buffered;

    /// <summary>
    /// Writes one response (size prefix and chunks). Bytes may stay in the send buffer until
    /// <see cref="FlushAsync"/>; file regions are sent before this returns.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask WriteAsync(KafkaResponse response, CancellationToken cancellationToken)
    {
        response.Complete();
        if (response.Length > int.MaxValue)
        {
            throw new InvalidOperationException($"Response of {response.Length} bytes does not fit the 4-byte size prefix.");
        }

        byte[] buffer = _buffer ??= ArrayPool<byte>.Shared.Rent(BufferSize);
        if (buffer.Length - _buffered < KafkaFrameReader.SizePrefixLength)
        {
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        BinaryPrimitives.WriteInt32BigEndian(buffer.AsSpan(_buffered), (int)response.Length);
        _buffered += KafkaFrameReader.SizePrefixLength;

        IReadOnlyList<ResponseChunk> chunks = response.Chunks;
        for (int i = 0; i < chunks.Count; i++)
        {
            ResponseChunk chunk = chunks[i];
            if (!chunk.IsFile)
            {
                await WriteMemoryAsync(chunk.Buffer.AsMemory(0, chunk.Count), cancellationToken).ConfigureAwait(false);
            }
            else if (_zeroCopy)
            {
                await FlushAsync(cancellationToken).ConfigureAwait(false);
                await SendFileAsync(chunk.File, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await CopyFileAsync(chunk.File, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Sends whatever is in the send buffer.</summary>
    public ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        if (_buffered == 0)
        {
            return ValueTask.CompletedTask;
        }

        int count = _buffered;
        _buffered = 0;
        return SendAllAsync(_buffer.AsMemory(0, count), cancellationToken);
    }

    public void Dispose()
    {
        if (_waitedForWritable)
        {
            _writableWaiter.Unregister(_socketHandle);
            _waitedForWritable = false;
        }

        if (_buffer is { } buffer)
        {
            _buffer = null;
            _buffered = 0;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private ValueTask WriteMemoryAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        byte[] buffer = _buffer!;
        if (data.Length <= buffer.Length - _buffered)
        {
            data.Span.CopyTo(buffer.AsSpan(_buffered));
            _buffered += data.Length;
            return ValueTask.CompletedTask;
        }

        return WriteMemorySlowAsync(data, cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WriteMemorySlowAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        if (data.Length <= BufferSize / 2)
        {
            data.Span.CopyTo(_buffer);
            _buffered = data.Length;
        }
        else
        {
            // Large chunk: send it from where it is rather than copying it through the buffer.
            await SendAllAsync(data, cancellationToken).ConfigureAwait(false);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendAllAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            int sent = await _socket.SendAsync(data, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (sent <= 0)
            {
                throw new IOException("The socket accepted no bytes.");
            }

            _metrics.BytesSent(sent);
            data = data[sent..];
        }
    }

    /// <summary>
    /// sendfile(2) loop: partial sends continue from the kernel-updated offset; EAGAIN (the
    /// non-blocking socket's buffer is full) parks on the epoll waiter until the socket drains;
    /// EINTR retries; 0 bytes before the end means the file is shorter than the region said.
    /// </summary>
    private async ValueTask SendFileAsync(FileRegion region, CancellationToken cancellationToken)
    {
        long offset = region.Offset;
        long remaining = region.Length;
        while (remaining > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            long sent = SendFileOnce(region.File, ref offset, remaining, out int errno);
            if (sent > 0)
            {
                remaining -= sent;
                _metrics.BytesSentWithSendFile(sent);
            }
            else if (sent == 0)
            {
                throw new IOException($"File region ends past the end of its file ({remaining} bytes missing at offset {offset}).");
            }
            else if (errno == NetworkNative.EAGAIN)
            {
                _metrics.SendFileWaited();
                _waitedForWritable = true;
                await _writableWaiter.WaitAsync(_socketHandle, _key, cancellationToken).ConfigureAwait(false);
            }
            else if (errno != NetworkNative.EINTR)
            {
                throw new IOException($"sendfile failed: {NetworkNative.Describe(errno)}");
            }
        }
    }

    private long SendFileOnce(SafeFileHandle file, ref long offset, long remaining, out int errno)
    {
        bool socketAdded = false;
        bool fileAdded = false;
        try
        {
            _socketHandle.DangerousAddRef(ref socketAdded);
            file.DangerousAddRef(ref fileAdded);
            nint sent = NetworkNative.sendfile(
                (int)_socketHandle.DangerousGetHandle(),
                (int)file.DangerousGetHandle(),
                ref offset,
                (nuint)Math.Min(remaining, NetworkNative.MaxSendFileCount));
            errno = sent < 0 ? Marshal.GetLastPInvokeError() : 0;
            return sent;
        }
        finally
        {
            if (fileAdded)
            {
                file.DangerousRelease();
            }

            if (socketAdded)
            {
                _socketHandle.DangerousRelease();
            }
        }
    }

    /// <summary>Zero-copy off: read the region into the send buffer piece by piece and send it.</summary>
    private async ValueTask CopyFileAsync(FileRegion region, CancellationToken cancellationToken)
    {
        long offset = region.Offset;
        int remaining = region.Length;
        while (remaining > 0)
        {
            byte[] buffer = _buffer!;
            if (_buffered == buffer.Length)
            {
                await FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            int read = RandomAccess.Read(region.File, buffer.AsSpan(_buffered, Math.Min(remaining, buffer.Length - _buffered)), offset);
            if (read == 0)
            {
                throw new IOException($"File region ends past the end of its file ({remaining} bytes missing at offset {offset}).");
            }

            _buffered += read;
            offset += read;
            remaining -= read;
        }
    }
}
