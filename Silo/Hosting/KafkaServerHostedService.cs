using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansMQ.Silo.Grains;
using OrleansMQ.Silo.Groups;
using OrleansMQ.Silo.Kafka.Handlers;
using OrleansMQ.Silo.Kafka.Network;
using OrleansMQ.Silo.Producers;
using OrleansMQ.Silo.Topics;

namespace OrleansMQ.Silo.Hosting;

/// <summary>
/// The broker: grain host, topic catalog (loaded from the topic grains' state), group coordinator,
/// producer ids and the Kafka listener. Starts after storage is recovered; stops before it (hosted services stop in
/// reverse order): stop accepting, answer the requests already read, then storage flushes and
/// writes its clean-shutdown marker.
/// </summary>
public sealed partial class KafkaServerHostedService : IHostedService, IAsyncDisposable
{
    private readonly StorageHostedService _storage;
    private readonly BrokerSettings _settings;
    private readonly GroupSettings _groupSettings;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly IServiceProvider _services;
    private GrainHost? _grains;
    private KafkaListener? _listener;
    private ProducerIdAllocator? _producerIds;
    private GroupService? _groups;

    public KafkaServerHostedService(StorageHostedService storage, BrokerSettings settings, GroupSettings groupSettings, ILoggerFactory loggerFactory, IServiceProvider services)
    {
        _groupSettings = groupSettings;
        _storage = storage;
        _settings = settings;
        _loggerFactory = loggerFactory;
        _services = services;
        _logger = loggerFactory.CreateLogger<KafkaServerHostedService>();
    }

    /// <summary>The bound Kafka port (useful with port 0).</summary>
    public int Port => _listener?.Port ?? throw new InvalidOperationException("The Kafka listener has not started.");

    public KafkaListener Listener => _listener ?? throw new InvalidOperationException("The Kafka listener has not started.");

    public BrokerContext Broker { get; private set; } = null!;

    /// <summary>Tests only: held back, it keeps the group coordinator loading (<see cref="GroupService.LoadGate"/>). Completed by default.</summary>
    internal Task GroupsLoadGate { get; set; } = Task.CompletedTask;

    public GroupService Groups => _groups ?? throw new InvalidOperationException("The broker has not started.");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var engine = _storage.Engine;
        var store = new FileGrainStateStore(Path.Combine(engine.Options.DataDirectory, "grains"));
        var catalog = new TopicCatalog(engine);
        var offsets = new OffsetStore(engine, Path.Combine(engine.Options.DataDirectory, "groups", "offsets.snapshot"), _loggerFactory.CreateLogger<OffsetStore>());
        var directory = new GroupDirectory();
        _grains = new GrainHost(store, new GrainServices(_services, catalog, offsets, _groupSettings, directory), _loggerFactory.CreateLogger<GrainHost>());
        var topics = new TopicService(_grains, catalog, _settings.AutoCreateTopics, _settings.DefaultPartitions);
        await topics.LoadAsync(cancellationToken).ConfigureAwait(false);
        _producerIds = new ProducerIdAllocator(store);
        string clusterId = await ClusterIdAsync(store, cancellationToken).ConfigureAwait(false);

        // Groups load in the background: the listener opens at once and group calls answer
        // COORDINATOR_LOAD_IN_PROGRESS (clients retry) until the offsets partition is replayed.
        _groups = new GroupService(_grains, offsets, directory, _groupSettings, engine, _loggerFactory.CreateLogger<GroupService>()) { LoadGate = GroupsLoadGate };
        _groups.Start();

        Broker = new BrokerContext(engine, topics, _groups, _producerIds, _settings, clusterId, _loggerFactory);
        _listener = new KafkaListener(_settings.ToListenerOptions(), new KafkaRequestProcessor(Broker), _loggerFactory.CreateLogger<KafkaListener>());
        await _listener.StartAsync(cancellationToken).ConfigureAwait(false);
        Broker.AdvertisedPort = _settings.AdvertisedPort ?? _listener.Port;
        LogListening(_logger, _listener.LocalEndPoint, Broker.AdvertisedHost, Broker.AdvertisedPort, catalog.Count, clusterId);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_groups is not null)
        {
            // First: waiting JoinGroup/SyncGroup calls are answered, so the listener's drain is quick.
            await _groups.StopAsync().ConfigureAwait(false);
        }

        if (_listener is not null)
        {
            await _listener.StopAsync(cancellationToken).ConfigureAwait(false);
        }

        if (_grains is not null)
        {
            await _grains.DisposeAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_groups is not null)
        {
            await _groups.DisposeAsync().ConfigureAwait(false);
        }

        if (_listener is not null)
        {
            await _listener.DisposeAsync().ConfigureAwait(false);
        }

        if (_grains is not null)
        {
            await _grains.DisposeAsync().ConfigureAwait(false);
        }

        _producerIds?.Dispose();
    }

    /// <summary>Generated once (22 characters of base64url, as Kafka's) and kept with the data.</summary>
    private static async Task<string> ClusterIdAsync(FileGrainStateStore store, CancellationToken cancellationToken)
    {
        var state = await store.ReadAsync<ClusterState>("Cluster", "id", cancellationToken).ConfigureAwait(false);
        if (state is null)
        {
            state = new ClusterState { Id = Convert.ToBase64String(Guid.NewGuid().ToByteArray()).TrimEnd('=').Replace('+', '-').Replace('/', '_') };
            await store.WriteAsync("Cluster", "id", state, cancellationToken).ConfigureAwait(false);
        }

        return state.Id;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Kafka listener on {EndPoint}, advertised as {Host}:{Port}; {Topics} topics; cluster id {ClusterId}")]
    private static partial void LogListening(ILogger logger, System.Net.IPEndPoint? endPoint, string host, int port, int topics, string clusterId);

    private sealed class ClusterState
    {
        public string Id { get; set; } = "";
    }

    /// <summary>Resolves grain classes with their dependencies.</summary>
    private sealed class GrainServices(IServiceProvider inner, TopicCatalog catalog, OffsetStore offsets, GroupSettings groupSettings, GroupDirectory directory) : IServiceProvider
    {
        public object? GetService(Type serviceType) =>
            serviceType == typeof(TopicGrain) ? new TopicGrain(catalog)
            : serviceType == typeof(ConsumerGroupGrain) ? new ConsumerGroupGrain(offsets, groupSettings, directory)
            : inner.GetService(serviceType);
    }
}
