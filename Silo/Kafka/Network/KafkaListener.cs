using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace OrleansMQ.Silo.Kafka.Network;

/// <summary>
/// The Kafka protocol's TCP front door: accepts connections, splits each byte stream into
/// request frames, hands them to an <see cref="IKafkaRequestProcessor"/> and sends the responses
/// back in request order (file regions with sendfile(2)). It knows frames, not APIs.
/// </summary>
/// <remarks>
/// Lifecycle: <see cref="StartAsync"/> binds and starts accepting (so <see cref="Port"/> is known
/// when it returns); <see cref="StopAsync"/> stops accepting, lets every connection answer the
/// requests it has already read, closes them, and after
/// <see cref="KafkaListenerOptions.ShutdownTimeout"/> (or when its token fires) aborts the rest.
/// Not restartable: one start, one stop.
/// </remarks>
public sealed class KafkaListener : IAsyncDisposable
{
    /// <summary>After an abort, how long to wait for processors to honour their cancellation.</summary>
    private static readonly TimeSpan AbortGrace = TimeSpan.FromSeconds(5);

    private readonly KafkaListenerOptions _options;
    private readonly IKafkaRequestProcessor _processor;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<long, KafkaConnection> _connections = new();
    private readonly SocketWritableWaiter _writableWaiter = new();
    private readonly CancellationTokenSource _acceptCancellation = new();
    private readonly Lock _gate = new();
    private Socket? _listenSocket;
    private Task _acceptLoop = Task.CompletedTask;
    private Task? _stopping;
    private long _nextConnectionId;
    private volatile bool _stopRequested;

    public KafkaListener(KafkaListenerOptions options, IKafkaRequestProcessor processor, ILogger<KafkaListener>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(processor);
        options.Validate();
        _options = options;
        _processor = processor;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    public KafkaListenerOptions Options => _options;

    public KafkaListenerMetrics Metrics { get; } = new();

    /// <summary>The bound address and port; null before <see cref="StartAsync"/>.</summary>
    public IPEndPoint? LocalEndPoint { get; private set; }

    /// <summary>The bound port (the chosen one when <see cref="KafkaListenerOptions.Port"/> is 0).</summary>
    public int Port => LocalEndPoint?.Port ?? throw new InvalidOperationException("The listener has not started.");

    /// <summary>Binds, listens and starts accepting. Throws <see cref="SocketException"/> if the address is taken.</summary>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (_listenSocket is not null || _stopping is not null)
            {
                throw new InvalidOperationException("The listener can be started once.");
            }

            IPAddress address = _options.GetBindAddress();
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                if (address.Equals(IPAddress.IPv6Any))
                {
                    socket.DualMode = true;
                }

                socket.Bind(new IPEndPoint(address, _options.Port));
                socket.Listen(_options.ListenBacklog);
            }
            catch
            {
                socket.Dispose();
                throw;
            }

            _listenSocket = socket;
            LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
            _acceptLoop = Task.Run(AcceptLoopAsync, CancellationToken.None);
        }

        NetworkLog.Started(_logger, LocalEndPoint, _options);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Graceful stop (idempotent). Completes when every connection is closed, or when the drain
    /// bound passed and aborted connections had <c>5 s</c> to let go.
    /// </summary>
    /// <param name="cancellationToken">Ends the drain early: remaining connections are aborted.</param>
    public Task StopAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            _stopping ??= StopCoreAsync(cancellationToken);
            return _stopping;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _acceptCancellation.Dispose();
    }

    private async Task StopCoreAsync(CancellationToken cancellationToken)
    {
        _stopRequested = true;
        if (_listenSocket is null)
        {
            _writableWaiter.Dispose();
            return;
        }

        await _acceptCancellation.CancelAsync().ConfigureAwait(false);
        _listenSocket.Dispose();
        await _acceptLoop.ConfigureAwait(false); // never faults

        // The accept loop has ended, so no connection joins after this snapshot.
        KafkaConnection[] open = [.. _connections.Values];
        NetworkLog.Stopping(_logger, LocalEndPoint, open.Length);
        foreach (KafkaConnection connection in open)
        {
            connection.BeginDrain();
        }

        Task closed = Task.WhenAll(open.Select(c => c.Completion));
        if (!await WaitAsync(closed, _options.ShutdownTimeout, cancellationToken).ConfigureAwait(false))
        {
            NetworkLog.DrainTimedOut(_logger, open.Count(c => !c.Completion.IsCompleted), _options.ShutdownTimeout);
            foreach (KafkaConnection connection in open)
            {
                connection.Abort();
            }

            if (!await WaitAsync(closed, AbortGrace, CancellationToken.None).ConfigureAwait(false))
            {
                NetworkLog.AbortTimedOut(_logger, open.Count(c => !c.Completion.IsCompleted));
            }
        }

        _writableWaiter.Dispose();
        NetworkLog.Stopped(_logger, Metrics);
    }

    private static async Task<bool> WaitAsync(Task task, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            await task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private async Task AcceptLoopAsync()
    {
        Socket listenSocket = _listenSocket!;
        CancellationToken stop = _acceptCancellation.Token;
        while (!_stopRequested)
        {
            Socket client;
            try
            {
                client = await listenSocket.AcceptAsync(stop).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException || _stopRequested)
            {
                break;
            }
            catch (SocketException ex)
            {
                // E.g. out of file descriptors: back off instead of spinning on the error.
                NetworkLog.AcceptFailed(_logger, ex);
                try
                {
                    await Task.Delay(100, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                continue;
            }

            if (_stopRequested)
            {
                client.Dispose();
                break;
            }

            Accept(client);
        }
    }

    private void Accept(Socket client)
    {
        long open = Metrics.ConnectionsOpen;
        if (open >= _options.MaxConnections)
        {
            Metrics.ConnectionRejected();
            NetworkLog.ConnectionRejected(_logger, TryGetRemote(client), open, _options.MaxConnections);
            client.Dispose();
            return;
        }

        KafkaConnection connection;
        try
        {
            client.NoDelay = true; // Kafka sets TCP_NODELAY: responses are whole messages already
            long id = Interlocked.Increment(ref _nextConnectionId);
            connection = new KafkaConnection(id, client, _options, _processor, Metrics, _writableWaiter, _logger);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            client.Dispose(); // the peer left between accept and setup
            return;
        }

        Metrics.ConnectionOpened();
        _connections[connection.Id] = connection;
        _ = Task.Run(() => RunConnectionAsync(connection), CancellationToken.None);
    }

    private async Task RunConnectionAsync(KafkaConnection connection)
    {
        try
        {
            await connection.RunAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            NetworkLog.ConnectionFailed(_logger, ex, connection.Id, connection.Remote);
        }
        finally
        {
            _connections.TryRemove(connection.Id, out _);
            Metrics.ConnectionClosed();
            connection.Dispose();
        }
    }

    private static EndPoint? TryGetRemote(Socket socket)
    {
        try
        {
            return socket.RemoteEndPoint;
        }
        catch (SocketException)
        {
            return null;
        }
    }
}
