using OrleansMQ.Silo.Topics;

namespace OrleansMQ.Silo.Cluster;

/// <summary>
/// This silo's copy of the broker registry and of which brokers are live, refreshed from the
/// controller whenever Orleans membership changes (<see cref="BrokerMembership"/>): Metadata lists
/// the live brokers from here, placement takes them, followers find their leader's address here.
/// Until the first refresh it knows only this silo.
/// </summary>
public sealed class BrokerDirectory
{
    private volatile Snapshot _snapshot;

    public BrokerDirectory(int self) => _snapshot = new Snapshot([], new HashSet<int> { self }, self);

    /// <summary>Raised after every refresh (the replication manager re-resolves leaders it could not reach).</summary>
    public event Action? Changed;

    /// <summary>Live brokers, by node id (at least this silo once registered).</summary>
    public IReadOnlyList<BrokerRegistration> Live => _snapshot.Live;

    public IReadOnlySet<int> LiveIds => _snapshot.LiveIds;

    /// <summary>The live brokers as placement takes them (this silo alone before the first refresh).</summary>
    public PlacementBroker[] PlacementBrokers
    {
        get
        {
            var s = _snapshot;
            return s.Live.Count > 0 ? [.. s.Live.Select(b => new PlacementBroker(b.NodeId, b.Rack))] : [new PlacementBroker(s.Self, null)];
        }
    }

    public BrokerRegistration? Find(int nodeId) => _snapshot.All.TryGetValue(nodeId, out var b) ? b : null;

    public void Update(BrokerView view)
    {
        var live = view.Live.ToHashSet();
        _snapshot = new Snapshot(
            [.. view.Brokers.Where(b => live.Contains(b.NodeId)).OrderBy(b => b.NodeId)],
            live,
            _snapshot.Self,
            view.Brokers.ToDictionary(b => b.NodeId));
        Changed?.Invoke();
    }

    private sealed record Snapshot(IReadOnlyList<BrokerRegistration> Live, IReadOnlySet<int> LiveIds, int Self, IReadOnlyDictionary<int, BrokerRegistration>? AllBrokers = null)
    {
        public IReadOnlyDictionary<int, BrokerRegistration> All => AllBrokers ?? new Dictionary<int, BrokerRegistration>();
    }
}
