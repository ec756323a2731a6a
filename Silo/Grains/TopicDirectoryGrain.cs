using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Runtime;
using Orleans.Utilities;
using OrleansMQ.Silo.Topics;

namespace OrleansMQ.Silo.Grains;

/// <summary>
/// The cluster's topic list: one activation. Topic grains publish their changes here; the list is
/// persisted (a starting silo learns every topic with one call) and each change is pushed to every
/// subscribed silo's catalog. Silos renew their subscription periodically, so a silo that missed a
/// push (or a directory that moved to another silo and lost its observers) catches up at the next
/// renewal: a renewal with an old version gets the whole list back. Not reentrant: each change is
/// persisted before the next one is looked at.
/// </summary>
public sealed class TopicDirectoryGrain : Grain, ITopicDirectoryGrain
{
    /// <summary>An observer not renewed for this long is dropped (silos renew every <see cref="TopicCatalogSubscription.RenewInterval"/>).</summary>
    internal static readonly TimeSpan ObserverExpiry = TimeSpan.FromMinutes(2);

    private readonly IPersistentState<TopicDirectoryState> _state;
    private readonly ObserverManager<ITopicCatalogObserver> _observers;

    public TopicDirectoryGrain([PersistentState("directory")] IPersistentState<TopicDirectoryState> state, ILogger<TopicDirectoryGrain> logger)
    {
        _state = state;
        _observers = new ObserverManager<ITopicCatalogObserver>(ObserverExpiry, logger);
    }

    public async Task<TopicSnapshot> PublishAsync(TopicSnapshot snapshot)
    {
        var topics = _state.State.Topics;
        bool known = topics.TryGetValue(snapshot.Name, out var current);
        if (!snapshot.Deleted && known && current!.TopicId == snapshot.TopicId && current.Partitions == snapshot.Partitions && SameConfigs(current.Configs, snapshot.Configs) && SameStates(current.States, snapshot.States))
        {
            return current; // a republish of what the directory already has
        }

        if (snapshot.Deleted && (!known || current!.TopicId != snapshot.TopicId))
        {
            return snapshot with { Version = _state.State.Version }; // already gone (or replaced by a newer incarnation)
        }

        var stamped = snapshot with { Version = ++_state.State.Version };
        if (stamped.Deleted)
        {
            topics.Remove(stamped.Name);
        }
        else
        {
            topics[stamped.Name] = stamped;
        }

        await _state.WriteStateAsync().ConfigureAwait(true);
        // One-way calls: a slow or dead silo does not hold the directory (a failed one is dropped).
        await _observers.Notify(o => o.OnTopicChanged(stamped)).ConfigureAwait(true);
        return stamped;
    }

    public Task<TopicDirectoryView?> SubscribeAsync(ITopicCatalogObserver observer, long knownVersion)
    {
        _observers.Subscribe(observer, observer);
        var s = _state.State;
        return Task.FromResult(knownVersion == s.Version ? null : new TopicDirectoryView(s.Version, s.Topics.Values.ToArray()));
    }

    public Task UnsubscribeAsync(ITopicCatalogObserver observer)
    {
        _observers.Unsubscribe(observer);
        return Task.CompletedTask;
    }

    public Task<string[]> ListNamesAsync() => Task.FromResult(_state.State.Topics.Keys.ToArray());

    private static bool SameStates(PartitionState[] a, PartitionState[] b)
    {
        if (a.Length != b.Length)
        {
            return false;
        }

        for (int i = 0; i < a.Length; i++)
        {
            var (x, y) = (a[i], b[i]);
            if (x.Leader != y.Leader || x.LeaderEpoch != y.LeaderEpoch || x.PartitionEpoch != y.PartitionEpoch || !x.Replicas.AsSpan().SequenceEqual(y.Replicas) || !x.Isr.AsSpan().SequenceEqual(y.Isr))
            {
                return false;
            }
        }

        return true;
    }

    private static bool SameConfigs(Dictionary<string, string> a, Dictionary<string, string> b) =>
        a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var v) && v == kv.Value);
}
