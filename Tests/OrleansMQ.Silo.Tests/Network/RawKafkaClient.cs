using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Xunit;

namespace OrleansMQ.Silo.Tests.Network;

/// <summary>
/// A raw TCP peer for the listener: writes whatever bytes a test wants (whole frames, single
/// bytes, garbage) and reads size-prefixed response frames back.
/// </summary>
internal sealed class RawKafkaClient : IDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private RawKafkaClient(Socket socket) => Socket = socket;

    public Socket Socket { get; }

    public static async Task<RawKafkaClient> ConnectAsync(int port, int? receiveBufferSize = null, IPAddress? address = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (receiveBufferSize is { } size)
        {
            socket.ReceiveBufferSize = size;
        }

        try
        {
            await socket.ConnectAsync(address ?? IPAddress.Loopback, port);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new RawKafkaClient(socket);
    }

    /// <summary>The 4-byte big-endian size followed by the body.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> body)
    {
        var frame = new byte[4 + body.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame, body.Length);
        body.CopyTo(frame.AsSpan(4));
        return frame;
    }

    public static byte[] Frame(byte[] body) => Frame(body.AsSpan());

    public Task SendFrameAsync(ReadOnlySpan<byte> body) => SendAsync(Frame(body));

    public async Task SendAsync(ReadOnlyMemory<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            int sent = await Socket.SendAsync(bytes, SocketFlags.None);
            bytes = bytes[sent..];
        }
    }

    /// <summary>The next response body, or null when the server closed the connection at a frame boundary.</summary>
    public async Task<byte[]?> ReadFrameAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        var prefix = new byte[4];
        if (!await ReadExactlyAsync(prefix, cts.Token))
        {
            return null;
        }

        int size = BinaryPrimitives.ReadInt32BigEndian(prefix);
        Assert.InRange(size, 0, 1 << 30);
        var body = new byte[size];
        Assert.True(await ReadExactlyAsync(body, cts.Token), $"connection closed inside a {size}-byte response");
        return body;
    }

    public async Task<byte[]> ReadFrameOrThrowAsync(TimeSpan? timeout = null) =>
        await ReadFrameAsync(timeout) ?? throw new Xunit.Sdk.XunitException("the server closed the connection instead of answering");

    /// <summary>False if the peer closed before the buffer was full.</summary>
    public async Task<bool> ReadExactlyAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (!buffer.IsEmpty)
        {
            int read = await Socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            if (read == 0)
            {
                return false;
            }

            buffer = buffer[read..];
        }

        return true;
    }

    /// <summary>
    /// True once the server has closed the connection (EOF or reset), discarding anything it
    /// still sends; false if it is still open after <paramref name="timeout"/>.
    /// </summary>
    public async Task<bool> WaitForCloseAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var scratch = new byte[64 * 1024];
        try
        {
            while (await Socket.ReceiveAsync(scratch, SocketFlags.None, cts.Token) > 0)
            {
            }

            return true;
        }
        catch (SocketException)
        {
            return true; // reset
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public void Dispose() => Socket.Dispose();
}
