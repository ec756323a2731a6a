using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansMQ.Silo.Hosting;
using OrleansMQ.Storage.Diagnostics;

namespace OrleansMQ.Silo.Http;

/// <summary>
/// The HTTP gateway: an ASP.NET Core minimal-API app on Kestrel inside the silo process, next to
/// the Kafka listener. Starts after the broker (hosted services start in order) and stops before
/// it: Kestrel stops accepting and finishes the requests in flight, then the broker and storage stop.
/// </summary>
public sealed partial class HttpGatewayHostedService : IHostedService, IAsyncDisposable
{
    private readonly HttpSettings _settings;
    private readonly StorageHostedService _storage;
    private readonly KafkaServerHostedService _kafka;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private WebApplication? _app;
    private HttpGateway? _gateway;

    public HttpGatewayHostedService(HttpSettings settings, StorageHostedService storage, KafkaServerHostedService kafka, ILoggerFactory loggerFactory)
    {
        _settings = settings;
        _storage = storage;
        _kafka = kafka;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<HttpGatewayHostedService>();
    }

    /// <summary>The bound HTTP port (useful with port 0).</summary>
    public int Port { get; private set; }

    /// <summary>The running app's services (null before start or when disabled); tests enumerate its endpoints.</summary>
    internal IServiceProvider? AppServices => _app?.Services;

    /// <summary>Request counters for /metrics.</summary>
    public HttpMetrics Metrics { get; } = new();

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_settings.Enabled)
        {
            return;
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, ApplicationName = "OrleansMQ.Silo" });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(_loggerFactory);
        builder.WebHost.ConfigureKestrel(o =>
        {
            o.Listen(IPAddress.Parse(_settings.ListenAddress), _settings.Port);
            o.Limits.MaxRequestBodySize = _settings.MaxRequestBodyBytes;
            o.AddServerHeader = false;
        });
        var app = builder.Build();
        var gateway = new HttpGateway(_storage, _kafka, _settings, Metrics, _loggerFactory.CreateLogger<HttpGateway>());
        _gateway = gateway;
        app.Use(async (context, next) =>
        {
            long started = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                await next(context).ConfigureAwait(false);
            }
            finally
            {
                Metrics.Count(context.Request.Method, context.Response.StatusCode, started);
            }
        });
        var auth = new ApiKeyAuthentication(_settings.ApiKeys, _settings.ReadOnlyApiKeys, _loggerFactory.CreateLogger<ApiKeyAuthentication>());
        app.Use(auth.InvokeAsync);
        gateway.Map(app);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        _app = app;
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        Port = addresses.Select(a => new Uri(a.Replace("0.0.0.0", "localhost", StringComparison.Ordinal).Replace("[::]", "localhost", StringComparison.Ordinal)).Port).FirstOrDefault(_settings.Port);
        LogListening(_logger, _settings.ListenAddress, Port);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
        {
            await _app.StopAsync(cancellationToken).ConfigureAwait(false);
        }

        // REST consumer instances are group members on the broker's listener: close them (they leave their
        // groups) after the last request and before the broker stops.
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync().ConfigureAwait(false);
            _gateway = null;
        }

        if (_app is not null)
        {
            await _app.DisposeAsync().ConfigureAwait(false);
            _app = null;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "HTTP gateway on {Address}:{Port}")]
    private static partial void LogListening(ILogger logger, string address, int port);
}

/// <summary>HTTP request counts by method and status, and latency by method, for /metrics.</summary>
public sealed class HttpMetrics
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Method, int Status), long> _counts = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, LatencyHistogram> _latency = new(StringComparer.Ordinal);

    public void Count(string method, int status, long startTimestamp)
    {
        _counts.AddOrUpdate((method, status), 1, (_, n) => n + 1);
        _latency.GetOrAdd(method, _ => new LatencyHistogram()).RecordSince(startTimestamp);
    }

    /// <summary>Latency histograms by HTTP method, ordered by method.</summary>
    public IReadOnlyList<(string Method, LatencyHistogram Latency)> LatencyByMethod() =>
        _latency.Select(kv => (kv.Key, kv.Value)).OrderBy(x => x.Key, StringComparer.Ordinal).ToList();

    public IReadOnlyList<(string Method, int Status, long Count)> Snapshot() =>
        _counts.Select(kv => (kv.Key.Method, kv.Key.Status, kv.Value)).OrderBy(x => x.Method, StringComparer.Ordinal).ThenBy(x => x.Status).ToList();
}
