using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Broker.Benchmarks;

/// <summary>
/// One TCP connection to the broker with blocking I/O: the sender writes a pre-encoded Produce
/// frame (only the correlation id changes, so sending allocates nothing), the receiver reads
/// size-prefixed responses into one buffer and decodes them with the silo's codec.
/// </summary>
internal sealed class ProduceConnection : IPipelinedConnection
{
    // size INT32 | api_key INT16 | api_version INT16 | correlation_id INT32 | ...
    private const int CorrelationIdOffset = 8;

    private readonly Socket _socket;
    private readonly byte[] _frame;
    private readonly short _version;
    private readonly FrameReceiver _receiver;

    private ProduceConnection(Socket socket, byte[] frame, short version, int recordsPerRequest)
    {
        _socket = socket;
        _frame = frame;
        _version = version;
        _receiver = new FrameReceiver(socket);
        RecordsPerRequest = recordsPerRequest;
    }

    public static ProduceConnection Connect(IPEndPoint endPoint, ProduceRequest request, short version, int recordsPerRequest = 1)
    {
        var socket = Open(endPoint);
        return new ProduceConnection(socket, EncodeFrame(request, version, 0), version, recordsPerRequest);
    }

    /// <summary>Messages acknowledged by one successful response.</summary>
    public int RecordsPerRequest { get; }

    public static Socket Open(IPEndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.Connect(endPoint);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>A whole request frame: 4-byte size, request header, body.</summary>
    public static byte[] EncodeFrame<TRequest>(TRequest request, short version, int correlationId, string clientId = "omq-broker-bench")
        where TRequest : IKafkaMessage<TRequest>
    {
        var buffer = new ArrayBufferWriter<byte>();
        buffer.Write(stackalloc byte[4]);
        var writer = new KafkaWriter(buffer);
        new RequestHeader(TRequest.ApiKey, version, correlationId, clientId).Write(ref writer);
        request.Write(ref writer, version);
        var frame = buffer.WrittenSpan.ToArray();
        BinaryPrimitives.WriteInt32BigEndian(frame, frame.Length - 4);
        return frame;
    }

    /// <summary>One request/response exchange on a plain socket (setup calls such as CreateTopics).</summary>
    public static TResponse Exchange<TRequest, TResponse>(IPEndPoint endPoint, TRequest request, short version)
        where TRequest : IKafkaMessage<TRequest>
        where TResponse : IKafkaMessage<TResponse>
    {
        using var socket = Open(endPoint);
        SendAll(socket, EncodeFrame(request, version, 1));
        var prefix = new byte[4];
        ReceiveExactly(socket, prefix);
        int size = BinaryPrimitives.ReadInt32BigEndian(prefix);
        if (size is < 0 or > 64 << 20)
        {
            throw new InvalidDataException($"response size {size}");
        }

        var body = new byte[size];
        ReceiveExactly(socket, body);
        var reader = new KafkaReader(body);
        _ = ResponseHeader.Read(ref reader, TRequest.ApiKey, version);
        return TResponse.Read(ref reader, version);
    }

    /// <summary>Bytes of one request on the wire, size prefix included.</summary>
    public int FrameBytes => _frame.Length;

    public void Send(int correlationId)
    {
        BinaryPrimitives.WriteInt32BigEndian(_frame.AsSpan(CorrelationIdOffset), correlationId);
        SendAll(_socket, _frame);
    }

    /// <summary>Sets how long <see cref="TryReceive"/> blocks before giving up (so a receiver can re-check whether it is done).</summary>
    public void SetReceiveTimeout(int milliseconds) => _socket.ReceiveTimeout = milliseconds;

    /// <summary>Reads the next Produce response; false when the receive timeout passed first.</summary>
    public bool TryReceive(out int correlationId, out ErrorCode error)
    {
        correlationId = 0;
        error = ErrorCode.None;
        if (!_receiver.TryReadFrame(out var frame))
        {
            return false;
        }

        var reader = new KafkaReader(frame);
        correlationId = ResponseHeader.Read(ref reader, ApiKey.Produce, _version);
        var response = ProduceResponse.Read(ref reader, _version);
        foreach (var topic in response.Topics)
        {
            foreach (var partition in topic.Partitions)
            {
                if (partition.ErrorCode != ErrorCode.None)
                {
                    error = partition.ErrorCode;
                }
            }
        }

        return true;
    }

    /// <summary><see cref="IPipelinedConnection"/>: one acknowledged Produce carries <see cref="RecordsPerRequest"/> messages.</summary>
    public bool TryReceive(out int units, out int failedUnits, out ErrorCode error)
    {
        units = 0;
        failedUnits = 0;
        if (!TryReceive(out _, out error))
        {
            return false;
        }

        if (error == ErrorCode.None)
        {
            units = RecordsPerRequest;
        }
        else
        {
            failedUnits = RecordsPerRequest;
        }

        return true;
    }

    public static void SendAll(Socket socket, ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            bytes = bytes[socket.Send(bytes)..];
        }
    }

    public static void ReceiveExactly(Socket socket, Span<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            int n = socket.Receive(buffer);
            if (n == 0)
            {
                throw new IOException("the broker closed the connection");
            }

            buffer = buffer[n..];
        }
    }

    public void Dispose() => _socket.Dispose();
}
