using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using OrleansMQ.Storage.Tiering;
using Xunit;

namespace OrleansMQ.Storage.Tests.Tiering;

/// <summary>
/// Retry policy against a scripted HTTP server: what Azurite cannot be made to do on demand
/// (503, 429, a server that accepts and never answers).
/// </summary>
public sealed class BlobRetryTests
{
    private static BlobStoreOptions Options(int attempts) => new()
    {
        MaxAttempts = attempts,
        InitialRetryDelay = TimeSpan.FromMilliseconds(20),
        MaxRetryDelay = TimeSpan.FromMilliseconds(100),
        AttemptTimeout = TimeSpan.FromMilliseconds(500),
    };

    private static string ConnectionString(ScriptedServer server) =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AzuriteFixture.DevelopmentAccountKey};BlobEndpoint=http://127.0.0.1:{server.Port}/devstoreaccount1";

    private static AzureBlobStore Store(ScriptedServer server, int attempts) =>
        AzureBlobStore.FromConnectionString(ConnectionString(server), "c01", Options(attempts));

    [Fact]
    public async Task Server_busy_is_retried_then_reported_with_the_service_code()
    {
        await using var server = new ScriptedServer(_ => (503, "ServerBusy"));
        using var store = Store(server, 3);

        var ex = await Assert.ThrowsAsync<BlobStoreException>(() => store.ReadRangeAsync("b", 0, new byte[10]));

        Assert.Equal(503, ex.Status);
        Assert.Equal("ServerBusy", ex.ErrorCode);
        Assert.Contains("after 3 attempts", ex.Message, StringComparison.Ordinal);
        Assert.Equal(3, server.Requests);
    }

    [Fact]
    public async Task Throttling_then_success_returns_the_data()
    {
        await using var server = new ScriptedServer(n => n < 2 ? (429, "TooManyRequests") : (206, null));
        using var store = Store(server, 5);

        var buffer = new byte[10];
        Assert.Equal(ScriptedServer.Body.Length, await store.ReadRangeAsync("b", 0, buffer));
        Assert.Equal(3, server.Requests);
    }

    [Fact]
    public async Task Client_errors_are_not_retried()
    {
        await using var server = new ScriptedServer(_ => (400, "InvalidQueryParameterValue"));
        using var store = Store(server, 5);

        var ex = await Assert.ThrowsAsync<BlobStoreException>(() => store.ReadRangeAsync("b", 0, new byte[10]));

        Assert.Equal(400, ex.Status);
        Assert.Equal("InvalidQueryParameterValue", ex.ErrorCode);
        Assert.Equal(1, server.Requests);
    }

    /// <summary>
    /// One answered call first, so the SDK's first-call setup (JIT, pipeline) is not charged to a
    /// 500 ms attempt: on a loaded machine the first attempt timed out before its request reached
    /// the server, which then counted 2 of 3 attempts.
    /// </summary>
    private static async Task WarmUpAsync()
    {
        await using var server = new ScriptedServer(_ => (404, "BlobNotFound"));
        using var store = AzureBlobStore.FromConnectionString(ConnectionString(server), "c01", new BlobStoreOptions { AttemptTimeout = TimeSpan.FromSeconds(30) });
        Assert.Null(await store.GetPropertiesAsync("b"));
    }

    [Fact]
    public async Task A_server_that_never_answers_times_out_per_attempt()
    {
        await WarmUpAsync();
        await using var server = new ScriptedServer(_ => null);
        using var store = Store(server, 3);

        var clock = Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<BlobStoreException>(() => store.GetPropertiesAsync("b"));

        Assert.Equal(BlobStoreException.TimeoutCode, ex.ErrorCode);
        Assert.Contains("after 3 attempts", ex.Message, StringComparison.Ordinal);
        Assert.Equal(3, server.Requests);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Caller_cancellation_is_not_turned_into_a_retry()
    {
        await using var server = new ScriptedServer(_ => null);
        using var store = AzureBlobStore.FromConnectionString(ConnectionString(server), "c01", new BlobStoreOptions { AttemptTimeout = TimeSpan.FromSeconds(30) });
        using var cts = new CancellationTokenSource();

        // Cancelled once the server holds the request (a fixed delay raced the first request's
        // setup on a loaded machine: the call was cancelled before anything was sent).
        var call = store.GetPropertiesAsync("b", cts.Token);
        var clock = Stopwatch.StartNew();
        while (server.Requests == 0 && clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(10);
        }

        Assert.Equal(1, server.Requests);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.Equal(1, server.Requests);
    }

    /// <summary>
    /// A one-request-per-connection HTTP/1.1 server: <c>script(n)</c> gives the status and error code
    /// for the n-th request (0-based), or null to accept it and never answer.
    /// </summary>
    private sealed class ScriptedServer : IAsyncDisposable
    {
        public static readonly byte[] Body = Encoding.ASCII.GetBytes("0123456789");

        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly Func<int, (int Status, string? Code)?> _script;
        private readonly CancellationTokenSource _stop = new();
        private readonly List<TcpClient> _held = [];
        private readonly Task _loop;
        private int _requests;

        public ScriptedServer(Func<int, (int Status, string? Code)?> script)
        {
            _script = script;
            _listener.Start();
            _loop = Task.Run(AcceptLoopAsync);
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public int Requests => Volatile.Read(ref _requests);

        private async Task AcceptLoopAsync()
        {
            try
            {
                while (true)
                {
                    var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    _ = Task.Run(() => ServeAsync(client));
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }

        private async Task ServeAsync(TcpClient client)
        {
            try
            {
                var stream = client.GetStream();
                var head = new StringBuilder();
                var one = new byte[1];
                while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
                {
                    if (await stream.ReadAsync(one, _stop.Token) == 0)
                    {
                        client.Dispose();
                        return;
                    }

                    head.Append((char)one[0]);
                }

                int n = Interlocked.Increment(ref _requests) - 1;
                var step = _script(n);
                if (step is null)
                {
                    lock (_held)
                    {
                        _held.Add(client); // accepted, never answered
                    }

                    return;
                }

                var (status, code) = step.Value;
                byte[] body = code is null ? Body : Encoding.UTF8.GetBytes($"<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>scripted\nRequestId:1</Message></Error>");
                var response = new StringBuilder()
                    .Append("HTTP/1.1 ").Append(status).Append(" Scripted\r\n")
                    .Append("Content-Length: ").Append(body.Length).Append("\r\n")
                    .Append(code is null ? "" : $"x-ms-error-code: {code}\r\n")
                    .Append("Connection: close\r\n\r\n");
                await stream.WriteAsync(Encoding.ASCII.GetBytes(response.ToString()), _stop.Token);
                await stream.WriteAsync(body, _stop.Token);
                client.Dispose();
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
            {
                client.Dispose();
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _loop;
            lock (_held)
            {
                foreach (var c in _held)
                {
                    c.Dispose();
                }
            }

            _stop.Dispose();
        }
    }
}
