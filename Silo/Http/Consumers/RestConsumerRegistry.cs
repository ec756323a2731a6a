using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using OrleansMQ.Client;
using OrleansMQ.Client.Consumer;
using OrleansMQ.Silo.Topics;

namespace OrleansMQ.Silo.Http.Consumers;

/// <summary>
/// The gateway's consumer instances by (group, name). Thread-safe; at most <see cref="HttpSettings.MaxConsumerInstances"/>
/// at a time (each is a group member with a connection and background fetching). A timer closes instances idle
/// for longer than <see cref="HttpSettings.ConsumerInstanceTimeoutMs"/> (REST Proxy's consumer.instance.timeout.ms),
/// so abandoned instances leave their groups instead of holding partitions forever.
/// </summary>
internal sealed partial class RestConsumerRegistry : IAsyncDisposable
{
    /// <summary>Prefetched chunks per instance (each up to MaxPartitionFetchBytes): bounds the memory of many idle instances.</summary>
    private const int PrefetchChunks = 4;

    private readonly ConcurrentDictionary<(string Group, string Name), RestConsumerInstance> _instances = new();
    private readonly Lock _lock = new();
    private readonly HttpSettings _settings;
    private readonly Func<string> _bootstrap;
    private readonly Func<OrleansMQ.Client.BrokerAddress, OrleansMQ.Client.BrokerAddress>? _addressMap;
    private readonly TopicCatalog _catalog;
    private readonly ILogger _logger;
    private readonly ITimer _timer;
    private bool _closed;

    /// <param name="bootstrap">The silo's own Kafka listener (host:port), asked when an instance is created.</param>
    /// <param name="addressMap">Rewrites this silo's advertised address to its listener, so members connect even where the advertised name only resolves outside.</param>
    public RestConsumerRegistry(HttpSettings settings, Func<string> bootstrap, TopicCatalog catalog, ILogger logger, TimeProvider? time = null, Func<OrleansMQ.Client.BrokerAddress, OrleansMQ.Client.BrokerAddress>? addressMap = null)
    {
        _addressMap = addressMap;
        _settings = settings;
        _bootstrap = bootstrap;
        _catalog = catalog;
        _logger = logger;
        // Checked a few times per timeout, so an instance lives at most about 1.25 timeouts idle.
        var period = TimeSpan.FromMilliseconds(Math.Clamp(settings.ConsumerInstanceTimeoutMs / 4, 50, 10_000));
        _timer = (time ?? TimeProvider.System).CreateTimer(_ => ExpireIdle(), null, period, period);
    }

    public int Count => _instances.Count;

    /// <summary>A new instance; 409 (40902) when the name is taken in the group, 429 when the limit is reached.</summary>
    public RestConsumerInstance Create(string group, RestConsumerConfig config)
    {
        var options = new ConsumerOptions
        {
            Client = new ClientOptions { BootstrapServers = _bootstrap(), ClientId = config.Name, BrokerAddressMap = _addressMap },
            GroupId = group,
            AutoOffsetReset = config.AutoOffsetReset,
            EnableAutoCommit = config.AutoCommit,
            PrefetchLimit = PrefetchChunks,
        };
        lock (_lock)
        {
            if (_closed)
            {
                throw new RestConsumerException(503, 50301, "Shutting down", "The gateway is shutting down.");
            }

            if (_instances.ContainsKey((group, config.Name)))
            {
                throw new RestConsumerException(409, 40902, "Consumer instance exists", "Consumer with specified consumer ID already exists in the specified consumer group.");
            }

            if (_instances.Count >= _settings.MaxConsumerInstances)
            {
                throw new RestConsumerException(429, 42901, "Too many consumer instances", $"This gateway already runs {_instances.Count} consumer instances (OrleansMQ:Http:MaxConsumerInstances); delete unused ones or wait for idle ones to expire.");
            }

            var instance = new RestConsumerInstance(group, config, options, _catalog, _logger);
            _instances[(group, config.Name)] = instance;
            return instance;
        }
    }

    public RestConsumerInstance Get(string group, string name) =>
        _instances.TryGetValue((group, name), out var instance) ? instance : throw RestConsumerException.NotFound();

    /// <summary>Removes and closes the instance (it leaves its group); 404 when unknown.</summary>
    public async Task DeleteAsync(string group, string name)
    {
        if (!_instances.TryRemove((group, name), out var instance))
        {
            throw RestConsumerException.NotFound();
        }

        await instance.DisposeAsync().ConfigureAwait(false);
    }

    private void ExpireIdle()
    {
        long now = Environment.TickCount64;
        foreach (var (key, instance) in _instances)
        {
            if (instance.IsIdle(now, _settings.ConsumerInstanceTimeoutMs) && _instances.TryRemove(new KeyValuePair<(string, string), RestConsumerInstance>(key, instance)))
            {
                LogExpired(_logger, key.Group, key.Name, _settings.ConsumerInstanceTimeoutMs);
                _ = CloseQuietlyAsync(instance);
            }
        }
    }

    private async Task CloseQuietlyAsync(RestConsumerInstance instance)
    {
        try
        {
            await instance.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is KafkaException or IOException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            LogCloseFailed(_logger, instance.Group, instance.Name, ex.Message);
        }
    }

    /// <summary>Closes every instance (each leaves its group) and refuses new ones: called before the broker stops.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_lock)
        {
            _closed = true;
        }

        await _timer.DisposeAsync().ConfigureAwait(false);
        var all = _instances.Values.ToList();
        _instances.Clear();
        await Task.WhenAll(all.Select(CloseQuietlyAsync)).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "REST consumer {Group}/{Instance} idle for over {TimeoutMs} ms: closed")]
    private static partial void LogExpired(ILogger logger, string group, string instance, long timeoutMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "REST consumer {Group}/{Instance}: close failed: {Reason}")]
    private static partial void LogCloseFailed(ILogger logger, string group, string instance, string reason);
}
