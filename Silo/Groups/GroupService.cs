using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Runtime;
using OrleansMQ.Protocol.Groups;
using OrleansMQ.Storage.Engine;

namespace OrleansMQ.Silo.Groups;

/// <summary>
/// The front of the group coordinator: loads the offsets partition at start (group requests get
/// COORDINATOR_LOAD_IN_PROGRESS until it is done), routes every call to the group's
/// <see cref="IConsumerGroupGrain"/> (wherever it lives in the cluster), expires offsets, writes the
/// offsets snapshot, and computes lag. Knows nothing of the wire format. A grain call that times
/// out or whose silo dies answers COORDINATOR_NOT_AVAILABLE: Kafka clients look the coordinator
/// up again and retry.
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

    /// <param name="singleSilo">
    /// True when this silo is the whole cluster: every group grain lives here, so reads of
    /// committed offsets and of idle groups come from the local stored view without a grain call.
    /// </param>
    public GroupService(IGrainFactory grains, OffsetStore store, GroupDirectory directory, GroupSettings settings, StorageEngine engine, ILogger<GroupService> logger, TimeProvider? time = null, bool singleSilo = true)
    {
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

    /// <summary>None when group requests can be served; otherwise the error to answer with.</summary>
    public GroupError Availability =>
        _stopping ? GroupError.NotCoordinator
        : _load.IsCompletedSuccessfully && _store.IsLoaded ? GroupError.None
        : _load.IsFaulted ? GroupError.CoordinatorNotAvailable // logged; the silo keeps serving data
        : GroupError.CoordinatorLoadInProgress;

    /// <summary>Starts loading in the background and returns at once.</summary>
    public void Start() => _load = Task.Run(LoadAsync);

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
                await Grain(g.GroupId).DescribeAsync().WaitAsync(_stop.Token).ConfigureAwait(false);
            }
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

        var committed = _store.TryGet(groupId, out var stored) ? stored.SnapshotOffsets().ToDictionary(kv => kv.Key, kv => kv.Value) : [];
        var partitions = new List<PartitionLag>();
        foreach (var key in committed.Keys.Union(owners.Keys).OrderBy(k => k.Topic, StringComparer.Ordinal).ThenBy(k => k.Partition))
        {
            long logEnd = _engine.TryGetPartition(key.Topic, key.Partition, out var log) ? log.HighWatermark : 0;
            committed.TryGetValue(key, out var c);
            owners.TryGetValue(key, out var owner);
            long? lag = c is null ? null : Math.Max(0, logEnd - c.Offset);
            partitions.Add(new PartitionLag(key.Topic, key.Partition, c?.Offset, logEnd, lag, owner?.MemberId, owner?.ClientId, c?.Metadata));
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
        catch (Exception ex) when (ex is IOException or OperationCanceledException or UnauthorizedAccessException or ObjectDisposedException)
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
        await StopAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "Loading consumer groups from " + OffsetStore.TopicName + " failed; group requests get COORDINATOR_NOT_AVAILABLE, produce and fetch go on")]
    private static partial void LogLoadFailed(ILogger logger, Exception ex);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A consumer group grain call failed; the client is told COORDINATOR_NOT_AVAILABLE and retries")]
    private static partial void LogGrainCallFailed(ILogger logger, Exception ex);

    [LoggerMessage(Level = LogLevel.Information, Message = "Expired {Count} committed offsets (offsets.retention.minutes)")]
    private static partial void LogExpired(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Group maintenance (expiry or snapshot) failed")]
    private static partial void LogMaintenanceFailed(ILogger logger, Exception ex);
}
