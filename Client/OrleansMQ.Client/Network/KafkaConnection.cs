using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net.Sockets;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Client.Network;

/// <summary>
/// One TCP connection to one broker: length-prefixed frames, correlation ids, many requests in
/// flight (answers are matched by correlation id), and the API versions this broker speaks
/// (negotiated with ApiVersions when the connection opens; every request is then sent in the
/// highest version both sides support). A broken connection fails every waiting request with
/// <see cref="KafkaConnectionException"/> and is not reused; a request that times out closes the
/// connection too, as Kafka clients do (its answer may still come and would be out of step).
/// </summary>
public sealed class KafkaConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly ClientOptions _options;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConcurrentDictionary<int, Pending> _pending = new();
    private readonly CancellationTokenSource _closed = new();
    private readonly Dictionary<ApiKey, (short Min, short Max)> _brokerVersions = [];
    private Task _reader = Task.CompletedTask;
    private int _correlationId;
    private int _disposed;
    private Exception? _failure;

    private KafkaConnection(Socket socket, BrokerAddress address, int nodeId, ClientOptions options)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        Address = address;
        NodeId = nodeId;
        _options = options;
    }

    public BrokerAddress Address { get; }

    /// <summary>The broker's node id, or -1 for a bootstrap connection.</summary>
    public int NodeId { get; }

    /// <summary>False once the connection failed or was closed.</summary>
    public bool IsAlive => _failure is null && Volatile.Read(ref _disposed) == 0;

    /// <summary>Requests sent and not answered yet.</summary>
    public int InFlight => _pending.Count;

    /// <summary>Connects and negotiates API versions.</summary>
    public static async Task<KafkaConnection> ConnectAsync(BrokerAddress address, int nodeId, ClientOptions options, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            timeout.CancelAfter(options.ConnectTimeout);
            try
            {
                await socket.ConnectAsync(address.Host, address.Port, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                socket.Dispose();
                throw new KafkaConnectionException($"Cannot connect to broker {address}: {ex.Message}", ex);
            }
        }

        var connection = new KafkaConnection(socket, address, nodeId, options);
        connection._reader = Task.Run(connection.ReadLoopAsync, CancellationToken.None);
        try
        {
            await connection.NegotiateVersionsAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return connection;
    }

    /// <summary>The version this connection uses for <paramref name="apiKey"/>: the highest both sides support, or null when none.</summary>
    /// <remarks>"Ours" is every version our codec writes, answered by our broker or not yet (a client speaks to other brokers too).</remarks>
    public short? VersionFor(ApiKey apiKey)
    {
        if (!ApiVersionsTable.TryGetDescribed(apiKey, out var ours) || !_brokerVersions.TryGetValue(apiKey, out var theirs))
        {
            return null;
        }

        short max = Math.Min(ours.MaxVersion, theirs.Max);
        short min = Math.Max(ours.MinVersion, theirs.Min);
        return max >= min ? max : null;
    }

    /// <summary>Sends <paramref name="request"/> in the negotiated version and returns the decoded answer.</summary>
    public Task<TResponse> SendAsync<TRequest, TResponse>(TRequest request, CancellationToken cancellationToken = default)
        where TRequest : IKafkaMessage<TRequest>
        where TResponse : IKafkaMessage<TResponse>
    {
        short version = VersionFor(TRequest.ApiKey)
            ?? throw new KafkaException(ErrorCode.UnsupportedVersion, $"Broker {Address} and this client share no version of {TRequest.ApiKey}.");
        return SendAsync<TRequest, TResponse>(request, version, cancellationToken);
    }

    /// <summary>
    /// Sends <paramref name="request"/> in the negotiated version and waits up to <paramref name="timeout"/>
    /// for the answer instead of <see cref="ClientOptions.RequestTimeout"/> (JoinGroup may wait a whole rebalance).
    /// </summary>
    public Task<TResponse> SendAsync<TRequest, TResponse>(TRequest request, TimeSpan timeout, CancellationToken cancellationToken = default)
        where TRequest : IKafkaMessage<TRequest>
        where TResponse : IKafkaMessage<TResponse>
    {
        short version = VersionFor(TRequest.ApiKey)
            ?? throw new KafkaException(ErrorCode.UnsupportedVersion, $"Broker {Address} and this client share no version of {TRequest.ApiKey}.");
        return SendAsync<TRequest, TResponse>(request, version, timeout, cancellationToken);
    }

    /// <summary>Sends <paramref name="request"/> in <paramref name="version"/> and returns the decoded answer.</summary>
    public Task<TResponse> SendAsync<TRequest, TResponse>(TRequest request, short version, CancellationToken cancellationToken = default)
        where TRequest : IKafkaMessage<TRequest>
        where TResponse : IKafkaMessage<TResponse>
        => SendAsync<TRequest, TResponse>(request, version, _options.RequestTimeout, cancellationToken);

    private async Task<TResponse> SendAsync<TRequest, TResponse>(TRequest request, short version, TimeSpan requestTimeout, CancellationToken cancellationToken)
        where TRequest : IKafkaMessage<TRequest>
        where TResponse : IKafkaMessage<TResponse>
    {
        var pending = new Pending(TRequest.ApiKey, version);
        int correlationId = await WriteAsync(request, version, pending, cancellationToken).ConfigureAwait(false);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(requestTimeout);
        ReadOnlyMemory<byte> body;
        try
        {
            body = await pending.Source.Task.WaitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            _pending.TryRemove(correlationId, out _);
            Fail(new KafkaTimeoutException($"{TRequest.ApiKey} to broker {Address} got no answer in {requestTimeout.TotalMilliseconds:F0} ms."));
            throw new KafkaTimeoutException($"{TRequest.ApiKey} to broker {Address} got no answer in {requestTimeout.TotalMilliseconds:F0} ms.");
        }
        catch (OperationCanceledException)
        {
            // The caller gave up; the answer (if any) is dropped when it arrives.
            _pending.TryRemove(correlationId, out _);
            throw;
        }

        var reader = new KafkaReader(body);
        try
        {
            return TResponse.Read(ref reader, version);
        }
        catch (KafkaProtocolException ex)
        {
            Fail(ex);
            throw new KafkaException(ErrorCode.CorruptMessage, $"Unreadable {TRequest.ApiKey} v{version} answer from broker {Address}: {ex.Message}", ex);
        }
    }

    /// <summary>Sends a request that has no answer (Produce with acks=0). Completes when written.</summary>
    public async Task SendWithoutResponseAsync<TRequest>(TRequest request, CancellationToken cancellationToken = default)
        where TRequest : IKafkaMessage<TRequest>
    {
        short version = VersionFor(TRequest.ApiKey)
            ?? throw new KafkaException(ErrorCode.UnsupportedVersion, $"Broker {Address} and this client share no version of {TRequest.ApiKey}.");
        await WriteAsync(request, version, null, cancellationToken).ConfigureAwait(false);
    }

    private async Task<int> WriteAsync<TRequest>(TRequest request, short version, Pending? pending, CancellationToken cancellationToken)
        where TRequest : IKafkaMessage<TRequest>
    {
        ThrowIfBroken();
        // Pooled: a produce request carries whole record batches, so a fresh buffer per request
        // would allocate (and copy through growth) about twice its size every time.
        using var buffer = new PooledBufferWriter(256);
        buffer.Advance(4); // length prefix, filled in below
        int correlationId = Interlocked.Increment(ref _correlationId);
        var writer = new KafkaWriter(buffer);
        new RequestHeader(TRequest.ApiKey, version, correlationId, _options.ClientId).Write(ref writer);
        request.Write(ref writer, version);
        var frame = buffer.WrittenMemory;
        BinaryPrimitives.WriteInt32BigEndian(MemoryMarshalHelper.AsSpan(frame), frame.Length - 4);
        if (pending is not null)
        {
            _pending[correlationId] = pending;
        }

        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfBroken();
            await _stream.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            _pending.TryRemove(correlationId, out _);
            var failure = new KafkaConnectionException($"Writing to broker {Address} failed: {ex.Message}", ex);
            Fail(failure);
            throw failure;
        }
        finally
        {
            _writeLock.Release();
        }

        return correlationId;
    }

    private async Task ReadLoopAsync()
    {
        byte[] lengthBytes = new byte[4];
        try
        {
            while (!_closed.IsCancellationRequested)
            {
                await _stream.ReadExactlyAsync(lengthBytes, _closed.Token).ConfigureAwait(false);
                int length = BinaryPrimitives.ReadInt32BigEndian(lengthBytes);
                if (length < 4 || length > _options.MaxResponseBytes)
                {
                    throw new KafkaProtocolException($"Broker {Address} sent a frame of {length} bytes (limit {_options.MaxResponseBytes}).");
                }

                // Each answer owns its buffer: decoded messages keep slices of it (record batches).
                byte[] frame = new byte[length];
                await _stream.ReadExactlyAsync(frame, _closed.Token).ConfigureAwait(false);
                int correlationId = BinaryPrimitives.ReadInt32BigEndian(frame);
                if (!_pending.TryRemove(correlationId, out var pending))
                {
                    continue; // the caller gave up on it
                }

                var reader = new KafkaReader(frame);
                try
                {
                    ResponseHeader.Read(ref reader, pending.ApiKey, pending.Version);
                }
                catch (KafkaProtocolException ex)
                {
                    pending.Source.TrySetException(ex);
                    throw;
                }

                pending.Source.TrySetResult(frame.AsMemory(frame.Length - reader.Remaining));
            }
        }
        catch (OperationCanceledException) when (_closed.IsCancellationRequested)
        {
            Fail(new KafkaConnectionException($"Connection to broker {Address} was closed."));
        }
        catch (Exception ex) when (ex is IOException or SocketException or EndOfStreamException or KafkaProtocolException or ObjectDisposedException)
        {
            Fail(new KafkaConnectionException($"Connection to broker {Address} broke: {ex.Message}", ex));
        }
    }

    private async Task NegotiateVersionsAsync(CancellationToken cancellationToken)
    {
        // v3 first (what current clients send); a broker that does not know it answers in v0
        // with UNSUPPORTED_VERSION and its list, which is all we need.
        ApiVersionsResponse response;
        var pending = new Pending(ApiKey.ApiVersions, 3);
        var request = new ApiVersionsRequest { ClientSoftwareName = "orleansmq-dotnet", ClientSoftwareVersion = "1.0" };
        await WriteAsync(request, 3, pending, cancellationToken).ConfigureAwait(false);
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            timeout.CancelAfter(_options.RequestTimeout);
            ReadOnlyMemory<byte> body;
            try
            {
                body = await pending.Source.Task.WaitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new KafkaTimeoutException($"Broker {Address} did not answer ApiVersions in {_options.RequestTimeout.TotalMilliseconds:F0} ms.");
            }

            response = DecodeApiVersions(body);
        }

        if (response.ErrorCode is not (ErrorCode.None or ErrorCode.UnsupportedVersion) || response.ApiKeys.Count == 0)
        {
            throw new KafkaException(response.ErrorCode, $"Broker {Address} refused ApiVersions: {response.ErrorCode}.");
        }

        foreach (var k in response.ApiKeys)
        {
            _brokerVersions[k.ApiKey] = (k.MinVersion, k.MaxVersion);
        }
    }

    private ApiVersionsResponse DecodeApiVersions(ReadOnlyMemory<byte> body)
    {
        try
        {
            var reader = new KafkaReader(body);
            return ApiVersionsResponse.Read(ref reader, 3);
        }
        catch (KafkaProtocolException)
        {
            var reader = new KafkaReader(body);
            try
            {
                return ApiVersionsResponse.Read(ref reader, 0);
            }
            catch (KafkaProtocolException ex)
            {
                throw new KafkaException(ErrorCode.CorruptMessage, $"Unreadable ApiVersions answer from {Address}: {ex.Message}", ex);
            }
        }
    }

    private void ThrowIfBroken()
    {
        if (_failure is { } failure)
        {
            throw failure as KafkaException ?? new KafkaConnectionException($"Connection to broker {Address} is broken: {failure.Message}", failure);
        }

        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
    }

    private void Fail(Exception failure)
    {
        if (Interlocked.CompareExchange(ref _failure, failure, null) is not null)
        {
            return;
        }

        var error = failure as KafkaException ?? new KafkaConnectionException($"Connection to broker {Address} failed: {failure.Message}", failure);
        foreach (var (id, pending) in _pending)
        {
            if (_pending.TryRemove(id, out _))
            {
                pending.Source.TrySetException(error);
            }
        }

        _closed.Cancel();
        _socket.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Fail(new KafkaConnectionException($"Connection to broker {Address} was closed."));
        try
        {
            await _reader.ConfigureAwait(false);
        }
        finally
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
            _closed.Dispose();
            _writeLock.Dispose();
        }
    }

    private sealed class Pending(ApiKey apiKey, short version)
    {
        public ApiKey ApiKey { get; } = apiKey;

        public short Version { get; } = version;

        public TaskCompletionSource<ReadOnlyMemory<byte>> Source { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>An <see cref="IBufferWriter{T}"/> over <see cref="ArrayPool{T}.Shared"/> arrays, returned on dispose.</summary>
    private sealed class PooledBufferWriter(int initialSize) : IBufferWriter<byte>, IDisposable
    {
        private byte[] _buffer = ArrayPool<byte>.Shared.Rent(initialSize);
        private int _written;

        public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

        public void Advance(int count) => _written += count;

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            Ensure(sizeHint);
            return _buffer.AsMemory(_written);
        }

        public Span<byte> GetSpan(int sizeHint = 0)
        {
            Ensure(sizeHint);
            return _buffer.AsSpan(_written);
        }

        private void Ensure(int sizeHint)
        {
            sizeHint = Math.Max(sizeHint, 1);
            if (_buffer.Length - _written >= sizeHint)
            {
                return;
            }

            var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min(Math.Max((long)_buffer.Length * 2, (long)_written + sizeHint), Array.MaxLength));
            _buffer.AsSpan(0, _written).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
        }

        public void Dispose()
        {
            var buffer = _buffer;
            _buffer = [];
            if (buffer.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private static class MemoryMarshalHelper
    {
        public static Span<byte> AsSpan(ReadOnlyMemory<byte> memory) =>
            System.Runtime.InteropServices.MemoryMarshal.AsMemory(memory).Span;
    }
}
