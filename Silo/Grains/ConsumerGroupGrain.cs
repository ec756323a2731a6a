using Microsoft.Extensions.DependencyInjection;
using Orleans;
using Orleans.Concurrency;
using Orleans.Placement;
using Orleans.Runtime;
using OrleansMQ.Silo.Groups;

namespace OrleansMQ.Silo.Grains;

/// <summary>
/// Owner of one consumer group (key: group id). Runs the group's <see cref="ConsumerGroup"/> state
/// machine and drives its timeouts with one grain timer, re-armed after every call to the
/// machine's next deadline.
/// <para>
/// Waiting: JoinGroup and SyncGroup answer only when the rebalance reaches them, so the grain is
/// reentrant and a call waits for its answer <em>outside</em> the machine: every call takes
/// <see cref="_machine"/> (one at a time, as a non-reentrant grain would run them), does its part,
/// releases it, and only then awaits what the machine handed back (the rebalance's answer, or the
/// commit's durability). Other members' joins, heartbeats and the timer run meanwhile.
/// </para>
/// <para>
/// Durable state is the group's records in the internal offsets partition of this silo's CommitLog
/// (<see cref="OffsetStore"/>), not grain storage: commits are too frequent for a state write each,
/// and the log gives them the same guarantee as data.
/// </para>
/// <para>
/// In a cluster the group lives on the group coordinator: the silo leading the offsets partition,
/// where <see cref="CoordinatorPlacement"/> activates it. Every call first checks that this silo
/// still has the loaded view (<see cref="EnsureCoordinator"/>): when leadership moved, the
/// activation deactivates and the call is answered NOT_COORDINATOR, so the client finds the new
/// coordinator and its next call activates the group there, from the view that silo loaded.
/// </para>
/// </summary>
[Reentrant]
[CoordinatorPlacement] // on the silo leading the offsets partition (the local silo until it is placed)
public sealed class ConsumerGroupGrain : Grain, IConsumerGroupGrain, IDisposable
{
    private readonly OffsetStore _store;
    private readonly GroupSettings _settings;
    private readonly GroupDirectory _directory;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _machine = new(1, 1);
    private ConsumerGroup _group = null!;
    private IGrainTimer? _timer;
    private long _timerDue = long.MaxValue;
    private int _viewVersion;

    /// <param name="time">Orleans' clock for grains: it drives the grain timers, so the machine's deadlines and its timer agree (tests give it a fake clock).</param>
    public ConsumerGroupGrain(OffsetStore store, GroupSettings settings, GroupDirectory directory, [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time)
    {
        _store = store;
        _settings = settings;
        _directory = directory;
        _time = time;
    }

    private string GroupId => this.GetPrimaryKeyString();

    public void Dispose() => _machine.Dispose();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _viewVersion = _store.ViewVersion;
        _group = NewGroup();
        AfterCall();
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        // Anyone still waiting (a silo stopping, or Orleans moving the grain) finds the coordinator again.
        _group.Shutdown();
        _timer?.Dispose();
        _store.Forget(_group.Stored);
        _directory.Remove(GroupId);
        return Task.CompletedTask;
    }

    public Task<JoinGroupOutcome> JoinAsync(JoinGroupCall join) =>
        RunThenAwaitAsync(() => _group.JoinAsync(join));

    public Task<SyncGroupOutcome> SyncAsync(SyncGroupCall sync) =>
        RunThenAwaitAsync(() => _group.SyncAsync(sync.MemberId, sync.GroupInstanceId, sync.GenerationId, sync.ProtocolType, sync.ProtocolName, sync.Assignments));

    public Task<GroupError> HeartbeatAsync(string memberId, string? groupInstanceId, int generationId) =>
        RunAsync(() => Task.FromResult(_group.Heartbeat(memberId, groupInstanceId, generationId)));

    public Task<List<GroupError>> LeaveAsync(List<LeavingMember> members) =>
        RunAsync(() => Task.FromResult(_group.Leave(members)));

    /// <summary>
    /// Throws <see cref="NotCoordinatorException"/> (and deactivates) when this silo no longer
    /// has the offsets view: it stopped leading the offsets partition, or is reloading it. A view
    /// reloaded since activation (this silo led, lost and regained the partition) restarts the
    /// group from the new view: the old one's members are gone with it and rejoin.
    /// </summary>
    private void EnsureCoordinator()
    {
        if (!_store.IsLoaded)
        {
            DeactivateOnIdle();
            throw new NotCoordinatorException($"This broker no longer coordinates group '{GroupId}'.");
        }

        int version = _store.ViewVersion;
        if (version != _viewVersion)
        {
            _viewVersion = version;
            _group.Shutdown();
            _group = NewGroup();
        }
    }

    /// <summary>
    /// The checks and the append's start happen in order with the other calls; the wait for the
    /// flush does not hold the machine, so concurrent commits share one group commit.
    /// </summary>
    public Task<(GroupError Error, List<GroupError> PerItem)> CommitOffsetsAsync(OffsetCommitCall commit) =>
        RunThenAwaitAsync(() => Task.FromResult(_group.CommitOffsetsAsync(commit.MemberId, commit.GroupInstanceId, commit.GenerationId, commit.Items, commit.RetentionMs)));

    public Task<List<FetchedOffset>> FetchOffsetsAsync(List<TopicPartitions>? topics)
    {
        EnsureCoordinator();
        return Task.FromResult(_group.FetchOffsets(topics?.Select(t => (t.Topic, (IReadOnlyList<int>)t.Partitions)).ToList()));
    }

    public Task<(GroupError Error, List<GroupError> PerItem)> DeleteOffsetsAsync(List<TopicPartitionKey> partitions) =>
        RunAsync(() => _group.DeleteOffsetsAsync(partitions));

    public Task<GroupError> DeleteAsync() => RunAsync(() => _group.DeleteAsync());

    public Task<int> ExpireOffsetsAsync() => RunAsync(() => _group.ExpireOffsetsAsync());

    public Task<GroupDescription> DescribeAsync()
    {
        EnsureCoordinator();
        return Task.FromResult(_group.Describe());
    }

    public async Task ShutdownAsync()
    {
        await _machine.WaitAsync().ConfigureAwait(true);
        try
        {
            _group.Shutdown();
            _timer?.Dispose();
            _timer = null;
            _timerDue = long.MaxValue;
        }
        finally
        {
            _machine.Release();
        }
    }

    /// <summary>A call that holds the machine until it completes (its awaits are the log appends of a deletion or expiry).</summary>
    private async Task<T> RunAsync<T>(Func<Task<T>> call)
    {
        await _machine.WaitAsync().ConfigureAwait(true);
        try
        {
            EnsureCoordinator();
            var result = await call().ConfigureAwait(true);
            AfterCall();
            return result;
        }
        finally
        {
            _machine.Release();
        }
    }

    /// <summary>
    /// A call whose answer comes later (the rebalance reaching the member, a commit's flush): its
    /// part of the machine runs holding it, the answer is awaited after releasing it.
    /// </summary>
    private async Task<T> RunThenAwaitAsync<T>(Func<Task<Task<T>>> call) =>
        await (await RunAsync(call).ConfigureAwait(true)).ConfigureAwait(true);

    private ConsumerGroup NewGroup() => new(GroupId, _settings, _time, _store, _store.GetOrAdd(GroupId));

    private async Task OnTimerAsync(CancellationToken cancellationToken)
    {
        await _machine.WaitAsync(cancellationToken).ConfigureAwait(true);
        try
        {
            _timer?.Dispose();
            _timer = null;
            _timerDue = long.MaxValue;
            if (!_store.IsLoaded)
            {
                DeactivateOnIdle(); // leadership moved: the new coordinator runs the group's deadlines
                return;
            }

            await _group.TickAsync().ConfigureAwait(true);
            AfterCall();
        }
        finally
        {
            _machine.Release();
        }
    }

    /// <summary>After each call: publish the state for ListGroups, and arm the timer for the machine's next deadline.</summary>
    private void AfterCall()
    {
        if (_group.State == GroupState.Dead)
        {
            // Deleted (DeleteGroups or expiry): the next call starts a brand-new group under the same id.
            _store.Forget(_group.Stored);
            _group = NewGroup();
        }

        if (_group.Exists)
        {
            _directory.Publish(GroupId, _group.State, _group.ProtocolType);
        }
        else
        {
            _directory.Remove(GroupId);
        }

        long? next = _group.NextDeadlineMs;
        if (next is not { } due || (_timer is not null && _timerDue <= due))
        {
            return; // an earlier timer is armed; when it fires, it re-arms for whatever is next
        }

        _timer?.Dispose();
        _timerDue = due;
        long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        // KeepAlive: a group whose members went quiet must stay to expire them (activation
        // collection would otherwise drop it with its timers, and nobody would rebalance).
        _timer = this.RegisterGrainTimer(OnTimerAsync, new GrainTimerCreationOptions(TimeSpan.FromMilliseconds(Math.Max(0, due - now)), Timeout.InfiniteTimeSpan)
        {
            Interleave = true,
            KeepAlive = _group.HasLiveState,
        });
    }
}
