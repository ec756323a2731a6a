using Orleans;
using Orleans.Concurrency;

namespace OrleansMQ.Silo.Cluster;

/// <summary>
/// The cluster's controller (one activation, key <see cref="Key"/>): keeps the broker registry
/// (node id → address, rack, Orleans silo) and reacts to Orleans membership — when the set of live
/// brokers changes (a silo declared dead, a silo joined) it tells every topic grain, which elects
/// new leaders from the ISR and persists the result before publishing it to every silo.
/// </summary>
public interface IControllerGrain : IGrainWithIntegerKey
{
    public const long Key = 0;

    /// <summary>
    /// Registers (or re-registers after a restart) this silo's broker, subscribes its observer to
    /// every later change of the registry or of the live set, and returns the registry. A node id
    /// held by another silo that is still active is refused with <see cref="InvalidOperationException"/>.
    /// </summary>
    Task<BrokerView> RegisterAsync(BrokerRegistration broker, IBrokerObserver observer);

    /// <summary>Renews a silo's subscription (observers not renewed for a while are dropped) and returns the registry.</summary>
    Task<BrokerView> SubscribeAsync(IBrokerObserver observer);

    /// <summary>The registry and the live node ids (interleaves: topic grains may ask while the controller waits on them).</summary>
    [AlwaysInterleave]
    Task<BrokerView> GetBrokersAsync();

    /// <summary>Membership changed somewhere: recompute the live brokers and, if they changed, tell every topic.</summary>
    Task MembershipChangedAsync();
}

/// <summary>A silo's broker directory, told of every change of the registry or of the live brokers (one-way).</summary>
public interface IBrokerObserver : IGrainObserver
{
    [OneWay]
    Task OnBrokersChanged(BrokerView view);
}
