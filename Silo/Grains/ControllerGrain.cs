using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Runtime;
using Orleans.Utilities;
using OrleansMQ.Silo.Cluster;
using OrleansMQ.Silo.Topics;

namespace OrleansMQ.Silo.Grains;

/// <summary>Persisted state of <see cref="ControllerGrain"/>: the broker registry.</summary>
[GenerateSerializer]
public sealed class ControllerState
{
    [Id(0)]
    public Dictionary<int, BrokerRegistration> Brokers { get; set; } = [];

    /// <summary>The live node ids every topic was last told: a restarted controller that sees the same set has nothing to do (no activation of every topic grain at each start).</summary>
    [Id(1)]
    public int[] ReportedLive { get; set; } = [];
}

/// <summary>
/// The controller (<see cref="IControllerGrain"/>): one activation in the cluster. Liveness is
/// Orleans' membership (a broker is live while its silo is Active), so failure detection is
/// Orleans' (probes, votes, the membership table), not a second protocol of ours. Every change of
/// the live set is handed to every topic grain, in parallel batches; each topic grain decides its
/// partitions' leaders and persists them (ETag-checked grain storage) before it publishes.
/// </summary>
public sealed partial class ControllerGrain : Grain, IControllerGrain
{
    private const int TopicsInParallel = 64;

    private readonly IPersistentState<ControllerState> _state;
    private readonly IClusterMembershipService _membership;
    private readonly ILogger _logger;
    private readonly ObserverManager<IBrokerObserver> _observers;
    private BrokerView? _told;

    public ControllerGrain([PersistentState("controller")] IPersistentState<ControllerState> state, IClusterMembershipService membership, ILogger<ControllerGrain> logger)
    {
        _state = state;
        _membership = membership;
        _logger = logger;
        _observers = new ObserverManager<IBrokerObserver>(TimeSpan.FromMinutes(2), logger);
    }

    public async Task<BrokerView> RegisterAsync(BrokerRegistration broker, IBrokerObserver observer)
    {
        _observers.Subscribe(observer, observer);
        if (_state.State.Brokers.TryGetValue(broker.NodeId, out var known) && !known.Silo.Equals(broker.Silo) && IsActive(known.Silo))
        {
            throw new InvalidOperationException($"Broker node id {broker.NodeId} is already used by the active silo {known.Silo} ({known.Host}:{known.Port}); give each silo its own OrleansMQ:Broker:NodeId.");
        }

        if (known != broker)
        {
            _state.State.Brokers[broker.NodeId] = broker;
            await _state.WriteStateAsync().ConfigureAwait(true);
            LogRegistered(_logger, broker.NodeId, broker.Host, broker.Port, broker.Rack ?? "-", broker.Silo);
        }

        await ReconcileAsync().ConfigureAwait(true);
        return View();
    }

    public Task<BrokerView> SubscribeAsync(IBrokerObserver observer)
    {
        _observers.Subscribe(observer, observer);
        return Task.FromResult(View());
    }

    public Task<BrokerView> GetBrokersAsync() => Task.FromResult(View());

    public async Task MembershipChangedAsync()
    {
        await _membership.Refresh().ConfigureAwait(true);
        await ReconcileAsync().ConfigureAwait(true);
    }

    private bool IsActive(SiloAddress silo) => _membership.CurrentSnapshot.GetSiloStatus(silo) == SiloStatus.Active;

    private BrokerView View()
    {
        var brokers = _state.State.Brokers.Values.OrderBy(b => b.NodeId).ToArray();
        return new BrokerView(brokers, [.. brokers.Where(b => IsActive(b.Silo)).Select(b => b.NodeId)]);
    }

    /// <summary>
    /// Tells every silo the registry when it changed (a broker registered after the membership
    /// change that announced its silo), then every topic the live brokers when they differ from
    /// what was told last.
    /// </summary>
    private async Task ReconcileAsync()
    {
        var view = View();
        if (_told is null || !SameView(_told, view))
        {
            _told = view;
            await _observers.Notify(o => o.OnBrokersChanged(view)).ConfigureAwait(true);
        }

        if (view.Live.AsSpan().SequenceEqual(_state.State.ReportedLive))
        {
            return;
        }

        var live = view.Brokers.Where(b => Array.IndexOf(view.Live, b.NodeId) >= 0).Select(b => new PlacementBroker(b.NodeId, b.Rack)).ToArray();
        LogLiveChanged(_logger, _state.State.ReportedLive, view.Live);
        var names = await GrainFactory.GetGrain<ITopicDirectoryGrain>(ITopicDirectoryGrain.Key).ListNamesAsync().ConfigureAwait(true);
        foreach (var chunk in names.Chunk(TopicsInParallel))
        {
            await Task.WhenAll(chunk.Select(n => GrainFactory.GetGrain<ITopicGrain>(n).OnLiveBrokersAsync(live))).ConfigureAwait(true);
        }

        _state.State.ReportedLive = view.Live;
        await _state.WriteStateAsync().ConfigureAwait(true);
    }

    private static bool SameView(BrokerView a, BrokerView b) =>
        a.Live.AsSpan().SequenceEqual(b.Live) && a.Brokers.Length == b.Brokers.Length && a.Brokers.Zip(b.Brokers).All(p => p.First == p.Second);

    [LoggerMessage(Level = LogLevel.Information, Message = "Broker {NodeId} registered at {Host}:{Port} (rack {Rack}, silo {Silo})")]
    private static partial void LogRegistered(ILogger logger, int nodeId, string host, int port, string rack, SiloAddress silo);

    [LoggerMessage(Level = LogLevel.Information, Message = "Live brokers {Before} -> {After}: re-electing leaders")]
    private static partial void LogLiveChanged(ILogger logger, int[] before, int[] after);
}
