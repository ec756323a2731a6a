using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Runtime;
using OrleansMQ.Silo.Cluster;
using OrleansMQ.Silo.Producers;
using OrleansMQ.Silo.Topics;
using OrleansMQ.Storage.Engine;

namespace OrleansMQ.Silo.Replication;

/// <summary>
/// This silo's side of replication. Reacts to every role change the topic catalog reports — a
/// partition this silo now leads gets its leader epoch recorded and its idempotent-producer state
/// rebuilt from the log (which holds every batch the old leader had replicated); a partition it
/// now follows is handed to the fetcher of its leader — and, for the partitions it leads, keeps the
/// ISR honest: a follower that has not caught up within <c>replica.lag.time.max.ms</c> is removed,
/// one that caught up is added back, each through the topic grain (fenced by epochs, persisted
/// before it takes effect).
/// </summary>
public sealed partial class ReplicaManager : IAsyncDisposable
{
    private readonly TopicCatalog _catalog;
    private readonly BrokerDirectory _brokers;
    private readonly StorageEngine _storage;
    private readonly ProducerStates _producers;
    private readonly IGrainFactory _grains;
    private readonly ReplicationSettings _settings;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Dictionary<int, ReplicaFetcher> _fetchers = [];
    private readonly HashSet<PartitionReplica> _isrChanges = [];
    private ITimer? _isrTimer;
    private int _disposed;

    public ReplicaManager(TopicCatalog catalog, BrokerDirectory brokers, StorageEngine storage, ProducerStates producers, IGrainFactory grains, ReplicationSettings settings, TimeProvider time, ILogger<ReplicaManager> logger)
    {
        _catalog = catalog;
        _brokers = brokers;
        _storage = storage;
        _producers = producers;
        _grains = grains;
        _settings = settings;
        _time = time;
        _logger = logger;
        _catalog.ReplicaChanged += OnReplicaChanged;
        _brokers.Changed += WakeFetchers;
    }

    /// <summary>Starts the ISR checks (the catalog's role changes are followed from construction on).</summary>
    public void Start()
    {
        var period = TimeSpan.FromMilliseconds(Math.Clamp(_settings.ReplicaLagTimeMaxMs / 4, 100, 1000));
        _isrTimer = _time.CreateTimer(static s => ((ReplicaManager)s!).CheckIsr(), this, period, period);
    }

    /// <summary>How many partitions this silo copies from each leader (status, metrics).</summary>
    public IReadOnlyDictionary<int, int> FollowedPerLeader()
    {
        lock (_fetchers)
        {
            return _fetchers.ToDictionary(kv => kv.Key, kv => kv.Value.Count);
        }
    }

    private void OnReplicaChanged(PartitionReplica replica, ReplicaTransition transition)
    {
        lock (_fetchers)
        {
            foreach (var f in _fetchers.Values)
            {
                f.Remove(replica);
            }

            switch (transition)
            {
                case ReplicaTransition.BecameLeader:
                    _producers.Forget(replica.Log);
                    LogLeading(_logger, replica.Topic, replica.Partition, replica.LeaderEpoch, replica.Log.LogEndOffset, replica.State.Isr);
                    break;
                case ReplicaTransition.BecameFollower when replica.State.HasLeader:
                    _producers.Forget(replica.Log);
                    if (!_fetchers.TryGetValue(replica.State.Leader, out var fetcher))
                    {
                        fetcher = new ReplicaFetcher(replica.State.Leader, _settings, _brokers, _storage, _logger);
                        _fetchers[replica.State.Leader] = fetcher;
                    }

                    fetcher.Add(replica);
                    break;
                default:
                    break;
            }
        }
    }

    private void WakeFetchers()
    {
        lock (_fetchers)
        {
            foreach (var f in _fetchers.Values)
            {
                f.Wake();
            }
        }
    }

    /// <summary>Leader, on a follower's fetch: a follower outside the ISR that has reached the high watermark joins it.</summary>
    public void OnFollowerFetched(PartitionReplica replica, FollowerProgress follower)
    {
        var state = replica.State;
        if (Array.IndexOf(state.Isr, follower.NodeId) >= 0 || !replica.IsLeader)
        {
            return;
        }

        if (follower.LogEnd >= replica.HighWatermark)
        {
            RequestIsr(replica, state, [.. state.Isr, follower.NodeId], "caught up");
        }
    }

    /// <summary>Timer: followers in the ISR that have not caught up for replica.lag.time.max.ms leave it.</summary>
    private void CheckIsr()
    {
        long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var topic in _catalog.All)
        {
            foreach (var replica in topic.Replicas)
            {
                if (!replica.IsLeader || replica.State.Isr.Length <= 1)
                {
                    continue;
                }

                var state = replica.State;
                var lagging = replica.Followers.Where(f => Array.IndexOf(state.Isr, f.NodeId) >= 0 && now - f.LastCaughtUpMs > _settings.ReplicaLagTimeMaxMs).Select(f => f.NodeId).ToList();
                if (lagging.Count > 0)
                {
                    RequestIsr(replica, state, Array.FindAll(state.Isr, r => !lagging.Contains(r)), $"lagging more than {_settings.ReplicaLagTimeMaxMs} ms: {lagging}");
                }
            }
        }
    }

    /// <summary>Sends one ISR change per partition at a time to its topic grain; the answer is applied to the catalog.</summary>
    private void RequestIsr(PartitionReplica replica, PartitionState state, int[] isr, string reason)
    {
        lock (_isrChanges)
        {
            if (!_isrChanges.Add(replica))
            {
                return;
            }
        }

        _ = Task.Run(async () =>
        {
            try
            {
                var change = await _grains.GetGrain<ITopicGrain>(replica.Topic).AlterIsrAsync(replica.Partition, _settings.NodeId, state.LeaderEpoch, state.PartitionEpoch, isr).ConfigureAwait(false);
                if (change.Error == ReplicaStateError.None && change.Snapshot is { } snapshot)
                {
                    _catalog.Apply(snapshot);
                    LogIsrChanged(_logger, replica.Topic, replica.Partition, state.Isr, change.State!.Isr, reason);
                }
                else if (change.Error != ReplicaStateError.None)
                {
                    LogIsrRefused(_logger, replica.Topic, replica.Partition, change.Error, reason);
                }
            }
            catch (Exception ex) when (ex is TimeoutException or OrleansException)
            {
                LogIsrFailed(_logger, ex, replica.Topic, replica.Partition);
            }
            finally
            {
                lock (_isrChanges)
                {
                    _isrChanges.Remove(replica);
                }
            }
        });
    }

    /// <summary>Stops the fetchers and the ISR checks (the broker's stop, then the container's dispose: the second is a no-op).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _catalog.ReplicaChanged -= OnReplicaChanged;
        _brokers.Changed -= WakeFetchers;
        if (_isrTimer is not null)
        {
            await _isrTimer.DisposeAsync().ConfigureAwait(false);
        }

        List<ReplicaFetcher> fetchers;
        lock (_fetchers)
        {
            fetchers = [.. _fetchers.Values];
            _fetchers.Clear();
        }

        foreach (var f in fetchers)
        {
            await f.DisposeAsync().ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Topic}-{Partition}: leading at epoch {Epoch} from offset {LogEnd}, ISR {Isr}")]
    private static partial void LogLeading(ILogger logger, string topic, int partition, int epoch, long logEnd, int[] isr);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Topic}-{Partition}: ISR {Before} -> {After} ({Reason})")]
    private static partial void LogIsrChanged(ILogger logger, string topic, int partition, int[] before, int[] after, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Topic}-{Partition}: ISR change refused by the controller: {Error} ({Reason})")]
    private static partial void LogIsrRefused(ILogger logger, string topic, int partition, ReplicaStateError error, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Topic}-{Partition}: ISR change could not reach the topic's grain; the next check retries")]
    private static partial void LogIsrFailed(ILogger logger, Exception ex, string topic, int partition);
}
