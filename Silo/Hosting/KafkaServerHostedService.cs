using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans;
using OrleansMQ.Silo.Cluster;
using OrleansMQ.Silo.Groups;
using OrleansMQ.Silo.Kafka;
using OrleansMQ.Silo.Kafka.Network;
using OrleansMQ.Silo.Producers;
using OrleansMQ.Silo.Replication;
using OrleansMQ.Silo.Topics;

namespace OrleansMQ.Silo.Hosting;

/// <summary>
/// The broker: loads the topic catalog (subscribing to the topic directory), starts the group
/// coordinator and opens the Kafka listener. Starts after storage and the Orleans silo (hosted
/// services start in registration order); stops before them: waiting group calls are answered,
/// the listener stops accepting and answers the requests already read, then Orleans deactivates
/// the grains and storage flushes and writes its clean-shutdown marker.
/// </summary>
public sealed partial class KafkaServerHostedService : IHostedService, IAsyncDisposable
{
    private readonly BrokerSettings _settings;
    private readonly BrokerIdentity _identity;
    private readonly IGrainFactory _grains;
    private readonly TopicCatalog _catalog;
    private readonly TopicCatalogSubscription _subscription;
    private readonly GroupService _groups;
    private readonly ProducerIdAllocator _producerIds;
    private readonly KafkaListener _listener;
    private readonly LegacyGrainStateImport _legacy;
    private readonly ReplicaManager _replicas;
    private readonly BrokerMembership _membership;
    private readonly BrokerDirectory _brokers;
    private readonly ILogger _logger;

    public KafkaServerHostedService(BrokerSettings settings, BrokerIdentity identity, IGrainFactory grains, TopicCatalog catalog, TopicCatalogSubscription subscription, GroupService groups, ProducerIdAllocator producerIds, KafkaListener listener, LegacyGrainStateImport legacy, ReplicaManager replicas, BrokerMembership membership, BrokerDirectory brokers, ILogger<KafkaServerHostedService> logger)
    {
        _brokers = brokers;
        _replicas = replicas;
        _membership = membership;
        _legacy = legacy;
        _settings = settings;
        _identity = identity;
        _grains = grains;
        _catalog = catalog;
        _subscription = subscription;
        _groups = groups;
        _producerIds = producerIds;
        _listener = listener;
        _logger = logger;
    }

    /// <summary>Tests only: held back, it keeps the group coordinator loading (<see cref="GroupService.LoadGate"/>). Completed by default.</summary>
    internal Task GroupsLoadGate { get; set; } = Task.CompletedTask;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _subscription.StartAsync(cancellationToken).ConfigureAwait(false);
        await _legacy.RunAsync(cancellationToken).ConfigureAwait(false);
        _identity.ClusterId = await _grains.GetGrain<IClusterMetadataGrain>(IClusterMetadataGrain.Key).GetKafkaClusterIdAsync().WaitAsync(cancellationToken).ConfigureAwait(false);

        // Groups load in the background: the listener opens at once and group calls answer
        // COORDINATOR_LOAD_IN_PROGRESS (clients retry) until the offsets partition is replayed.
        _groups.LoadGate = GroupsLoadGate;
        _groups.Start();

        try
        {
            await _listener.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (System.Net.Sockets.SocketException ex) when (ex.SocketErrorCode is System.Net.Sockets.SocketError.AddressAlreadyInUse or System.Net.Sockets.SocketError.AccessDenied or System.Net.Sockets.SocketError.AddressNotAvailable)
        {
            throw new ArgumentException($"OrleansMQ:Broker:Port: cannot listen on {_settings.ListenAddress}:{_settings.Port} ({ex.SocketErrorCode}).", ex);
        }

        _identity.AdvertisedPort = _settings.AdvertisedPort ?? _listener.Port;

        // Now that clients and followers can reach this broker: join the registry (the controller
        // then re-elects with this broker live) and keep the ISR checked.
        _replicas.Start();
        // The topic directory keeps its observers in memory: when a silo dies the directory may
        // move with it and forget this silo's subscription, so every change of the brokers renews
        // it at once rather than at the next periodic renewal (leadership changes travel that way).
        _brokers.Changed += RenewTopicSubscription;
        await _membership.StartAsync(_identity.NodeId, _identity.AdvertisedHost, _identity.AdvertisedPort, _settings.Rack, cancellationToken).ConfigureAwait(false);
        LogListening(_logger, _listener.LocalEndPoint, _identity.AdvertisedHost, _identity.AdvertisedPort, _catalog.Count, _identity.ClusterId);
    }

    private void RenewTopicSubscription() => _ = _subscription.RenewAsync();

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _brokers.Changed -= RenewTopicSubscription;
        // First: waiting JoinGroup/SyncGroup calls are answered, so the listener's drain is quick.
        await _groups.StopAsync().ConfigureAwait(false);
        await _listener.StopAsync(cancellationToken).ConfigureAwait(false);
        await _membership.DisposeAsync().ConfigureAwait(false);
        await _replicas.DisposeAsync().ConfigureAwait(false);

        await _subscription.DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _groups.DisposeAsync().ConfigureAwait(false);
        await _listener.DisposeAsync().ConfigureAwait(false);

        _producerIds.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Kafka listener on {EndPoint}, advertised as {Host}:{Port}; {Topics} topics; cluster id {ClusterId}")]
    private static partial void LogListening(ILogger logger, System.Net.IPEndPoint? endPoint, string host, int port, int topics, string clusterId);
}
