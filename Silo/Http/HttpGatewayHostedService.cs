using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Hosting;
using OrleansMQ.Silo.Http.Consumers;

namespace OrleansMQ.Silo.Http;

/// <summary>
/// The HTTP gateway's place in the silo's start and stop order. The routes are mapped on the
/// silo's own web application (one host for Kafka, HTTP and Orleans); Kestrel starts after every
/// hosted service and stops before them. This service stops after Kestrel and before the broker:
/// it closes the REST consumer instances (they leave their groups on the broker's listener).
/// </summary>
internal sealed class HttpGatewayHostedService : IHostedService, IAsyncDisposable
{
    private readonly ConsumerInstanceEndpoints _consumers;
    private readonly IServer? _server;
    private readonly HttpSettings _settings;

    public HttpGatewayHostedService(ConsumerInstanceEndpoints consumers, HttpSettings settings, IServiceProvider services)
    {
        _consumers = consumers;
        _settings = settings;
        _server = settings.Enabled ? (IServer?)services.GetService(typeof(IServer)) : null;
        AppServices = services;
    }

    /// <summary>The bound HTTP port (useful with port 0); 0 when the gateway is off or not started.</summary>
    public int Port
    {
        get
        {
            var addresses = _server?.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            return addresses.Select(a => new Uri(a.Replace("0.0.0.0", "localhost", StringComparison.Ordinal).Replace("[::]", "localhost", StringComparison.Ordinal)).Port).FirstOrDefault(_settings.Enabled ? _settings.Port : 0);
        }
    }

    /// <summary>The silo's services (tests enumerate the mapped endpoints).</summary>
    internal IServiceProvider AppServices { get; }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken) => await _consumers.DisposeAsync().ConfigureAwait(false);

    public ValueTask DisposeAsync() => _consumers.DisposeAsync();
}
