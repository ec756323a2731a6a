using System.Buffers.Binary;
using System.Net.Sockets;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Broker.Benchmarks;

/// <summary>
/// Reads size-prefixed response frames from a blocking socket into one reused buffer. A frame is
/// valid until the next <see cref="TryReadFrame"/>.
/// </summary>
internal sealed class FrameReceiver
{
    private readonly Socket _socket;
    private byte[] _rx = new byte[64 * 1024];
    private int _rxStart;
    private int _rxEnd;
    private int _consumed;

    public FrameReceiver(Socket socket) => _socket = socket;

    /// <summary>The next response frame (without its size prefix); false when the receive timeout passed first.</summary>
    public bool TryReadFrame(out ReadOnlyMemory<byte> frame)
    {
        frame = default;
        _rxStart += _consumed;
        _consumed = 0;
        if (!TryFill(4))
        {
            return false;
        }

        int size = BinaryPrimitives.ReadInt32BigEndian(_rx.AsSpan(_rxStart));
        if (size is < 0 or > 16 << 20)
        {
            throw new InvalidDataException($"response size {size}");
        }

        // Once the size is read the rest of the frame is waited for, timeout or not.
        while (!TryFill(4 + size))
        {
        }

        frame = new ReadOnlyMemory<byte>(_rx, _rxStart + 4, size);
        _consumed = 4 + size;
        return true;
    }

    /// <summary>Ensures <paramref name="count"/> unread bytes are buffered; false on a receive timeout.</summary>
    private bool TryFill(int count)
    {
        if (_rxEnd - _rxStart >= count)
        {
            return true;
        }

        if (_rx.Length - _rxStart < count)
        {
            // Compact, and grow if one frame does not fit.
            var target = count > _rx.Length ? new byte[Math.Max(count, _rx.Length * 2)] : _rx;
            Buffer.BlockCopy(_rx, _rxStart, target, 0, _rxEnd - _rxStart);
            _rxEnd -= _rxStart;
            _rxStart = 0;
            _rx = target;
        }

        while (_rxEnd - _rxStart < count)
        {
            int n;
            try
            {
                n = _socket.Receive(_rx, _rxEnd, _rx.Length - _rxEnd, SocketFlags.None);
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
            {
                return false;
            }

            if (n == 0)
            {
                throw new IOException("the broker closed the connection");
            }

            _rxEnd += n;
        }

        return true;
    }
}

/// <summary>A connection the closed-loop runner (<see cref="PeakRun"/>) can drive: pre-encoded requests out, decoded answers in.</summary>
internal interface IPipelinedConnection : IDisposable
{
    void Send(int correlationId);

    void SetReceiveTimeout(int milliseconds);

    /// <summary>
    /// Reads the next response: <paramref name="units"/> acknowledged (messages, committed offsets),
    /// <paramref name="failedUnits"/> refused with <paramref name="error"/>; false on a receive timeout.
    /// </summary>
    bool TryReceive(out int units, out int failedUnits, out ErrorCode error);
}
