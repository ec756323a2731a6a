using System.Text;
using OrleansMQ.Protocol.Groups;

namespace OrleansMQ.Silo.Groups;

/// <summary>
/// The classic Kafka group protocol for one group: members, generations, protocol selection,
/// the leader's assignment, session and rebalance timeouts, static membership, and committed
/// offsets. It is a plain state machine: the caller (the group's grain) runs one call at a time,
/// reads <see cref="NextDeadlineMs"/> after each call and calls <see cref="TickAsync"/> when it
/// passes. Clock: the injected <see cref="TimeProvider"/>. JoinGroup and SyncGroup answers may
/// wait for other members, so those calls return the answer's task instead of the answer.
/// </summary>
/// <remarks>
/// Transitions (Kafka's):
/// Empty → PreparingRebalance (first join; waits <c>InitialRebalanceDelayMs</c> for more members);
/// PreparingRebalance → CompletingRebalance when every member has rejoined or the rebalance
/// timeout passes (members that did not rejoin are dropped; the generation is bumped; the leader
/// gets everyone's metadata); CompletingRebalance → Stable when the leader's SyncGroup brings the
/// assignment (persisted first); Stable/CompletingRebalance → PreparingRebalance on a join with new
/// metadata, a leave or a session expiry; any → Empty when the last member goes; Dead once deleted.
/// </remarks>
public sealed class ConsumerGroup
{
    private readonly GroupSettings _settings;
    private readonly TimeProvider _time;
    private readonly IGroupLog _log;
    private readonly StoredGroup _stored;
    private readonly Dictionary<string, Member> _members = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _pendingMembers = new(StringComparer.Ordinal); // id → deadline
    private readonly Dictionary<string, string> _staticMembers = new(StringComparer.Ordinal); // instance id → member id
    private long _joinSequence;
    private long _joinDeadline = long.MaxValue;
    private long _initialDelayLimit;
    private bool _initialDelay;
    private long _syncDeadline = long.MaxValue;

    public ConsumerGroup(string groupId, GroupSettings settings, TimeProvider time, IGroupLog log, StoredGroup stored)
    {
        GroupId = groupId;
        _settings = settings;
        _time = time;
        _log = log;
        _stored = stored;
        StateTimestamp = NowMs;
        Restore(stored.Metadata);
    }

    public string GroupId { get; }

    public GroupState State { get; private set; }

    public int Generation { get; private set; }

    public string? ProtocolType { get; private set; }

    public string? ProtocolName { get; private set; }

    public string? LeaderId { get; private set; }

    /// <summary>When the group entered its state (unix ms); offsets of an empty group expire from here.</summary>
    public long StateTimestamp { get; private set; }

    public int MemberCount => _members.Count;

    public IReadOnlyCollection<string> MemberIds => _members.Keys;

    public StoredGroup Stored => _stored;

    /// <summary>True when the group has anything worth keeping (members, a generation or offsets).</summary>
    public bool Exists => _members.Count > 0 || _pendingMembers.Count > 0 || Generation > 0 || !_stored.IsEmpty;

    /// <summary>True while anything is waiting on a timer (members, pending joins, a rebalance).</summary>
    public bool HasLiveState => _members.Count > 0 || _pendingMembers.Count > 0 || State is GroupState.PreparingRebalance or GroupState.CompletingRebalance;

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>The earliest time (unix ms) at which <see cref="TickAsync"/> has something to do; null when nothing is timed.</summary>
    public long? NextDeadlineMs
    {
        get
        {
            long next = long.MaxValue;
            foreach (var deadline in _pendingMembers.Values)
            {
                next = Math.Min(next, deadline);
            }

            foreach (var m in _members.Values)
            {
                if (m.AwaitingJoin is null && m.AwaitingSync is null)
                {
                    next = Math.Min(next, m.HeartbeatDeadline);
                }
            }

            if (State == GroupState.PreparingRebalance)
            {
                next = Math.Min(next, _joinDeadline);
            }
            else if (State == GroupState.CompletingRebalance)
            {
                next = Math.Min(next, _syncDeadline);
            }

            return next == long.MaxValue ? null : next;
        }
    }

    // ---------------------------------------------------------------- JoinGroup

    /// <summary>JoinGroup. The returned task is the answer, which may wait for the rebalance to complete.</summary>
    public async Task<Task<JoinGroupOutcome>> JoinAsync(JoinGroupCall call)
    {
        if (State == GroupState.Dead)
        {
            return Done(JoinGroupOutcome.Failed(GroupError.CoordinatorNotAvailable, call.MemberId));
        }

        if (call.SessionTimeoutMs < _settings.MinSessionTimeoutMs || call.SessionTimeoutMs > _settings.MaxSessionTimeoutMs)
        {
            return Done(JoinGroupOutcome.Failed(GroupError.InvalidSessionTimeout, call.MemberId));
        }

        if (call.ProtocolType.Length == 0 || call.Protocols.Count == 0 || !SupportsProtocols(call.ProtocolType, call.Protocols, call.MemberId))
        {
            return Done(JoinGroupOutcome.Failed(GroupError.InconsistentGroupProtocol, call.MemberId));
        }

        if (call.MemberId.Length == 0)
        {
            if (call.GroupInstanceId is { } instance && _staticMembers.TryGetValue(instance, out var oldId))
            {
                return await RejoinStaticMemberAsync(_members[oldId], call).ConfigureAwait(false);
            }

            if (_members.Count + _pendingMembers.Count >= _settings.MaxSize)
            {
                return Done(JoinGroupOutcome.Failed(GroupError.GroupMaxSizeReached));
            }

            string memberId = NewMemberId(call.GroupInstanceId ?? call.ClientId);
            if (call.GroupInstanceId is null && call.RequireKnownMemberId)
            {
                // KIP-394: hand out the id first, so a client that never comes back costs one
                // pending entry (expiring after the session timeout), not a rebalance.
                _pendingMembers[memberId] = NowMs + call.SessionTimeoutMs;
                return Done(JoinGroupOutcome.Failed(GroupError.MemberIdRequired, memberId));
            }

            return AddMemberAndRebalance(memberId, call);
        }

        if (_pendingMembers.Remove(call.MemberId))
        {
            return AddMemberAndRebalance(call.MemberId, call);
        }

        if (!_members.TryGetValue(call.MemberId, out var member))
        {
            return Done(JoinGroupOutcome.Failed(GroupError.UnknownMemberId, call.MemberId));
        }

        var fenced = CheckInstance(call.MemberId, call.GroupInstanceId);
        if (fenced != GroupError.None)
        {
            return Done(JoinGroupOutcome.Failed(fenced, call.MemberId));
        }

        switch (State)
        {
            case GroupState.PreparingRebalance:
                return UpdateMemberAndRebalance(member, call);
            case GroupState.CompletingRebalance:
                // A join repeated after the join phase ended (a lost response): same metadata gets the same answer.
                return member.Matches(call.Protocols)
                    ? Done(CurrentJoinAnswer(member))
                    : UpdateMemberAndRebalance(member, call);
            case GroupState.Stable:
                // The leader rejoining means it wants a new assignment; so does anyone with new metadata.
                return member.MemberId == LeaderId || !member.Matches(call.Protocols)
                    ? UpdateMemberAndRebalance(member, call)
                    : Done(CurrentJoinAnswer(member));
            default:
                return Done(JoinGroupOutcome.Failed(GroupError.UnknownMemberId, call.MemberId));
        }
    }

    private Task<JoinGroupOutcome> AddMemberAndRebalance(string memberId, JoinGroupCall call)
    {
        var member = new Member(memberId, call.GroupInstanceId, call.ClientId, call.ClientHost, ++_joinSequence);
        member.Update(call);
        member.AwaitingJoin = NewSource<JoinGroupOutcome>();
        _members[memberId] = member;
        if (call.GroupInstanceId is { } instance)
        {
            _staticMembers[instance] = memberId;
        }

        ProtocolType ??= call.ProtocolType;
        LeaderId ??= memberId;
        if (State == GroupState.PreparingRebalance && _initialDelay)
        {
            // Each newcomer during the initial delay buys the others another delay, up to the rebalance timeout.
            _joinDeadline = Math.Min(NowMs + _settings.InitialRebalanceDelayMs, _initialDelayLimit);
        }

        MaybePrepareRebalance();
        var task = member.AwaitingJoin.Task;
        TryCompleteJoin();
        return task;
    }

    private Task<JoinGroupOutcome> UpdateMemberAndRebalance(Member member, JoinGroupCall call)
    {
        member.Update(call);
        // A second join from the same member while one waits: the newer one stands, the older one is told to retry.
        member.AwaitingJoin?.TrySetResult(JoinGroupOutcome.Failed(GroupError.RebalanceInProgress, member.MemberId));
        member.AwaitingJoin = NewSource<JoinGroupOutcome>();
        MaybePrepareRebalance();
        var task = member.AwaitingJoin.Task;
        TryCompleteJoin();
        return task;
    }

    private async Task<Task<JoinGroupOutcome>> RejoinStaticMemberAsync(Member old, JoinGroupCall call)
    {
        // KIP-345: the instance id keeps its place; the old member id is fenced.
        string newId = NewMemberId(call.GroupInstanceId!);
        old.AwaitingJoin?.TrySetResult(JoinGroupOutcome.Failed(GroupError.FencedInstanceId, old.MemberId));
        old.AwaitingSync?.TrySetResult(SyncGroupOutcome.Failed(GroupError.FencedInstanceId));
        old.AwaitingJoin = null;
        old.AwaitingSync = null;
        string oldId = old.MemberId;
        _members.Remove(oldId);
        old.MemberId = newId;
        _members[newId] = old;
        _staticMembers[call.GroupInstanceId!] = newId;
        if (LeaderId == oldId)
        {
            LeaderId = newId;
        }

        bool sameProtocols = old.Matches(call.Protocols);
        old.Update(call);
        switch (State)
        {
            case GroupState.Stable when sameProtocols:
                // Nothing changes for the others: persist the new id and answer with the current generation.
                var error = await PersistGroupAsync().ConfigureAwait(false);
                if (error != GroupError.None)
                {
                    return Done(JoinGroupOutcome.Failed(error, newId));
                }

                old.HeartbeatDeadline = NowMs + old.SessionTimeoutMs;
                return Done(CurrentJoinAnswer(old));
            case GroupState.Stable:
            case GroupState.CompletingRebalance:
            case GroupState.PreparingRebalance:
                old.AwaitingJoin = NewSource<JoinGroupOutcome>();
                MaybePrepareRebalance();
                var task = old.AwaitingJoin.Task;
                TryCompleteJoin();
                return task;
            default:
                return Done(JoinGroupOutcome.Failed(GroupError.UnknownMemberId, newId));
        }
    }

    private JoinGroupOutcome CurrentJoinAnswer(Member member) =>
        new(GroupError.None, Generation, ProtocolType, ProtocolName, LeaderId ?? "", member.MemberId,
            member.MemberId == LeaderId ? CurrentMembers() : []);

    private List<JoinedMember> CurrentMembers()
    {
        var list = new List<JoinedMember>(_members.Count);
        foreach (var m in OrderedMembers())
        {
            list.Add(new JoinedMember(m.MemberId, m.GroupInstanceId, m.MetadataFor(ProtocolName)));
        }

        return list;
    }

    private IEnumerable<Member> OrderedMembers() => _members.Values.OrderBy(m => m.JoinSequence);

    private void MaybePrepareRebalance()
    {
        if (State is GroupState.Stable or GroupState.CompletingRebalance or GroupState.Empty)
        {
            PrepareRebalance();
        }
    }

    private void PrepareRebalance()
    {
        long now = NowMs;
        if (State == GroupState.CompletingRebalance)
        {
            // Assignments of the unfinished generation are void: whoever waits in SyncGroup rejoins.
            // An answered member's session restarts now: it was alive while it waited.
            foreach (var m in _members.Values)
            {
                m.Assignment = [];
                if (m.AwaitingSync is { } sync)
                {
                    m.AwaitingSync = null;
                    m.HeartbeatDeadline = now + m.SessionTimeoutMs;
                    sync.TrySetResult(SyncGroupOutcome.Failed(GroupError.RebalanceInProgress));
                }
            }
        }

        int rebalanceTimeout = _members.Count == 0 ? 0 : _members.Values.Max(m => m.RebalanceTimeoutMs);
        if (State == GroupState.Empty && _settings.InitialRebalanceDelayMs > 0)
        {
            _initialDelay = true;
            _joinDeadline = now + Math.Min(_settings.InitialRebalanceDelayMs, Math.Max(rebalanceTimeout, 1));
            _initialDelayLimit = now + Math.Max(rebalanceTimeout, _settings.InitialRebalanceDelayMs);
        }
        else
        {
            _initialDelay = false;
            _joinDeadline = now + rebalanceTimeout;
        }

        _syncDeadline = long.MaxValue;
        Transition(GroupState.PreparingRebalance);
    }

    private bool AllMembersJoined()
    {
        if (_pendingMembers.Count > 0)
        {
            return false;
        }

        foreach (var m in _members.Values)
        {
            if (m.AwaitingJoin is null)
            {
                return false;
            }
        }

        return true;
    }

    private void TryCompleteJoin()
    {
        if (State == GroupState.PreparingRebalance && !_initialDelay && AllMembersJoined())
        {
            _ = CompleteJoinAsync();
        }
    }

    /// <summary>
    /// Ends the join phase. Runs synchronously up to the persist of an emptied group; callers on
    /// the grain's turn may ignore the task because nothing after it reads state that a later call
    /// could change first.
    /// </summary>
    private async Task CompleteJoinAsync()
    {
        // Dynamic members that did not rejoin in time are gone; static ones keep their place.
        foreach (var m in _members.Values.Where(m => m.AwaitingJoin is null && m.GroupInstanceId is null).ToList())
        {
            RemoveMember(m, GroupError.UnknownMemberId);
        }

        _initialDelay = false;
        _joinDeadline = long.MaxValue;
        Generation++;
        long now = NowMs;
        if (_members.Count == 0)
        {
            ProtocolName = null;
            LeaderId = null;
            Transition(GroupState.Empty);
            await PersistGroupAsync().ConfigureAwait(false);
            return;
        }

        if (LeaderId is null || !_members.TryGetValue(LeaderId, out var leader) || leader.AwaitingJoin is null)
        {
            LeaderId = (OrderedMembers().FirstOrDefault(m => m.AwaitingJoin is not null) ?? OrderedMembers().First()).MemberId;
        }

        ProtocolName = SelectProtocol();
        Transition(GroupState.CompletingRebalance);
        _syncDeadline = now + _members.Values.Max(m => m.RebalanceTimeoutMs);
        var all = CurrentMembers();
        foreach (var m in _members.Values)
        {
            m.HeartbeatDeadline = now + m.SessionTimeoutMs;
            if (m.AwaitingJoin is { } source)
            {
                m.AwaitingJoin = null;
                source.TrySetResult(new JoinGroupOutcome(GroupError.None, Generation, ProtocolType, ProtocolName, LeaderId, m.MemberId, m.MemberId == LeaderId ? all : []));
            }
        }
    }

    private bool SupportsProtocols(string protocolType, IReadOnlyList<GroupProtocol> protocols, string joiningMemberId)
    {
        if (_members.Count == 0 || (_members.Count == 1 && _members.ContainsKey(joiningMemberId)))
        {
            return true;
        }

        if (!string.Equals(protocolType, ProtocolType, StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var p in protocols)
        {
            bool everyone = true;
            foreach (var m in _members.Values)
            {
                if (m.MemberId != joiningMemberId && !m.Supports(p.Name))
                {
                    everyone = false;
                    break;
                }
            }

            if (everyone)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Kafka's rule: among protocols every member supports, each member votes for its first; most votes wins.</summary>
    private string SelectProtocol()
    {
        var first = OrderedMembers().First();
        var candidates = first.Protocols.Select(p => p.Name).Where(n => _members.Values.All(m => m.Supports(n))).ToList();
        if (candidates.Count == 0)
        {
            // Cannot happen: joins without a common protocol are refused. Fall back to the first member's choice.
            return first.Protocols[0].Name;
        }

        var votes = candidates.ToDictionary(c => c, _ => 0, StringComparer.Ordinal);
        foreach (var m in _members.Values)
        {
            string vote = m.Protocols.Select(p => p.Name).First(n => votes.ContainsKey(n));
            votes[vote]++;
        }

        return candidates.OrderByDescending(c => votes[c]).First();
    }

    // ---------------------------------------------------------------- SyncGroup

    /// <summary>SyncGroup. The returned task is the answer, which waits for the leader's assignment.</summary>
    public async Task<Task<SyncGroupOutcome>> SyncAsync(string memberId, string? groupInstanceId, int generationId, string? protocolType, string? protocolName, IReadOnlyDictionary<string, byte[]> assignments)
    {
        var error = CheckMember(memberId, groupInstanceId, generationId);
        if (error != GroupError.None)
        {
            return Done(SyncGroupOutcome.Failed(error));
        }

        if ((protocolType is not null && protocolType != ProtocolType) || (protocolName is not null && protocolName != ProtocolName))
        {
            return Done(SyncGroupOutcome.Failed(GroupError.InconsistentGroupProtocol));
        }

        var member = _members[memberId];
        switch (State)
        {
            case GroupState.PreparingRebalance:
                return Done(SyncGroupOutcome.Failed(GroupError.RebalanceInProgress));
            case GroupState.Stable:
                member.HeartbeatDeadline = NowMs + member.SessionTimeoutMs;
                return Done(new SyncGroupOutcome(GroupError.None, ProtocolType, ProtocolName, member.Assignment));
            case GroupState.CompletingRebalance:
                member.AwaitingSync?.TrySetResult(SyncGroupOutcome.Failed(GroupError.RebalanceInProgress));
                member.AwaitingSync = NewSource<SyncGroupOutcome>();
                var task = member.AwaitingSync.Task;
                if (memberId == LeaderId)
                {
                    await CompleteSyncAsync(assignments).ConfigureAwait(false);
                }

                return task;
            default:
                return Done(SyncGroupOutcome.Failed(GroupError.UnknownMemberId));
        }
    }

    private async Task CompleteSyncAsync(IReadOnlyDictionary<string, byte[]> assignments)
    {
        foreach (var m in _members.Values)
        {
            m.Assignment = assignments.TryGetValue(m.MemberId, out var a) ? a : [];
        }

        int generation = Generation;
        var error = await PersistGroupAsync().ConfigureAwait(false);
        if (State != GroupState.CompletingRebalance || Generation != generation)
        {
            return;
        }

        if (error != GroupError.None)
        {
            // Nothing durable: every waiting member hears the error and the group rebalances.
            foreach (var m in _members.Values)
            {
                m.AwaitingSync?.TrySetResult(SyncGroupOutcome.Failed(GroupError.CoordinatorNotAvailable));
                m.AwaitingSync = null;
            }

            PrepareRebalance();
            return;
        }

        Transition(GroupState.Stable);
        _syncDeadline = long.MaxValue;
        long now = NowMs;
        foreach (var m in _members.Values)
        {
            m.HeartbeatDeadline = now + m.SessionTimeoutMs;
            if (m.AwaitingSync is { } source)
            {
                m.AwaitingSync = null;
                source.TrySetResult(new SyncGroupOutcome(GroupError.None, ProtocolType, ProtocolName, m.Assignment));
            }
        }
    }

    // ---------------------------------------------------------------- Heartbeat / LeaveGroup

    public GroupError Heartbeat(string memberId, string? groupInstanceId, int generationId)
    {
        var error = CheckMember(memberId, groupInstanceId, generationId);
        if (error != GroupError.None)
        {
            return error;
        }

        var member = _members[memberId];
        member.HeartbeatDeadline = NowMs + member.SessionTimeoutMs;
        return State switch
        {
            GroupState.PreparingRebalance => GroupError.RebalanceInProgress,
            GroupState.CompletingRebalance or GroupState.Stable => GroupError.None,
            _ => GroupError.UnknownMemberId,
        };
    }

    /// <summary>LeaveGroup: one error per member, in order.</summary>
    public List<GroupError> Leave(IReadOnlyList<LeavingMember> leaving)
    {
        var errors = new List<GroupError>(leaving.Count);
        foreach (var (memberId, instanceId) in leaving)
        {
            if (State == GroupState.Dead)
            {
                errors.Add(GroupError.CoordinatorNotAvailable);
                continue;
            }

            string id = memberId;
            if (instanceId is not null)
            {
                if (!_staticMembers.TryGetValue(instanceId, out var holder))
                {
                    errors.Add(GroupError.UnknownMemberId);
                    continue;
                }

                if (memberId.Length > 0 && memberId != holder)
                {
                    errors.Add(GroupError.FencedInstanceId);
                    continue;
                }

                id = holder;
            }

            if (_pendingMembers.Remove(id))
            {
                errors.Add(GroupError.None);
                TryCompleteJoin();
                continue;
            }

            if (!_members.TryGetValue(id, out var member))
            {
                errors.Add(GroupError.UnknownMemberId);
                continue;
            }

            RemoveMemberAndUpdateGroup(member);
            errors.Add(GroupError.None);
        }

        return errors;
    }

    private void RemoveMember(Member member, GroupError answer)
    {
        member.AwaitingJoin?.TrySetResult(JoinGroupOutcome.Failed(answer, member.MemberId));
        member.AwaitingSync?.TrySetResult(SyncGroupOutcome.Failed(answer));
        member.AwaitingJoin = null;
        member.AwaitingSync = null;
        _members.Remove(member.MemberId);
        if (member.GroupInstanceId is { } instance && _staticMembers.TryGetValue(instance, out var id) && id == member.MemberId)
        {
            _staticMembers.Remove(instance);
        }

        if (LeaderId == member.MemberId)
        {
            LeaderId = OrderedMembers().FirstOrDefault()?.MemberId;
        }
    }

    private void RemoveMemberAndUpdateGroup(Member member)
    {
        RemoveMember(member, GroupError.UnknownMemberId);
        switch (State)
        {
            case GroupState.PreparingRebalance:
                TryCompleteJoin();
                break;
            case GroupState.Stable:
            case GroupState.CompletingRebalance:
                PrepareRebalance();
                TryCompleteJoin();
                break;
        }
    }

    // ---------------------------------------------------------------- timers

    /// <summary>Expires what is due: pending members, silent members (session timeout), the join and sync phases (rebalance timeout).</summary>
    public async Task TickAsync()
    {
        long now = NowMs;
        foreach (var (id, deadline) in _pendingMembers.ToList())
        {
            if (deadline <= now)
            {
                _pendingMembers.Remove(id);
                TryCompleteJoin();
            }
        }

        foreach (var m in _members.Values.ToList())
        {
            if (_members.ContainsKey(m.MemberId) && m.AwaitingJoin is null && m.AwaitingSync is null && m.HeartbeatDeadline <= now)
            {
                RemoveMemberAndUpdateGroup(m);
            }
        }

        if (State == GroupState.PreparingRebalance && _joinDeadline <= now)
        {
            await CompleteJoinAsync().ConfigureAwait(false);
        }
        else if (State == GroupState.CompletingRebalance && _syncDeadline <= now)
        {
            // The leader never sent the assignment (or some members never asked): drop who did not sync and start over.
            foreach (var m in _members.Values.Where(m => m.AwaitingSync is null).ToList())
            {
                RemoveMember(m, GroupError.UnknownMemberId);
            }

            PrepareRebalance();
            TryCompleteJoin();
        }
    }

    // ---------------------------------------------------------------- offsets

    /// <summary>
    /// OffsetCommit: checks the member and generation (generation -1 with no members is a
    /// standalone commit) and appends, all before returning; the task completes at the storage's
    /// durability point. The caller need not hold the grain's turn while it waits, so with sync
    /// flush the commits of one group share a flush instead of queueing one flush each.
    /// </summary>
    public Task<(GroupError Error, List<GroupError> PerItem)> CommitOffsetsAsync(string memberId, string? groupInstanceId, int generationId, IReadOnlyList<OffsetCommitItem> items, long retentionMs = -1)
    {
        // Kafka's order of checks.
        GroupError error =
            State == GroupState.Dead ? GroupError.CoordinatorNotAvailable
            : generationId < 0 && State == GroupState.Empty ? GroupError.None // a standalone consumer (assign + commit)
            : !Exists ? GroupError.IllegalGeneration
            : State == GroupState.CompletingRebalance ? GroupError.RebalanceInProgress // the assignment is not known yet
            : CheckMember(memberId, groupInstanceId, generationId);
        var perItem = new List<GroupError>(items.Count);
        if (error != GroupError.None)
        {
            perItem.AddRange(Enumerable.Repeat(error, items.Count));
            return Task.FromResult((error, perItem));
        }

        if (_members.TryGetValue(memberId, out var member))
        {
            member.HeartbeatDeadline = NowMs + member.SessionTimeoutMs;
        }

        long now = NowMs;
        var records = new List<GroupLogRecord>(items.Count);
        foreach (var item in items)
        {
            if (item.Metadata is { } md && Encoding.UTF8.GetByteCount(md) > _settings.OffsetMetadataMaxBytes)
            {
                perItem.Add(GroupError.OffsetMetadataTooLarge);
                continue;
            }

            perItem.Add(GroupError.None);
            records.Add(new OffsetCommitRecord(GroupId, item.Topic, item.Partition, new CommittedOffset(item.Offset, item.LeaderEpoch, item.Metadata, now, retentionMs > 0 ? now + retentionMs : -1)));
        }

        if (records.Count == 0)
        {
            return Task.FromResult((GroupError.None, perItem));
        }

        var append = _log.AppendAsync(_stored, records);
        return append.IsCompletedSuccessfully && append.Result == GroupError.None
            ? Task.FromResult((GroupError.None, perItem))
            : AwaitCommitAsync(append, perItem);
    }

    private static async Task<(GroupError Error, List<GroupError> PerItem)> AwaitCommitAsync(Task<GroupError> append, List<GroupError> perItem)
    {
        var appendError = await append.ConfigureAwait(false);
        if (appendError != GroupError.None)
        {
            for (int i = 0; i < perItem.Count; i++)
            {
                if (perItem[i] == GroupError.None)
                {
                    perItem[i] = appendError;
                }
            }
        }

        return (GroupError.None, perItem);
    }

    /// <summary>OffsetFetch: the committed offsets of the given partitions (all when null); -1 where nothing is committed.</summary>
    public List<FetchedOffset> FetchOffsets(IReadOnlyList<(string Topic, IReadOnlyList<int> Partitions)>? topics) => _stored.Fetch(topics);

    /// <summary>OffsetDelete: refused for topics the live group subscribes to.</summary>
    public async Task<(GroupError Error, List<GroupError> PerItem)> DeleteOffsetsAsync(IReadOnlyList<TopicPartitionKey> partitions)
    {
        if (State == GroupState.Dead || !Exists)
        {
            return (GroupError.GroupIdNotFound, []);
        }

        HashSet<string>? subscribed = null;
        if (_members.Count > 0)
        {
            if (ProtocolType != ConsumerProtocolCodec.ProtocolType)
            {
                return (GroupError.NonEmptyGroup, []);
            }

            subscribed = new HashSet<string>(StringComparer.Ordinal);
            foreach (var m in _members.Values)
            {
                if (ConsumerProtocolCodec.TryDecodeSubscription(m.MetadataFor(ProtocolName), out var subscription))
                {
                    subscribed.UnionWith(subscription.Topics);
                }
            }
        }

        var perItem = new List<GroupError>(partitions.Count);
        var records = new List<GroupLogRecord>();
        foreach (var tp in partitions)
        {
            if (subscribed?.Contains(tp.Topic) == true)
            {
                perItem.Add(GroupError.GroupSubscribedToTopic);
                continue;
            }

            perItem.Add(GroupError.None);
            if (_stored.TryGetOffset(tp.Topic, tp.Partition, out _))
            {
                records.Add(new OffsetCommitRecord(GroupId, tp.Topic, tp.Partition, null));
            }
        }

        if (records.Count > 0)
        {
            var error = await _log.AppendAsync(_stored, records).ConfigureAwait(false);
            if (error != GroupError.None)
            {
                return (error, []);
            }
        }

        return (GroupError.None, perItem);
    }

    /// <summary>
    /// offsets.retention.minutes: a consumer group empty for longer than the retention loses all
    /// its offsets; a group that never had members (standalone commits) loses each offset that
    /// long after its commit. A group left with nothing is deleted. Returns offsets removed.
    /// </summary>
    public async Task<int> ExpireOffsetsAsync()
    {
        if (State != GroupState.Empty)
        {
            return 0;
        }

        long now = NowMs;
        long retention = _settings.OffsetsRetentionMinutes * 60_000L;
        var records = new List<GroupLogRecord>();
        foreach (var (key, value) in _stored.SnapshotOffsets())
        {
            bool expired = value.ExpireTimestamp > 0
                ? value.ExpireTimestamp <= now
                : ProtocolType is null
                    ? value.CommitTimestamp + retention <= now
                    : Math.Max(StateTimestamp, value.CommitTimestamp) + retention <= now;
            if (expired)
            {
                records.Add(new OffsetCommitRecord(GroupId, key.Topic, key.Partition, null));
            }
        }

        if (records.Count == _stored.OffsetCount && _stored.Metadata is not null)
        {
            // Nothing left: the group itself goes (Kafka turns an empty group without offsets Dead and drops it).
            records.Add(new GroupMetadataRecord(GroupId, null));
        }

        if (records.Count == 0)
        {
            return 0;
        }

        var error = await _log.AppendAsync(_stored, records).ConfigureAwait(false);
        if (error != GroupError.None)
        {
            return 0;
        }

        if (_stored.IsEmpty)
        {
            Transition(GroupState.Dead);
        }

        return records.Count(r => r is OffsetCommitRecord);
    }

    /// <summary>DeleteGroups: only an empty group; its offsets and metadata get tombstones and it is Dead.</summary>
    public async Task<GroupError> DeleteAsync()
    {
        if (State == GroupState.Dead || !Exists)
        {
            return GroupError.GroupIdNotFound;
        }

        if (State != GroupState.Empty)
        {
            return GroupError.NonEmptyGroup;
        }

        var records = new List<GroupLogRecord>();
        foreach (var (key, _) in _stored.SnapshotOffsets())
        {
            records.Add(new OffsetCommitRecord(GroupId, key.Topic, key.Partition, null));
        }

        records.Add(new GroupMetadataRecord(GroupId, null));
        var error = await _log.AppendAsync(_stored, records).ConfigureAwait(false);
        if (error != GroupError.None)
        {
            return error;
        }

        Transition(GroupState.Dead);
        return GroupError.None;
    }

    // ---------------------------------------------------------------- describe / shutdown

    public GroupDescription Describe()
    {
        var members = OrderedMembers().Select(m => State == GroupState.Stable
            ? new DescribedMember(m.MemberId, m.GroupInstanceId, m.ClientId, m.ClientHost, m.MetadataFor(ProtocolName), m.Assignment)
            : new DescribedMember(m.MemberId, m.GroupInstanceId, m.ClientId, m.ClientHost, [], [])).ToList();
        // A group with nothing (never used, or just deleted) is reported Dead, as Kafka reports groups it does not know.
        var state = State == GroupState.Empty && !Exists ? GroupState.Dead : State;
        return new GroupDescription(GroupId, state, ProtocolType ?? "", State == GroupState.Stable ? ProtocolName ?? "" : "", members);
    }

    /// <summary>The coordinator is going away: everyone waiting is told so, and will find it again.</summary>
    public void Shutdown()
    {
        foreach (var m in _members.Values)
        {
            m.AwaitingJoin?.TrySetResult(JoinGroupOutcome.Failed(GroupError.NotCoordinator, m.MemberId));
            m.AwaitingSync?.TrySetResult(SyncGroupOutcome.Failed(GroupError.NotCoordinator));
            m.AwaitingJoin = null;
            m.AwaitingSync = null;
        }
    }

    // ---------------------------------------------------------------- helpers

    private GroupError CheckMember(string memberId, string? groupInstanceId, int generationId)
    {
        if (State == GroupState.Dead)
        {
            return GroupError.CoordinatorNotAvailable;
        }

        var fenced = CheckInstance(memberId, groupInstanceId);
        if (fenced != GroupError.None)
        {
            return fenced;
        }

        if (!_members.ContainsKey(memberId))
        {
            return GroupError.UnknownMemberId;
        }

        return generationId != Generation ? GroupError.IllegalGeneration : GroupError.None;
    }

    private GroupError CheckInstance(string memberId, string? groupInstanceId)
    {
        if (groupInstanceId is null)
        {
            return GroupError.None;
        }

        if (!_staticMembers.TryGetValue(groupInstanceId, out var holder))
        {
            return GroupError.UnknownMemberId;
        }

        return holder == memberId ? GroupError.None : GroupError.FencedInstanceId;
    }

    private void Transition(GroupState state)
    {
        State = state;
        StateTimestamp = NowMs;
    }

    private async Task<GroupError> PersistGroupAsync()
    {
        var members = OrderedMembers().Select(m => new StoredMember(m.MemberId, m.GroupInstanceId, m.ClientId, m.ClientHost, m.RebalanceTimeoutMs, m.SessionTimeoutMs, m.MetadataFor(ProtocolName), m.Assignment)).ToList();
        var value = new GroupMetadataValue(ProtocolType, Generation, ProtocolName, LeaderId, StateTimestamp, members);
        return await _log.AppendAsync(_stored, [new GroupMetadataRecord(GroupId, value)]).ConfigureAwait(false);
    }

    /// <summary>Restores the last persisted generation: members keep heartbeating in it after a restart.</summary>
    private void Restore(GroupMetadataValue? metadata)
    {
        if (metadata is null)
        {
            State = GroupState.Empty;
            return;
        }

        Generation = metadata.Generation;
        ProtocolType = metadata.ProtocolType;
        ProtocolName = metadata.ProtocolName;
        long now = NowMs;
        foreach (var s in metadata.Members)
        {
            var m = new Member(s.MemberId, s.GroupInstanceId, s.ClientId, s.ClientHost, ++_joinSequence)
            {
                RebalanceTimeoutMs = s.RebalanceTimeoutMs,
                SessionTimeoutMs = s.SessionTimeoutMs,
                Protocols = ProtocolName is null ? [] : [new GroupProtocol(ProtocolName, s.Subscription)],
                Assignment = s.Assignment,
                HeartbeatDeadline = now + s.SessionTimeoutMs,
            };
            _members[m.MemberId] = m;
            if (m.GroupInstanceId is { } instance)
            {
                _staticMembers[instance] = m.MemberId;
            }
        }

        LeaderId = metadata.Leader is { } leader && _members.ContainsKey(leader) ? leader : _members.Keys.FirstOrDefault();
        State = _members.Count > 0 ? GroupState.Stable : GroupState.Empty;
        StateTimestamp = _members.Count > 0 ? now : metadata.StateTimestamp;
    }

    private static string NewMemberId(string prefix) => $"{prefix}-{Guid.NewGuid():D}";

    private static Task<T> Done<T>(T value) => Task.FromResult(value);

    private static TaskCompletionSource<T> NewSource<T>() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed class Member(string memberId, string? groupInstanceId, string clientId, string clientHost, long joinSequence)
    {
        public string MemberId { get; set; } = memberId;

        public string? GroupInstanceId { get; } = groupInstanceId;

        public string ClientId { get; private set; } = clientId;

        public string ClientHost { get; private set; } = clientHost;

        public long JoinSequence { get; } = joinSequence;

        public int SessionTimeoutMs { get; set; }

        public int RebalanceTimeoutMs { get; set; }

        public List<GroupProtocol> Protocols { get; set; } = [];

        public byte[] Assignment { get; set; } = [];

        public long HeartbeatDeadline { get; set; }

        public TaskCompletionSource<JoinGroupOutcome>? AwaitingJoin { get; set; }

        public TaskCompletionSource<SyncGroupOutcome>? AwaitingSync { get; set; }

        public void Update(JoinGroupCall call)
        {
            SessionTimeoutMs = call.SessionTimeoutMs;
            RebalanceTimeoutMs = call.RebalanceTimeoutMs;
            Protocols = call.Protocols;
            ClientId = call.ClientId;
            ClientHost = call.ClientHost;
        }

        public bool Supports(string protocol) => Protocols.Any(p => p.Name == protocol);

        public byte[] MetadataFor(string? protocol) => Protocols.FirstOrDefault(p => p.Name == protocol)?.Metadata ?? [];

        public bool Matches(List<GroupProtocol> protocols) =>
            protocols.Count == Protocols.Count
            && protocols.Zip(Protocols).All(pair => pair.First.Name == pair.Second.Name && pair.First.Metadata.AsSpan().SequenceEqual(pair.Second.Metadata));
    }
}
