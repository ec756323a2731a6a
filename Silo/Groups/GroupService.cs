using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Runtime;
using OrleansMQ.Protocol.Groups;
using OrleansMQ.Silo.Topics;
using OrleansMQ.Storage.Engine;

namespace OrleansMQ.Silo.Groups;

/// <summary>
/// The front of the group coordinator: loads the offsets partition at start (group requests get
/// COORDINATOR_LOAD_IN_PROGRESS until it is done), routes every call to the group's
/// <see cref="IConsumerGroupGrain"/> (wherever it lives in the cluster), expires offsets, writes the
/// offsets snapshot, and computes lag. Knows nothing of the wire format. A grain call that times
/// out or whose silo dies answers COORDINATOR_NOT_AVAILABLE: Kafka clients look the coordinator
/// up again and retry.
/// <para>
/// The coordinator (Kafka's design): in a cluster, the broker leading the replicated internal
/// partition <c>__consumer_offsets</c>-0 coordinates every group. This silo follows that
/// partition's role (<see cref="TopicCatalog.ReplicaChanged"/>): when it becomes the leader it
/// loads the view from its replica (what its follower fetcher copied) and answers
/// COORDINATOR_LOAD_IN_PROGRESS meanwhile; when it stops leading it drops the view and its group
/// grains deactivate on their next call. Group requests reaching another silo are answered
/// NOT_COORDINATOR. The first group request of a cluster creates the partition through its topic
/// grain (replication factor min(offsets.topic.replication.factor, live brokers)). A single silo,
/// and a cluster silo whose catalog has the partition unplaced, coordinates locally as before.
/// </para>
/// </summary>
public sealed partial class GroupService : IAsyncDisposable
{
    private readonly IGrainFactory _grains;
    private readonly OffsetStore _store;
    private readonly GroupDirectory _directory;
    private readonly StorageEngine _engine;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private readonly bool _singleSilo;
    private Task _load = Task.CompletedTask;
    private ITimer? _expiryTimer;
    private ITimer? _snapshotTimer;
    private volatile bool _stopping;
    private int _maintenanceRunning;
    private readonly TopicCatalog? _catalog;
    private readonly Func<PlacementBroker[]>? _liveBrokers;
    private readonly int _nodeId;
    private readonly SemaphoreSlim _roleGate = new(1, 1);
    private int _loadedEpoch = -1; // the offsets partition's leader epoch the view was loaded at
    private int _creating;
    private bool _started;

    /// <param name="singleSilo">
    /// True when this silo is the whole cluster: every group grain lives here, so reads of
    /// committed offsets and of idle groups come from the local stored view without a grain call.
    /// </param>
    /// <param name="catalog">This silo's topic cache: where the offsets partition's role is read and followed (null: always coordinate locally).</param>
    /// <param name="liveBrokers">The live brokers, to place the offsets partition when this silo creates it.</param>
    /// <param name="nodeId">This broker's node id.</param>
    public GroupService(IGrainFactory grains, OffsetStore store, GroupDirectory directory, GroupSettings settings, StorageEngine engine, ILogger<GroupService> logger, TimeProvider? time = null, bool singleSilo = true, TopicCatalog? catalog = null, Func<PlacementBroker[]>? liveBrokers = null, int nodeId = 0)
    {
        _catalog = catalog;
        _liveBrokers = liveBrokers;
        _nodeId = nodeId;
        if (_catalog is not null)
        {
            _catalog.ReplicaChanged += OnReplicaChanged;
        }

        _singleSilo = singleSilo;
        _grains = grains;
        _store = store;
        _directory = directory;
        Settings = settings;
        _engine = engine;
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    public GroupSettings Settings { get; }

    public OffsetStore Store => _store;

    /// <summary>Held back by tests to observe COORDINATOR_LOAD_IN_PROGRESS; completed by default.</summary>
    internal Task LoadGate { get; set; } = Task.CompletedTask;

    /// <summary>
    /// The Kafka group APIs' check: None when this silo is the coordinator and has loaded;
    /// otherwise the error to answer with (NOT_COORDINATOR when another broker coordinates).
    /// Starts the offsets partition's creation in a cluster that has none yet.
    /// </summary>
    public GroupError CoordinatorAvailability
    {
        get
        {
            if (_stopping)
            {
                return GroupError.NotCoordinator;
            }

            var (node, error) = Coordinator();
            return error != GroupError.None ? error
                : node != _nodeId ? GroupError.NotCoordinator
                : LoadState;
        }
    }

    /// <summary>
    /// Readiness (/readyz, HTTP group reads, lag metrics): None unless this silo is the
    /// coordinator and still loading (or failed to load), or stopping. A silo that does not
    /// coordinate is ready: its group-grain calls are placed on the coordinator. Never creates
    /// the offsets partition (a probe on the first silo of a cluster must not place it on one broker).
    /// </summary>
    public GroupError Availability
    {
        get
        {
            if (_stopping)
            {
                return GroupError.NotCoordinator;
            }

            var replica = OffsetsReplica;
            bool local = replica is null ? _singleSilo || _catalog is null || _liveBrokers is null : replica.IsLeader;
            return local ? LoadState : GroupError.None;
        }
    }

    private GroupError LoadState =>
        _load.IsCompletedSuccessfully && _store.IsLoaded ? GroupError.None
        : _load.IsFaulted ? GroupError.CoordinatorNotAvailable // logged; the silo keeps serving data
        : GroupError.CoordinatorLoadInProgress;

    /// <summary>The offsets partition's replica on this silo; null while no silo created the partition.</summary>
    private PartitionReplica? OffsetsReplica =>
        _catalog is not null && _catalog.TryGet(TopicNames.ConsumerOffsets, out var topic) && topic.Replicas.Length > 0 ? topic.Replicas[0] : null;

    /// <summary>
    /// FindCoordinator: the broker leading the offsets partition (this one when the partition has
    /// no replication state: a single silo). Without a leader, or in a cluster that has not
    /// created the partition yet (its creation is started here), COORDINATOR_NOT_AVAILABLE.
    /// </summary>
    public (int NodeId, GroupError Error) Coordinator()
    {
        var replica = OffsetsReplica;
        if (replica is null)
        {
            if (_singleSilo || _catalog is null || _liveBrokers is null)
            {
                return (_nodeId, GroupError.None);
            }

            EnsureOffsetsTopic();
            return (-1, GroupError.CoordinatorNotAvailable);
        }

        var state = replica.State;
        return state.HasLeader ? (state.Leader, GroupError.None) : (-1, GroupError.CoordinatorNotAvailable);
    }

    /// <summary>
    /// Creates the offsets partition through its topic grain, once at a time per silo; the grain
    /// answers every silo but the first "already exists", and the caller's catalog gets the topic
    /// from the answer (or from the grain) at once rather than at the directory's push.
    /// </summary>
    private void EnsureOffsetsTopic()
    {
        if (Interlocked.CompareExchange(ref _creating, 1, 0) != 0)
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                var live = _liveBrokers!();
                short factor = (short)Math.Clamp(Settings.OffsetsTopicReplicationFactor, 1, Math.Max(1, live.Length));
                var grain = _grains.GetGrain<ITopicGrain>(TopicNames.ConsumerOffsets);
                var created = await grain.CreateAsync(new CreateTopicCall(1, factor, [], ValidateOnly: false, DefaultPartitions: 1, live, Internal: true)).WaitAsync(TimeSpan.FromSeconds(30), _stop.Token).ConfigureAwait(false);
                var snapshot = created.Snapshot ?? await grain.GetAsync().WaitAsync(TimeSpan.FromSeconds(30), _stop.Token).ConfigureAwait(false);
                if (snapshot is not null)
                {
                    _catalog!.Apply(snapshot);
                }

                if (created.IsOk)
                {
                    LogOffsetsTopicCreated(_logger, factor, snapshot?.States.FirstOrDefault()?.Leader ?? -1);
                }
            }
            catch (Exception ex) when (ex is TimeoutException or OrleansException or OperationCanceledException)
            {
                LogGrainCallFailed(_logger, ex);
            }
            finally
            {
                Volatile.Write(ref _creating, 0);
            }
        });
    }

    /// <summary>
    /// Starts the coordinator: a single silo loads its offsets in the background and returns at
    /// once; a cluster silo follows the offsets partition's role (loading when it leads).
    /// </summary>
    public void Start()
    {
        _started = true;
        if (OffsetsReplica is null && (_singleSilo || _catalog is null || _liveBrokers is null))
        {
            _load = Task.Run(LoadAsync);
        }
        else
        {
            _ = FollowRoleAsync();
        }
    }

    private void OnReplicaChanged(PartitionReplica replica, ReplicaTransition transition)
    {
        // Raised under the catalog's lock: only note it; the work runs outside, one change at a time.
        if (_started && replica.Partition == 0 && replica.Topic == TopicNames.ConsumerOffsets)
        {
            _ = FollowRoleAsync();
        }
    }

    /// <summary>
    /// Brings the view in line with this silo's role for the offsets partition (as it is now, so
    /// changes that came in a burst are handled once): leading at an epoch the view was not loaded
    /// at → reload; not leading → drop the view (and the snapshot: see <see cref="OffsetStore.Unload"/>)
    /// and tell this silo's group activations to go (their next call would anyway).
    /// </summary>
    private async Task FollowRoleAsync()
    {
        await _roleGate.WaitAsync().ConfigureAwait(false);
        try
        {
            var replica = OffsetsReplica;
            if (_stopping || replica is null)
            {
                return;
            }

            _store.Replica = replica;
            if (replica.IsLeader)
            {
                if (_loadedEpoch == replica.LeaderEpoch)
                {
                    return;
                }

                _loadedEpoch = replica.LeaderEpoch;
                await WhenLoadEndedAsync().ConfigureAwait(false);
                await ResignActivationsAsync().ConfigureAwait(false);
                LogLoadingAsLeader(_logger, replica.LeaderEpoch, replica.Log.LogEndOffset);
                _load = Task.Run(LoadAsync);
            }
            else
            {
                bool hadView = _loadedEpoch != -1 || _store.IsLoaded;
                _loadedEpoch = -1;
                await WhenLoadEndedAsync().ConfigureAwait(false);
                _store.Unload();
                if (hadView)
                {
                    LogResigned(_logger, replica.State.Leader);
                    await ResignActivationsAsync().ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _roleGate.Release();
        }
    }

    private Task WhenLoadEndedAsync() => _load.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);

    /// <summary>
    /// The group activations on this silo were built on a view that is gone: each is called once
    /// (its coordinator check deactivates it, answering its waiting members NOT_COORDINATOR).
    /// </summary>
    private async Task ResignActivationsAsync()
    {
        foreach (var (id, _) in _directory.Entries.ToList())
        {
            try
            {
                await Grain(id).DescribeAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is NotCoordinatorException || IsClusterFailure(ex))
            {
                // Expected: the activation found it is no longer on the coordinator.
            }

            _directory.Remove(id);
        }
    }

    /// <summary>Completes when loading has finished (tests, benchmarks).</summary>
    public Task WhenLoaded => _load;

    private async Task LoadAsync()
    {
        try
        {
            await LoadCoreAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogLoadFailed(_logger, ex);
            throw;
        }
    }

    private async Task LoadCoreAsync()
    {
        await LoadGate.ConfigureAwait(false);
        await _store.LoadAsync(_stop.Token).ConfigureAwait(false);
        // Groups that had members when the silo stopped come back Stable with their members'
        // session timers running: members that still heartbeat keep their generation, the others expire.
        foreach (var g in _store.Groups.ToList())
        {
            if (g.Metadata is { Members.Count: > 0 })
            {
                try
                {
                    await Grain(g.GroupId).DescribeAsync().WaitAsync(_stop.Token).ConfigureAwait(false);
                }
                catch (NotCoordinatorException)
                {
                    return; // leadership moved on while loading: the new leader loads
                }
            }
        }

        if (_expiryTimer is not null)
        {
            return; // a reload: the maintenance timers run already
        }

        _expiryTimer = _time.CreateTimer(_ => _ = RunMaintenanceAsync(expire: true), null, TimeSpan.FromMilliseconds(Settings.OffsetsRetentionCheckIntervalMs), TimeSpan.FromMilliseconds(Settings.OffsetsRetentionCheckIntervalMs));
        _snapshotTimer = _time.CreateTimer(_ => _ = RunMaintenanceAsync(expire: false), null, TimeSpan.FromMilliseconds(Settings.OffsetsSnapshotIntervalMs), TimeSpan.FromMilliseconds(Settings.OffsetsSnapshotIntervalMs));
    }

    private IConsumerGroupGrain Grain(string groupId) => _grains.GetGrain<IConsumerGroupGrain>(groupId);

    public Task<JoinGroupOutcome> JoinAsync(string groupId, JoinGroupCall call, CancellationToken cancellationToken = default) =>
        CallAsync(Grain(groupId).JoinAsync(call), e => JoinGroupOutcome.Failed(e, call.MemberId), cancellationToken);

    public Task<SyncGroupOutcome> SyncAsync(string groupId, string memberId, string? groupInstanceId, int generationId, string? protocolType, string? protocolName, Dictionary<string, byte[]> assignments, CancellationToken cancellationToken = default) =>
        CallAsync(Grain(groupId).SyncAsync(new SyncGroupCall(memberId, groupInstanceId, generationId, protocolType, protocolName, assignments)), SyncGroupOutcome.Failed, cancellationToken);

    public Task<GroupError> HeartbeatAsync(string groupId, string memberId, string? groupInstanceId, int generationId, CancellationToken cancellationToken = default) =>
        CallAsync(Grain(groupId).HeartbeatAsync(memberId, groupInstanceId, generationId), e => e, cancellationToken);

    public Task<List<GroupError>> LeaveAsync(string groupId, List<LeavingMember> members, CancellationToken cancellationToken = default) =>
        CallAsync(Grain(groupId).LeaveAsync(members), e => members.Select(_ => e).ToList(), cancellationToken);

    public Task<(GroupError Error, List<GroupError> PerItem)> CommitOffsetsAsync(string groupId, string memberId, string? groupInstanceId, int generationId, List<OffsetCommitItem> items, long retentionMs = -1, CancellationToken cancellationToken = default) =>
        CallAsync(Grain(groupId).CommitOffsetsAsync(new OffsetCommitCall(memberId, groupInstanceId, generationId, items, retentionMs)), e => (e, items.Select(_ => e).ToList()), cancellationToken);

    /// <summary>Committed offsets (a group never seen answers -1s). Null when the coordinator cannot answer now: the error says why.</summary>
    public async Task<(List<FetchedOffset>? Offsets, GroupError Error)> FetchOffsetsAsync(string groupId, IReadOnlyList<(string Topic, IReadOnlyList<int> Partitions)>? topics, CancellationToken cancellationToken = default)
    {
        if (_singleSilo)
        {
            // Every group lives here: the stored view has the offsets, and a read needs no activation.
            if (!_store.TryGet(groupId, out var stored))
            {
                stored = new StoredGroup(groupId);
            }

            return (stored.Fetch(topics), GroupError.None);
        }

        var asked = topics?.Select(t => new TopicPartitions(t.Topic, t.Partitions.ToList())).ToList();
        var offsets = await CallAsync<List<FetchedOffset>?>(Grain(groupId).FetchOffsetsAsync(asked)!, _ => null, cancellationToken).ConfigureAwait(false);
        return offsets is null ? (null, GroupError.CoordinatorNotAvailable) : (offsets, GroupError.None);
    }

    public Task<(GroupError Error, List<GroupError> PerItem)> DeleteOffsetsAsync(string groupId, List<TopicPartitionKey> partitions, CancellationToken cancellationToken = default) =>
        CallAsync(Grain(groupId).DeleteOffsetsAsync(partitions), e => (e, partitions.Select(_ => e).ToList()), cancellationToken);

    public Task<GroupError> DeleteAsync(string groupId, CancellationToken cancellationToken = default) =>
        CallAsync(Grain(groupId).DeleteAsync(), e => e, cancellationToken);

    /// <summary>
    /// A grain call whose failure is one of the cluster's (the call timed out, the grain's silo
    /// died or is stopping, the message was rejected) answers the error a Kafka client retries
    /// on: COORDINATOR_NOT_AVAILABLE makes it look the coordinator up again.
    /// </summary>
    private async Task<T> CallAsync<T>(Task<T> call, Func<GroupError, T> failed, CancellationToken cancellationToken)
    {
        try
        {
            return await call.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (NotCoordinatorException)
        {
            return failed(GroupError.NotCoordinator);
        }
        catch (Exception ex) when (IsClusterFailure(ex))
        {
            LogGrainCallFailed(_logger, ex);
            return failed(GroupError.CoordinatorNotAvailable);
        }
    }

    // SiloUnavailableException and OrleansMessageRejectionException are OrleansExceptions.
    private static bool IsClusterFailure(Exception ex) => ex is TimeoutException or OrleansException;

    /// <summary>
    /// DescribeGroups: a group this coordinator does not know is reported Dead with no members, as
    /// Kafka does. A group that is not activated has no members (groups with members are activated
    /// at load and stay so), so it is described from the stored view without activating it: lag
    /// scrapes (/metrics) must not keep every idle group in memory.
    /// </summary>
    public async Task<GroupDescription> DescribeAsync(string groupId, CancellationToken cancellationToken = default)
    {
        if (_singleSilo && !_directory.TryGet(groupId, out _))
        {
            return _store.TryGet(groupId, out var stored) && !stored.IsEmpty
                ? new GroupDescription(groupId, GroupState.Empty, stored.Metadata?.ProtocolType ?? "", "", [])
                : new GroupDescription(groupId, GroupState.Dead, "", "", []);
        }

        return await CallAsync(Grain(groupId).DescribeAsync(), e => new GroupDescription(groupId, GroupState.Dead, "", "", []), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>ListGroups: every group with members or stored offsets, with its state and protocol type.</summary>
    public List<(string GroupId, GroupState State, string ProtocolType)> List()
    {
        var result = new Dictionary<string, (GroupState, string)>(StringComparer.Ordinal);
        foreach (var g in _store.Groups)
        {
            var m = g.Metadata;
            if (m is null && g.OffsetCount == 0)
            {
                continue;
            }

            result[g.GroupId] = (m is { Members.Count: > 0 } ? GroupState.Stable : GroupState.Empty, m?.ProtocolType ?? "");
        }

        foreach (var (id, (state, protocolType)) in _directory.Entries)
        {
            if (state == GroupState.Dead || (state == GroupState.Empty && !result.ContainsKey(id)))
            {
                continue; // an activation with nothing stored and nobody in it is not a group yet
            }

            result[id] = (state, protocolType ?? "");
        }

        return result.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, kv.Value.Item1, kv.Value.Item2)).ToList();
    }

    /// <summary>
    /// Per-partition lag (log end − committed) of a group, with the member owning each partition
    /// when the group is stable; null for an unknown group. Partitions counted: every committed one
    /// and every assigned one.
    /// </summary>
    public async Task<GroupLag?> DescribeLagAsync(string groupId, CancellationToken cancellationToken = default)
    {
        var description = await DescribeAsync(groupId, cancellationToken).ConfigureAwait(false);
        if (description.State == GroupState.Dead)
        {
            return null;
        }

        var owners = new Dictionary<TopicPartitionKey, DescribedMember>();
        foreach (var m in description.Members)
        {
            if (!ConsumerProtocolCodec.TryDecodeAssignment(m.Assignment, out var assignment))
            {
                continue;
            }

            foreach (var (topic, partition) in assignment.Partitions)
            {
                owners[new TopicPartitionKey(topic, partition)] = m;
            }
        }

        var committed = new Dictionary<TopicPartitionKey, (long Offset, string? Metadata)>();
        if (OffsetsReplica is { IsLeader: false })
        {
            // Another broker coordinates: its view has the offsets (the group's grain runs there).
            var (offsets, _) = await FetchOffsetsAsync(groupId, null, cancellationToken).ConfigureAwait(false);
            foreach (var o in offsets ?? [])
            {
                if (o.Offset >= 0)
                {
                    committed[new TopicPartitionKey(o.Topic, o.Partition)] = (o.Offset, o.Metadata);
                }
            }
        }
        else if (_store.TryGet(groupId, out var stored))
        {
            foreach (var (key, value) in stored.SnapshotOffsets())
            {
                committed[key] = (value.Offset, value.Metadata);
            }
        }

        var partitions = new List<PartitionLag>();
        foreach (var key in committed.Keys.Union(owners.Keys).OrderBy(k => k.Topic, StringComparer.Ordinal).ThenBy(k => k.Partition))
        {
            long logEnd = _engine.TryGetPartition(key.Topic, key.Partition, out var log) ? log.HighWatermark : 0;
            bool has = committed.TryGetValue(key, out var c);
            owners.TryGetValue(key, out var owner);
            long? lag = has ? Math.Max(0, logEnd - c.Offset) : null;
            partitions.Add(new PartitionLag(key.Topic, key.Partition, has ? c.Offset : null, logEnd, lag, owner?.MemberId, owner?.ClientId, has ? c.Metadata : null));
        }

        return new GroupLag(groupId, description.State, partitions);
    }

    /// <summary>Runs offset expiry now (the retention check timer calls it too). Returns offsets expired.</summary>
    public async Task<int> ExpireOffsetsAsync(CancellationToken cancellationToken = default)
    {
        int expired = 0;
        long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        long retention = Settings.OffsetsRetentionMinutes * 60_000L;
        foreach (var g in _store.Groups.ToList())
        {
            bool active = _directory.TryGet(g.GroupId, out var entry) && entry.State != GroupState.Empty;
            if (!active && MayExpire(g, now, retention))
            {
                expired += await Grain(g.GroupId).ExpireOffsetsAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        if (expired > 0)
        {
            LogExpired(_logger, expired);
        }

        return expired;
    }

    /// <summary>A cheap look at the stored view so that idle groups are not activated every check.</summary>
    private static bool MayExpire(StoredGroup g, long now, long retention)
    {
        var m = g.Metadata;
        if (m is { Members.Count: > 0 })
        {
            return false;
        }

        if (m is not null && g.OffsetCount == 0)
        {
            return true;
        }

        foreach (var (_, v) in g.SnapshotOffsets())
        {
            long since = m?.ProtocolType is null ? v.CommitTimestamp : Math.Max(m.StateTimestamp, v.CommitTimestamp);
            if ((v.ExpireTimestamp > 0 && v.ExpireTimestamp <= now) || since + retention <= now)
            {
                return true;
            }
        }

        return false;
    }

    private async Task RunMaintenanceAsync(bool expire)
    {
        if (_stopping || Interlocked.Exchange(ref _maintenanceRunning, 1) != 0)
        {
            return;
        }

        try
        {
            if (expire)
            {
                await ExpireOffsetsAsync(_stop.Token).ConfigureAwait(false);
            }
            else
            {
                _store.WriteSnapshot();
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or UnauthorizedAccessException or ObjectDisposedException or NotCoordinatorException || IsClusterFailure(ex))
        {
            LogMaintenanceFailed(_logger, ex);
        }
        finally
        {
            Volatile.Write(ref _maintenanceRunning, 0);
        }
    }

    /// <summary>
    /// Silo stop: new group requests get NOT_COORDINATOR, waiting JoinGroup/SyncGroup calls are
    /// answered with it (so the listener's drain does not wait for a rebalance timeout), and the
    /// snapshot is written.
    /// </summary>
    public async Task StopAsync()
    {
        if (_stopping)
        {
            return;
        }

        _stopping = true;
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_expiryTimer is not null)
        {
            await _expiryTimer.DisposeAsync().ConfigureAwait(false);
        }

        if (_snapshotTimer is not null)
        {
            await _snapshotTimer.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var (id, _) in _directory.Entries.ToList())
        {
            try
            {
                await Grain(id).ShutdownAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsClusterFailure(ex))
            {
                LogGrainCallFailed(_logger, ex); // the grain's deactivation answers its waiters too
            }
        }

        // Let a load in progress see the cancellation and end before storage closes under it.
        await _load.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).ConfigureAwait(false);
        if (!_load.IsCompletedSuccessfully)
        {
            return; // nothing loaded: nothing to snapshot (a failed load was logged when it failed)
        }

        try
        {
            _store.WriteSnapshot(force: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogMaintenanceFailed(_logger, ex);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_catalog is not null)
        {
            _catalog.ReplicaChanged -= OnReplicaChanged;
        }

        await StopAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "Loading consumer groups from " + OffsetStore.TopicName + " failed; group requests get COORDINATOR_NOT_AVAILABLE, produce and fetch go on")]
    private static partial void LogLoadFailed(ILogger logger, Exception ex);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A consumer group grain call failed; the client is told COORDINATOR_NOT_AVAILABLE and retries")]
    private static partial void LogGrainCallFailed(ILogger logger, Exception ex);

    [LoggerMessage(Level = LogLevel.Information, Message = "Created " + OffsetStore.TopicName + " with replication factor {Factor}; broker {Leader} leads it and coordinates the groups")]
    private static partial void LogOffsetsTopicCreated(ILogger logger, int factor, int leader);

    [LoggerMessage(Level = LogLevel.Information, Message = "This broker leads " + OffsetStore.TopicName + "-0 at epoch {Epoch}: loading the groups from its {LogEnd} records before coordinating")]
    private static partial void LogLoadingAsLeader(ILogger logger, int epoch, long logEnd);

    [LoggerMessage(Level = LogLevel.Information, Message = "This broker no longer leads " + OffsetStore.TopicName + "-0 (broker {Leader} does): its groups move there")]
    private static partial void LogResigned(ILogger logger, int leader);

    [LoggerMessage(Level = LogLevel.Information, Message = "Expired {Count} committed offsets (offsets.retention.minutes)")]
    private static partial void LogExpired(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Group maintenance (expiry or snapshot) failed")]
    private static partial void LogMaintenanceFailed(ILogger logger, Exception ex);
}
