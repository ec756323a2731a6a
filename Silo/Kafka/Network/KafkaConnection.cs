using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace OrleansMQ.Silo.Kafka.Network;

/// <summary>
/// One client connection: a reader task that splits the socket's bytes into frames and starts
/// each on the <see cref="IKafkaRequestProcessor"/>, and a sender task that writes the responses.
/// </summary>
/// <remarks>
/// <para>Ordering: Kafka answers strictly in request order per connection. Processing may overlap
/// (the reader starts request n+1 while n is still running), but the reader queues every request
/// in arrival order and the single sender awaits them in that order, so a slow request holds back
/// the responses behind it, never reorders them.</para>
/// <para>Back-pressure: a request is in flight from the moment its frame is read until its response
/// is written. The reader takes a slot before starting a request; with
/// <see cref="KafkaListenerOptions.MaxInFlightRequestsPerConnection"/> in flight it waits and does not
/// read the socket, so the kernel buffers fill and TCP flow control stops the client.</para>
/// <para>Shutdown: <see cref="BeginDrain"/> stops reading; queued requests are answered, then the
/// socket closes. <see cref="Abort"/> cancels processors, stops sends and shuts the socket down at once.</para>
/// </remarks>
internal sealed class KafkaConnection : IDisposable
{
    private readonly Socket _socket;
    private readonly IKafkaRequestProcessor _processor;
    private readonly KafkaListenerMetrics _metrics;
    private readonly ILogger _logger;
    private readonly ConnectionContext _context;
    private readonly int _maxFrameBytes;
    private readonly int _maxInFlight;
    private readonly PipeReader _input;
    private readonly ResponseSender _sender;
    private readonly Channel<PendingRequest> _pending;
    private readonly SemaphoreSlim _inFlight;
    private readonly ConcurrentQueue<KafkaResponse> _spareResponses = new();
    private readonly CancellationTokenSource _stopReading = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _aborted;

    public KafkaConnection(
        long id,
        Socket socket,
        KafkaListenerOptions options,
        IKafkaRequestProcessor processor,
        KafkaListenerMetrics metrics,
        SocketWritableWaiter writableWaiter,
        ILogger logger)
    {
        _socket = socket;
        _processor = processor;
        _metrics = metrics;
        _logger = logger;
        _maxFrameBytes = options.MaxFrameBytes;
        _maxInFlight = options.MaxInFlightRequestsPerConnection;
        EndPoint? remote;
        try
        {
            remote = socket.RemoteEndPoint;
        }
        catch (SocketException)
        {
            remote = null; // the peer is already gone; the first read will say so
        }

        _context = new ConnectionContext(id, remote);

        // Zero-byte reads: an idle connection holds no receive buffer until bytes arrive.
        _input = PipeReader.Create(
            new NetworkStream(socket, ownsSocket: false),
            new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 4096, leaveOpen: false, useZeroByteReads: true));
        _sender = new ResponseSender(socket, id, options.ZeroCopy, metrics, writableWaiter);
        _pending = Channel.CreateUnbounded<PendingRequest>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        _inFlight = new SemaphoreSlim(_maxInFlight, _maxInFlight);
    }

    public long Id => _context.Id;

    public EndPoint? Remote => _context.Remote;

    /// <summary>Completes once the connection is closed and disposed.</summary>
    public Task Completion => _completion.Task;

    private bool IsAborted => Volatile.Read(ref _aborted) != 0;

    /// <summary>Runs the connection until the peer leaves, an error, a drain or an abort; never throws.</summary>
    public async Task RunAsync()
    {
        NetworkLog.ConnectionOpened(_logger, Id, Remote);
        try
        {
            Task reading = ReadLoopAsync();
            Task sending = SendLoopAsync();
            await reading.ConfigureAwait(false);
            await sending.ConfigureAwait(false);
        }
        finally
        {
            Close();
            NetworkLog.ConnectionClosed(_logger, Id, Remote);
        }
    }

    /// <summary>Graceful stop: read no more requests, answer those already read, then close.</summary>
    public void BeginDrain()
    {
        try
        {
            _stopReading.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already closed.
        }
    }

    /// <summary>Close now: processors see cancellation, pending responses are dropped.</summary>
    public void Abort()
    {
        if (Interlocked.Exchange(ref _aborted, 1) != 0)
        {
            return;
        }

        try
        {
            _stopReading.Cancel();
            _abort.Cancel();
        }
        catch (ObjectDisposedException)
        {
            return; // already closed
        }

        try
        {
            // Unblocks a pending receive or send and tells the peer at once, even while a stuck
            // processor keeps the sender (and so the descriptor) alive.
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Called once <see cref="RunAsync"/> has returned; completes <see cref="Completion"/>.</summary>
    public void Dispose()
    {
        _stopReading.Dispose();
        _abort.Dispose();
        _inFlight.Dispose();
        _completion.TrySetResult();
    }

    private async Task ReadLoopAsync()
    {
        CancellationToken stop = _stopReading.Token;
        int needed = KafkaFrameReader.SizePrefixLength;
        try
        {
            while (true)
            {
                // Wait for a whole frame when its size is known, so a large request is not
                // re-parsed on every socket read.
                ReadResult result = await _input.ReadAtLeastAsync(needed, stop).ConfigureAwait(false);
                ReadOnlySequence<byte> buffer = result.Buffer;
                bool done = false;
                try
                {
                    while (true)
                    {
                        FrameStatus status = KafkaFrameReader.TryReadFrame(ref buffer, _maxFrameBytes, out ReadOnlySequence<byte> frame, out int size);
                        if (status == FrameStatus.Incomplete)
                        {
                            needed = size < 0 ? KafkaFrameReader.SizePrefixLength : KafkaFrameReader.SizePrefixLength + size;
                            break;
                        }

                        if (status == FrameStatus.InvalidSize)
                        {
                            NetworkLog.InvalidFrameSize(_logger, Id, Remote, size, _maxFrameBytes);
                            _metrics.FrameError();
                            Abort();
                            done = true;
                            break;
                        }

                        needed = KafkaFrameReader.SizePrefixLength;
                        if (!_inFlight.Wait(0))
                        {
                            _metrics.BackPressureWaited();
                            await _inFlight.WaitAsync(stop).ConfigureAwait(false);
                        }

                        if (stop.IsCancellationRequested)
                        {
                            _inFlight.Release();
                            done = true;
                            break;
                        }

                        Dispatch(frame);
                    }

                    if (!done && result.IsCompleted)
                    {
                        if (!buffer.IsEmpty)
                        {
                            NetworkLog.PeerClosedMidFrame(_logger, Id, Remote, buffer.Length);
                        }

                        done = true;
                    }
                }
                finally
                {
                    // Consumed: whole frames; examined: everything, so the next read waits for more.
                    _input.AdvanceTo(buffer.Start, buffer.End);
                }

                if (done)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Drain or abort.
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            if (!IsAborted)
            {
                NetworkLog.TransportFailed(_logger, ex, Id, Remote, "receive");
                Abort();
            }
        }
        catch (Exception ex)
        {
            NetworkLog.ConnectionFailed(_logger, ex, Id, Remote);
            Abort();
        }
        finally
        {
            _pending.Writer.TryComplete();
        }
    }

    /// <summary>Copies the frame into a pooled buffer (the pipe moves on) and starts processing it.</summary>
    private void Dispatch(in ReadOnlySequence<byte> frame)
    {
        long start = Stopwatch.GetTimestamp();
        int size = (int)frame.Length;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(size);
        frame.CopyTo(buffer);
        if (!_spareResponses.TryDequeue(out KafkaResponse? response))
        {
            response = new KafkaResponse();
        }

        ValueTask processing;
        try
        {
            processing = _processor.ProcessAsync(_context, buffer.AsMemory(0, size), response, _abort.Token);
        }
        catch (Exception ex)
        {
            processing = ValueTask.FromException(ex);
        }

        short apiKey = size >= 2 ? BinaryPrimitives.ReadInt16BigEndian(buffer) : (short)-1;
        _metrics.RequestRead(size, apiKey);
        _pending.Writer.TryWrite(new PendingRequest(buffer, response, processing, apiKey, start));
    }

    private async Task SendLoopAsync()
    {
        ChannelReader<PendingRequest> queue = _pending.Reader;
        CancellationToken abort = _abort.Token;

        // Every queued request is awaited and released even after an abort: the processor may
        // still be reading its frame, so the pooled buffer goes back only once it is done.
        while (await queue.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
        {
            while (queue.TryRead(out PendingRequest request))
            {
                try
                {
                    await SendOneAsync(request, queue, abort).ConfigureAwait(false);
                }
                finally
                {
                    Recycle(request);
                    _inFlight.Release();
                }
            }
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendOneAsync(PendingRequest request, ChannelReader<PendingRequest> queue, CancellationToken abort)
    {
        try
        {
            await request.Processing.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            if (!IsAborted)
            {
                NetworkLog.ProcessorFailed(_logger, ex, Id, Remote);
                await FlushQuietlyAsync(abort).ConfigureAwait(false); // earlier responses still go out
                Abort();
            }

            return;
        }

        if (IsAborted)
        {
            return;
        }

        try
        {
            if (!request.Response.Suppressed)
            {
                await _sender.WriteAsync(request.Response, abort).ConfigureAwait(false);
                _metrics.ResponseSent();
                _metrics.RequestCompleted(request.ApiKey, request.Response.Length + KafkaFrameReader.SizePrefixLength, request.Start);
            }
            else
            {
                _metrics.RequestCompleted(request.ApiKey, 0, request.Start);
            }

            // Batch: while the next response is already done, keep gathering it into the send buffer.
            if (!(queue.TryPeek(out PendingRequest next) && next.Processing.IsCompletedSuccessfully))
            {
                await _sender.FlushAsync(abort).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            if (!IsAborted)
            {
                NetworkLog.TransportFailed(_logger, ex, Id, Remote, "send");
                Abort();
            }
        }
        catch (Exception ex)
        {
            NetworkLog.ConnectionFailed(_logger, ex, Id, Remote);
            Abort();
        }
    }

    private async ValueTask FlushQuietlyAsync(CancellationToken abort)
    {
        try
        {
            await _sender.FlushAsync(abort).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // Closing anyway.
        }
    }

    private void Recycle(PendingRequest request)
    {
        request.Response.Dispose(); // returns its memory, releases its file regions
        if (_spareResponses.Count < _maxInFlight)
        {
            _spareResponses.Enqueue(request.Response);
        }

        if (request.Frame.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(request.Frame);
        }
    }

    private void Close()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        _sender.Dispose(); // leaves the epoll set before the descriptor closes
        _input.Complete();
        _socket.Dispose();
    }

    private readonly record struct PendingRequest(byte[] Frame, KafkaResponse Response, ValueTask Processing, short ApiKey, long Start);
}
