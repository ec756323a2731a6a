using OrleansMQ.Silo.Groups;

namespace OrleansMQ.Silo.Grains;

/// <summary>
/// Owner of one consumer group (key: group id). Runs the group's <see cref="ConsumerGroup"/> state
/// machine on the grain's turn and drives its timeouts with one grain timer, re-armed after every
/// call to the machine's next deadline. Its durable state is the group's records in the internal
/// offsets partition (<see cref="OffsetStore"/>), not a state-store file: commits are too frequent
/// for a file per write, and the log gives them the same guarantee as data.
/// </summary>
public sealed class ConsumerGroupGrain : Grain
{
    private readonly OffsetStore _store;
    private readonly GroupSettings _settings;
    private readonly GroupDirectory _directory;
    private ConsumerGroup _group = null!;
    private IDisposable? _timer;
    private long _timerDue = long.MaxValue;

    public ConsumerGroupGrain(OffsetStore store, GroupSettings settings, GroupDirectory directory)
    {
        _store = store;
        _settings = settings;
        _directory = directory;
    }

    /// <summary>A group with members or a rebalance in progress has timers to honour: it stays in memory.</summary>
    protected override bool CanDeactivate => !_group.HasLiveState;

    protected override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _group = NewGroup();
        AfterCall();
        return Task.CompletedTask;
    }

    protected override Task OnDeactivateAsync(CancellationToken cancellationToken)
    {
        _store.Forget(_group.Stored);
        _directory.Remove(Key);
        return Task.CompletedTask;
    }

    public async Task<Task<JoinGroupOutcome>> JoinAsync(JoinGroupCall call)
    {
        var pending = await _group.JoinAsync(call).ConfigureAwait(false);
        AfterCall();
        return pending;
    }

    public async Task<Task<SyncGroupOutcome>> SyncAsync(string memberId, string? groupInstanceId, int generationId, string? protocolType, string? protocolName, IReadOnlyDictionary<string, byte[]> assignments)
    {
        var pending = await _group.SyncAsync(memberId, groupInstanceId, generationId, protocolType, protocolName, assignments).ConfigureAwait(false);
        AfterCall();
        return pending;
    }

    public Task<GroupError> HeartbeatAsync(string memberId, string? groupInstanceId, int generationId)
    {
        var error = _group.Heartbeat(memberId, groupInstanceId, generationId);
        AfterCall();
        return Task.FromResult(error);
    }

    public Task<List<GroupError>> LeaveAsync(IReadOnlyList<LeavingMember> members)
    {
        var errors = _group.Leave(members);
        AfterCall();
        return Task.FromResult(errors);
    }

    /// <summary>The checks and the append run on the turn; the returned task (durability) is awaited off it.</summary>
    public Task<Task<(GroupError Error, List<GroupError> PerItem)>> CommitOffsetsAsync(string memberId, string? groupInstanceId, int generationId, IReadOnlyList<OffsetCommitItem> items, long retentionMs)
    {
        var pending = _group.CommitOffsetsAsync(memberId, groupInstanceId, generationId, items, retentionMs);
        AfterCall();
        return Task.FromResult(pending);
    }

    public async Task<(GroupError Error, List<GroupError> PerItem)> DeleteOffsetsAsync(IReadOnlyList<TopicPartitionKey> partitions)
    {
        var result = await _group.DeleteOffsetsAsync(partitions).ConfigureAwait(false);
        AfterCall();
        return result;
    }

    public async Task<GroupError> DeleteAsync()
    {
        var error = await _group.DeleteAsync().ConfigureAwait(false);
        AfterCall();
        return error;
    }

    public async Task<int> ExpireOffsetsAsync()
    {
        int expired = await _group.ExpireOffsetsAsync().ConfigureAwait(false);
        AfterCall();
        return expired;
    }

    public Task<GroupDescription> DescribeAsync() => Task.FromResult(_group.Describe());

    /// <summary>Silo stop: answers every waiting JoinGroup/SyncGroup with NOT_COORDINATOR.</summary>
    public Task<bool> ShutdownAsync()
    {
        _group.Shutdown();
        _timer?.Dispose();
        _timer = null;
        return Task.FromResult(true);
    }

    private ConsumerGroup NewGroup() => new(Key, _settings, Time, _store, _store.GetOrAdd(Key));

    private async Task OnTimerAsync()
    {
        _timer = null;
        _timerDue = long.MaxValue;
        await _group.TickAsync().ConfigureAwait(false);
        AfterCall();
    }

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
            _directory.Publish(Key, _group.State, _group.ProtocolType);
        }
        else
        {
            _directory.Remove(Key);
        }

        long? next = _group.NextDeadlineMs;
        if (next is not { } due || (_timer is not null && _timerDue <= due))
        {
            return; // an earlier timer is armed; when it fires, it re-arms for whatever is next
        }

        _timer?.Dispose();
        _timerDue = due;
        long now = Time.GetUtcNow().ToUnixTimeMilliseconds();
        _timer = RegisterTimer(OnTimerAsync, TimeSpan.FromMilliseconds(Math.Max(0, due - now)));
    }
}
