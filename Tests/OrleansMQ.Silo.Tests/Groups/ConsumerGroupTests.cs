using OrleansMQ.Protocol.Groups;
using OrleansMQ.Silo.Groups;
using Xunit;

namespace OrleansMQ.Silo.Tests.Groups;

/// <summary>
/// The group state machine with a fake clock: every transition, session/rebalance/sync timeouts,
/// stale generations, duplicate joins, static membership, offsets, expiry and restore.
/// </summary>
public sealed class ConsumerGroupTests
{
    private const int Session = 10_000;
    private const int Rebalance = 30_000;

    private readonly FakeClock _clock = new();
    private readonly MemoryGroupLog _log = new();
    private readonly GroupSettings _settings = new() { InitialRebalanceDelayMs = 0 };
    private StoredGroup _stored = new("g");

    private ConsumerGroup NewGroup() => new("g", _settings, _clock, _log, _stored);

    private static readonly byte[] OrdersSubscription = ConsumerProtocolCodec.EncodeSubscription(new(["orders"]));

    private static JoinGroupCall Call(string memberId = "", string? instance = null, bool requireKnown = true, int session = Session, string protocolType = "consumer", params (string Name, byte[] Metadata)[] protocols) => new()
    {
        MemberId = memberId,
        GroupInstanceId = instance,
        ClientId = "client",
        ClientHost = "/127.0.0.1",
        SessionTimeoutMs = session,
        RebalanceTimeoutMs = Rebalance,
        ProtocolType = protocolType,
        Protocols = (protocols.Length == 0 ? [("range", OrdersSubscription)] : protocols).Select(p => new GroupProtocol(p.Name, p.Metadata)).ToList(),
        RequireKnownMemberId = requireKnown,
    };

    /// <summary>JoinGroup v4+ first round: MEMBER_ID_REQUIRED with the id to use.</summary>
    private static async Task<string> MemberIdAsync(ConsumerGroup g)
    {
        var first = await await g.JoinAsync(Call());
        Assert.Equal(GroupError.MemberIdRequired, first.Error);
        Assert.StartsWith("client-", first.MemberId, StringComparison.Ordinal);
        return first.MemberId;
    }

    /// <summary>Brings <paramref name="count"/> members to Stable with a trivial assignment; returns their ids (leader first).</summary>
    private static async Task<List<string>> StableAsync(ConsumerGroup g, int count)
    {
        var ids = new List<string>();
        for (int i = 0; i < count; i++)
        {
            ids.Add(await MemberIdAsync(g));
        }

        var joins = new List<Task<JoinGroupOutcome>>();
        foreach (var id in ids)
        {
            joins.Add(await g.JoinAsync(Call(id)));
        }

        var answers = await Task.WhenAll(joins);
        Assert.All(answers, a => Assert.Equal(GroupError.None, a.Error));
        string leader = answers[0].LeaderId;
        var assignments = ids.ToDictionary(id => id, id => new byte[] { (byte)ids.IndexOf(id) });
        var syncs = new List<Task<SyncGroupOutcome>>();
        foreach (var id in ids.Where(id => id != leader))
        {
            syncs.Add(await g.SyncAsync(id, null, g.Generation, null, null, new Dictionary<string, byte[]>()));
        }

        syncs.Add(await g.SyncAsync(leader, null, g.Generation, null, null, assignments));
        var synced = await Task.WhenAll(syncs);
        Assert.All(synced, s => Assert.Equal(GroupError.None, s.Error));
        Assert.Equal(GroupState.Stable, g.State);
        return [leader, .. ids.Where(id => id != leader)];
    }

    [Fact]
    public async Task First_join_gets_a_member_id_then_the_rejoin_completes_the_generation()
    {
        var g = NewGroup();
        Assert.Equal(GroupState.Empty, g.State);
        string id = await MemberIdAsync(g);
        Assert.Equal(GroupState.Empty, g.State); // a pending member is not a member yet
        var answer = await await g.JoinAsync(Call(id));
        Assert.Equal(GroupError.None, answer.Error);
        Assert.Equal(1, answer.GenerationId);
        Assert.Equal(id, answer.LeaderId);
        Assert.Equal(id, answer.MemberId);
        Assert.Equal("range", answer.ProtocolName);
        Assert.Equal("consumer", answer.ProtocolType);
        var member = Assert.Single(answer.Members);
        Assert.Equal(OrdersSubscription, member.Metadata);
        Assert.Equal(GroupState.CompletingRebalance, g.State);
    }

    [Fact]
    public async Task Join_before_v4_is_admitted_without_the_member_id_round()
    {
        var g = NewGroup();
        var answer = await await g.JoinAsync(Call(requireKnown: false));
        Assert.Equal(GroupError.None, answer.Error);
        Assert.NotEmpty(answer.MemberId);
        Assert.Equal(1, g.MemberCount);
    }

    [Fact]
    public async Task Join_waits_for_every_member_and_only_the_leader_gets_the_member_list()
    {
        var g = NewGroup();
        string a = await MemberIdAsync(g);
        string b = await MemberIdAsync(g);
        var joinA = await g.JoinAsync(Call(a));
        Assert.False(joinA.IsCompleted); // b is still pending
        var joinB = await g.JoinAsync(Call(b));
        var (ra, rb) = (await joinA, await joinB);
        Assert.Equal(ra.GenerationId, rb.GenerationId);
        Assert.Equal(a, ra.LeaderId);
        Assert.Equal(a, rb.LeaderId);
        Assert.Equal([a, b], ra.Members.Select(m => m.MemberId));
        Assert.Empty(rb.Members);
    }

    [Fact]
    public async Task Sync_hands_out_the_leaders_assignment_after_persisting_it()
    {
        var g = NewGroup();
        string a = await MemberIdAsync(g);
        string b = await MemberIdAsync(g);
        var joins = new[] { await g.JoinAsync(Call(a)), await g.JoinAsync(Call(b)) };
        await Task.WhenAll(joins);
        int generation = g.Generation;

        var followerSync = await g.SyncAsync(b, null, generation, null, null, new Dictionary<string, byte[]>());
        Assert.False(followerSync.IsCompleted); // waits for the leader
        Assert.Equal(GroupState.CompletingRebalance, g.State);

        var leaderSync = await g.SyncAsync(a, null, generation, "consumer", "range", new Dictionary<string, byte[]> { [a] = [1, 2], [b] = [3] });
        Assert.Equal([1, 2], (await leaderSync).Assignment);
        Assert.Equal([3], (await followerSync).Assignment);
        Assert.Equal(GroupState.Stable, g.State);

        var persisted = _log.LastMetadata!;
        Assert.Equal(generation, persisted.Generation);
        Assert.Equal("range", persisted.ProtocolName);
        Assert.Equal(a, persisted.Leader);
        Assert.Equal([[1, 2], [3]], persisted.Members.Select(m => m.Assignment));

        // A sync in Stable answers with the current assignment at once.
        Assert.Equal([3], (await await g.SyncAsync(b, null, generation, null, null, new Dictionary<string, byte[]>())).Assignment);
    }

    [Fact]
    public async Task Sync_errors_unknown_member_stale_generation_rebalancing_and_protocol_mismatch()
    {
        var g = NewGroup();
        var ids = await StableAsync(g, 2);
        var empty = new Dictionary<string, byte[]>();
        Assert.Equal(GroupError.UnknownMemberId, (await await g.SyncAsync("nobody", null, g.Generation, null, null, empty)).Error);
        Assert.Equal(GroupError.IllegalGeneration, (await await g.SyncAsync(ids[1], null, g.Generation - 1, null, null, empty)).Error);
        Assert.Equal(GroupError.InconsistentGroupProtocol, (await await g.SyncAsync(ids[1], null, g.Generation, "consumer", "roundrobin", empty)).Error);

        string c = await MemberIdAsync(g);
        _ = await g.JoinAsync(Call(c)); // starts a rebalance
        Assert.Equal(GroupState.PreparingRebalance, g.State);
        Assert.Equal(GroupError.RebalanceInProgress, (await await g.SyncAsync(ids[1], null, g.Generation, null, null, empty)).Error);
    }

    [Fact]
    public async Task Heartbeat_answers_by_state_and_generation()
    {
        var g = NewGroup();
        var ids = await StableAsync(g, 2);
        Assert.Equal(GroupError.None, g.Heartbeat(ids[0], null, g.Generation));
        Assert.Equal(GroupError.IllegalGeneration, g.Heartbeat(ids[0], null, g.Generation + 1));
        Assert.Equal(GroupError.UnknownMemberId, g.Heartbeat("ghost", null, g.Generation));

        string c = await MemberIdAsync(g);
        var joinC = await g.JoinAsync(Call(c));
        Assert.Equal(GroupState.PreparingRebalance, g.State);
        Assert.Equal(GroupError.RebalanceInProgress, g.Heartbeat(ids[0], null, g.Generation));

        // Both old members rejoin: the generation completes with three.
        var rejoins = new[] { await g.JoinAsync(Call(ids[0])), await g.JoinAsync(Call(ids[1])) };
        var all = await Task.WhenAll([joinC, .. rejoins]);
        Assert.All(all, r => Assert.Equal(2, r.GenerationId));
        Assert.Equal(GroupState.CompletingRebalance, g.State);
        Assert.Equal(GroupError.None, g.Heartbeat(ids[1], null, 2)); // allowed while the assignment is on its way
    }

    [Fact]
    public async Task A_silent_member_expires_after_its_session_timeout_and_the_rest_rebalance()
    {
        var g = NewGroup();
        var ids = await StableAsync(g, 2);
        int generation = g.Generation;
        _clock.AdvanceMs(Session / 2);
        Assert.Equal(GroupError.None, g.Heartbeat(ids[0], null, generation)); // only the leader keeps heartbeating
        await g.TickAsync();
        Assert.Equal(2, g.MemberCount);
        _clock.AdvanceMs(Session / 2);
        Assert.Equal(GroupError.None, g.Heartbeat(ids[0], null, generation));
        await g.TickAsync();

        Assert.Equal(1, g.MemberCount);
        Assert.Equal(GroupState.PreparingRebalance, g.State);
        Assert.Equal(GroupError.RebalanceInProgress, g.Heartbeat(ids[0], null, generation));
        var rejoin = await await g.JoinAsync(Call(ids[0]));
        Assert.Equal(generation + 1, rejoin.GenerationId);
        Assert.Equal([ids[0]], rejoin.Members.Select(m => m.MemberId));
    }

    [Fact]
    public async Task NextDeadline_tells_the_grain_when_a_session_expires()
    {
        var g = NewGroup();
        var ids = await StableAsync(g, 1);
        Assert.Equal(_clock.NowMs + Session, g.NextDeadlineMs);
        _clock.AdvanceMs(Session - 1);
        await g.TickAsync();
        Assert.Equal(1, g.MemberCount);
        _clock.AdvanceMs(1);
        await g.TickAsync();
        Assert.Equal(0, g.MemberCount);
        Assert.Equal(GroupState.Empty, g.State); // the last member gone: the rebalance completes empty at once
        Assert.Null(g.NextDeadlineMs);
        _ = ids;
    }

    [Fact]
    public async Task Members_that_do_not_rejoin_within_the_rebalance_timeout_are_dropped()
    {
        var g = NewGroup();
        var ids = await StableAsync(g, 3);
        var join0 = await g.JoinAsync(Call(ids[0], protocols: ("range", ConsumerProtocolCodec.EncodeSubscription(new(["orders", "more"])))));
        Assert.Equal(GroupState.PreparingRebalance, g.State);
        var join1 = await g.JoinAsync(Call(ids[1]));
        // ids[2] keeps heartbeating but never rejoins.
        for (int elapsed = 0; elapsed < Rebalance; elapsed += 1000)
        {
            _clock.AdvanceMs(1000);
            g.Heartbeat(ids[2], null, g.Generation);
            await g.TickAsync();
        }

        var (r0, r1) = (await join0, await join1);
        Assert.Equal(GroupError.None, r0.Error);
        Assert.Equal(2, g.MemberCount);
        Assert.DoesNotContain(ids[2], r0.Members.Select(m => m.MemberId));
        Assert.Equal(r0.GenerationId, r1.GenerationId);
        Assert.Equal(GroupError.UnknownMemberId, g.Heartbeat(ids[2], null, r0.GenerationId));
    }

    [Fact]
    public async Task A_leader_that_never_syncs_is_dropped_after_the_rebalance_timeout()
    {
        var g = NewGroup();
        string a = await MemberIdAsync(g);
        string b = await MemberIdAsync(g);
        await Task.WhenAll(await g.JoinAsync(Call(a)), await g.JoinAsync(Call(b)));
        var followerSync = await g.SyncAsync(b, null, g.Generation, null, null, new Dictionary<string, byte[]>());
        _clock.AdvanceMs(Rebalance);
        await g.TickAsync();
        Assert.Equal(GroupError.RebalanceInProgress, (await followerSync).Error); // told to rejoin
        Assert.Equal(1, g.MemberCount);
        Assert.Equal(GroupError.UnknownMemberId, g.Heartbeat(a, null, g.Generation));
        var rejoin = await await g.JoinAsync(Call(b));
        Assert.Equal(b, rejoin.LeaderId);
    }

    [Fact]
    public async Task Leave_rebalances_and_the_last_leave_empties_the_group()
    {
        var g = NewGroup();
        var ids = await StableAsync(g, 2);
        int generation = g.Generation;
        Assert.Equal([GroupError.None], g.Leave([new LeavingMember(ids[1], null)]));
        Assert.Equal(GroupState.PreparingRebalance, g.State);
        Assert.Equal([GroupError.UnknownMemberId], g.Leave([new LeavingMember("ghost", null)]));
        var rejoin = await await g.JoinAsync(Call(ids[0]));
        Assert.Equal(generation + 1, rejoin.GenerationId);
        Assert.Single(rejoin.Members);

        Assert.Equal([GroupError.None], g.Leave([new LeavingMember(ids[0], null)]));
        Assert.Equal(GroupState.Empty, g.State);
        Assert.Equal(generation + 2, g.Generation);
        Assert.Empty(_log.LastMetadata!.Members); // Kafka persists the emptied group too
    }

    [Fact]
    public async Task Leaving_during_the_join_phase_lets_it_complete_without_the_leaver()
    {
        var g = NewGroup();
        var ids = await StableAsync(g, 2);
        var join0 = await g.JoinAsync(Call(ids[0], protocols: ("range", ConsumerProtocolCodec.EncodeSubscription(new(["x"])))));
        Assert.False(join0.IsCompleted);
        g.Leave([new LeavingMember(ids[1], null)]);
        Assert.Equal(GroupError.None, (await join0).Error);
        Assert.Equal(GroupState.CompletingRebalance, g.State);
    }

    [Fact]
    public async Task A_duplicate_join_supersedes_the_waiting_one()
    {
        var g = NewGroup();
        string a = await MemberIdAsync(g);
        string b = await MemberIdAsync(g);
        var first = await g.JoinAsync(Call(a));
        var second = await g.JoinAsync(Call(a));
        Assert.Equal(GroupError.RebalanceInProgress, (await first).Error);
        Assert.False(second.IsCompleted);
        var joinB = await g.JoinAsync(Call(b));
        Assert.Equal(GroupError.None, (await second).Error);
        Assert.Equal(GroupError.None, (await joinB).Error);
        Assert.Equal(2, g.MemberCount);
    }

    [Fact]
    public async Task Rejoin_with_unchanged_metadata_in_stable_changes_nothing_but_new_metadata_rebalances()
    {
        var g = NewGroup();
        var ids = await StableAsync(g, 2);
        int generation = g.Generation;
        var same = await await g.JoinAsync(Call(ids[1]));
        Assert.Equal(generation, same.GenerationId);
        Assert.Equal(GroupState.Stable, g.State);

        _ = await g.JoinAsync(Call(ids[1], protocols: ("range", ConsumerProtocolCodec.EncodeSubscription(new(["orders", "payments"])))));
        Assert.Equal(GroupState.PreparingRebalance, g.State);
    }

    [Fact]
    public async Task Unknown_member_ids_are_refused()
    {
        var g = NewGroup();
        Assert.Equal(GroupError.UnknownMemberId, (await await g.JoinAsync(Call("made-up"))).Error);
        await StableAsync(g, 1);
        Assert.Equal(GroupError.UnknownMemberId, (await await g.JoinAsync(Call("made-up"))).Error);
    }

    [Fact]
    public async Task Protocol_selection_votes_and_incompatible_members_are_refused()
    {
        var g = NewGroup();
        string a = await MemberIdAsync(g);
        string b = await MemberIdAsync(g);
        string c = await MemberIdAsync(g);
        byte[] m = [0];
        var joins = new[]
        {
            await g.JoinAsync(Call(a, protocols: [("range", m), ("cooperative-sticky", m)])),
            await g.JoinAsync(Call(b, protocols: [("cooperative-sticky", m), ("range", m)])),
            await g.JoinAsync(Call(c, protocols: [("cooperative-sticky", m), ("roundrobin", m), ("range", m)])),
        };
        var answers = await Task.WhenAll(joins);
        Assert.All(answers, r => Assert.Equal("cooperative-sticky", r.ProtocolName)); // 2 votes to 1

        Assert.Equal(GroupError.InconsistentGroupProtocol, (await await g.JoinAsync(Call(protocols: ("roundrobin", m)))).Error);
        Assert.Equal(GroupError.InconsistentGroupProtocol, (await await g.JoinAsync(Call(protocolType: "connect"))).Error);
        Assert.Equal(GroupError.InconsistentGroupProtocol, (await await g.JoinAsync(Call(protocolType: ""))).Error);
    }

    [Fact]
    public async Task Session_timeouts_outside_the_brokers_bounds_are_refused()
    {
        var g = NewGroup();
        Assert.Equal(GroupError.InvalidSessionTimeout, (await await g.JoinAsync(Call(session: _settings.MinSessionTimeoutMs - 1))).Error);
        Assert.Equal(GroupError.InvalidSessionTimeout, (await await g.JoinAsync(Call(session: _settings.MaxSessionTimeoutMs + 1))).Error);
    }

    [Fact]
    public async Task A_pending_member_that_never_returns_expires_and_the_join_completes()
    {
        var g = NewGroup();
        var ids = await StableAsync(g, 1);
        _ = await MemberIdAsync(g); // never comes back
        var rejoin = await g.JoinAsync(Call(ids[0], protocols: ("range", ConsumerProtocolCodec.EncodeSubscription(new(["y"])))));
        Assert.False(rejoin.IsCompleted);
        _clock.AdvanceMs(Session);
        await g.TickAsync();
        Assert.Equal(GroupError.None, (await rejoin).Error);
        Assert.Equal(1, g.MemberCount);
    }

    [Fact]
    public async Task The_initial_delay_waits_for_more_members_and_each_newcomer_extends_it()
    {
        _settings.InitialRebalanceDelayMs = 3000;
        var g = NewGroup();
        var a = await g.JoinAsync(Call(requireKnown: false));
        _clock.AdvanceMs(2000);
        await g.TickAsync();
        Assert.False(a.IsCompleted);
        var b = await g.JoinAsync(Call(requireKnown: false));
        _clock.AdvanceMs(2000); // 4 s after the first join, 2 s after the second
        await g.TickAsync();
        Assert.False(a.IsCompleted);
        _clock.AdvanceMs(1000);
        await g.TickAsync();
        Assert.Equal((await a).GenerationId, (await b).GenerationId);
        Assert.Equal(2, (await a).Members.Count);
    }

    [Fact]
    public async Task Static_member_rejoining_in_stable_gets_a_new_id_without_a_rebalance_and_the_old_id_is_fenced()
    {
        var g = NewGroup();
        var join = await await g.JoinAsync(Call(instance: "pod-1")); // static members skip MEMBER_ID_REQUIRED
        Assert.Equal(GroupError.None, join.Error);
        string oldId = join.MemberId;
        Assert.StartsWith("pod-1-", oldId, StringComparison.Ordinal);
        await await g.SyncAsync(oldId, "pod-1", g.Generation, null, null, new Dictionary<string, byte[]> { [oldId] = [7] });
        int generation = g.Generation;

        // The process restarts: same instance id, no member id.
        var rejoin = await await g.JoinAsync(Call(instance: "pod-1"));
        Assert.Equal(GroupError.None, rejoin.Error);
        Assert.NotEqual(oldId, rejoin.MemberId);
        Assert.Equal(generation, rejoin.GenerationId);
        Assert.Equal(GroupState.Stable, g.State);
        Assert.Equal([7], (await await g.SyncAsync(rejoin.MemberId, "pod-1", generation, null, null, new Dictionary<string, byte[]>())).Assignment);
        Assert.Equal(GroupError.FencedInstanceId, g.Heartbeat(oldId, "pod-1", generation));
        Assert.Equal(GroupError.None, g.Heartbeat(rejoin.MemberId, "pod-1", generation));
        Assert.Equal(rejoin.MemberId, _log.LastMetadata!.Members.Single().MemberId); // persisted
        Assert.Equal(GroupError.UnknownMemberId, g.Heartbeat(rejoin.MemberId, "pod-2", generation));
    }

    [Fact]
    public async Task Static_members_keep_their_place_through_a_rebalance_they_miss_and_leave_by_instance_id()
    {
        var g = NewGroup();
        string idA = (await await g.JoinAsync(Call(instance: "s1"))).MemberId; // alone: generation 1 at once
        var b = await g.JoinAsync(Call(instance: "s2")); // a rebalance that waits for s1 to rejoin
        await await g.JoinAsync(Call(idA, "s1"));
        string idB = (await b).MemberId;
        await Task.WhenAll(await g.SyncAsync(idB, "s2", g.Generation, null, null, new Dictionary<string, byte[]>()), await g.SyncAsync(idA, "s1", g.Generation, null, null, new Dictionary<string, byte[]>()));

        var rejoinA = await g.JoinAsync(Call(idA, "s1", protocols: ("range", ConsumerProtocolCodec.EncodeSubscription(new(["new"])))));
        _clock.AdvanceMs(Rebalance);
        g.Heartbeat(idB, "s2", g.Generation);
        await g.TickAsync();
        Assert.Equal(GroupError.None, (await rejoinA).Error);
        Assert.Equal(2, g.MemberCount); // s2 did not rejoin but is static: still a member
        Assert.Equal([GroupError.FencedInstanceId], g.Leave([new LeavingMember("wrong-id", "s2")]));
        Assert.Equal([GroupError.None], g.Leave([new LeavingMember("", "s2")]));
        Assert.Equal(1, g.MemberCount);
    }

    [Fact]
    public async Task Offset_commits_check_member_and_generation()
    {
        var g = NewGroup();
        OffsetCommitItem[] items = [new("orders", 0, 42, -1, "meta")];
        // A group that does not exist: only a standalone commit (generation -1) is allowed.
        Assert.Equal(GroupError.IllegalGeneration, (await g.CommitOffsetsAsync("m", null, 1, items)).Error);
        Assert.Equal(GroupError.None, (await g.CommitOffsetsAsync("", null, -1, items)).Error);
        Assert.Equal(42, g.FetchOffsets(null).Single().Offset);

        var ids = await StableAsync(g, 2);
        Assert.Equal(GroupError.None, (await g.CommitOffsetsAsync(ids[1], null, g.Generation, [new("orders", 1, 7, 3, null)])).Error);
        Assert.Equal(GroupError.IllegalGeneration, (await g.CommitOffsetsAsync(ids[1], null, g.Generation - 1, items)).Error);
        Assert.Equal(GroupError.UnknownMemberId, (await g.CommitOffsetsAsync("ghost", null, g.Generation, items)).Error);
        Assert.Equal(GroupError.UnknownMemberId, (await g.CommitOffsetsAsync("", null, -1, items)).Error); // standalone commits into a live group

        var tooBig = await g.CommitOffsetsAsync(ids[0], null, g.Generation, [new("orders", 2, 1, -1, new string('x', _settings.OffsetMetadataMaxBytes + 1)), new("orders", 3, 5, -1, null)]);
        Assert.Equal([GroupError.OffsetMetadataTooLarge, GroupError.None], tooBig.PerItem);

        // During the join phase the old generation may still commit; after it, not until synced.
        string c = await MemberIdAsync(g);
        var joinC = await g.JoinAsync(Call(c));
        Assert.Equal(GroupError.None, (await g.CommitOffsetsAsync(ids[0], null, g.Generation, items)).Error);
        var rejoins = new[] { await g.JoinAsync(Call(ids[0])), await g.JoinAsync(Call(ids[1])) };
        await Task.WhenAll([joinC, .. rejoins]);
        Assert.Equal(GroupError.RebalanceInProgress, (await g.CommitOffsetsAsync(ids[0], null, g.Generation, items)).Error);

        var fetched = g.FetchOffsets([("orders", [0, 1, 3, 9])]);
        Assert.Equal([42L, 7, 5, -1], fetched.Select(f => f.Offset));
        Assert.Equal(3, fetched[1].LeaderEpoch);
        Assert.Equal("", fetched[3].Metadata);
    }

    [Fact]
    public async Task A_failed_append_reports_the_error_and_changes_nothing()
    {
        var g = NewGroup();
        _log.Fail = GroupError.StorageError;
        var result = await g.CommitOffsetsAsync("", null, -1, [new("orders", 0, 1, -1, null)]);
        Assert.Equal([GroupError.StorageError], result.PerItem);
        Assert.Equal(-1, g.FetchOffsets([("orders", [0])]).Single().Offset);
    }

    [Fact]
    public async Task Offsets_of_a_group_empty_longer_than_the_retention_expire_and_the_group_goes()
    {
        _settings.OffsetsRetentionMinutes = 60;
        var g = NewGroup();
        var ids = await StableAsync(g, 1);
        await g.CommitOffsetsAsync(ids[0], null, g.Generation, [new("orders", 0, 10, -1, null), new("orders", 1, 20, -1, null)]);
        _clock.AdvanceMs(2 * 3_600_000);
        Assert.Equal(0, await g.ExpireOffsetsAsync()); // members present: nothing expires
        g.Heartbeat(ids[0], null, g.Generation);
        g.Leave([new LeavingMember(ids[0], null)]);
        Assert.Equal(GroupState.Empty, g.State);

        _clock.AdvanceMs(59 * 60_000);
        Assert.Equal(0, await g.ExpireOffsetsAsync());
        _clock.AdvanceMs(60_000);
        Assert.Equal(2, await g.ExpireOffsetsAsync());
        Assert.Equal(GroupState.Dead, g.State);
        Assert.True(_stored.IsEmpty);
        Assert.Null(_log.Records.OfType<GroupMetadataRecord>().Last().Value); // tombstone
    }

    [Fact]
    public async Task Standalone_commits_expire_one_by_one_from_their_commit_time()
    {
        _settings.OffsetsRetentionMinutes = 10;
        var g = NewGroup();
        await g.CommitOffsetsAsync("", null, -1, [new("t", 0, 1, -1, null)]);
        _clock.AdvanceMs(6 * 60_000);
        await g.CommitOffsetsAsync("", null, -1, [new("t", 1, 1, -1, null)]);
        _clock.AdvanceMs(5 * 60_000);
        Assert.Equal(1, await g.ExpireOffsetsAsync());
        Assert.Equal([1], g.FetchOffsets(null).Select(f => f.Partition));
    }

    [Fact]
    public async Task Delete_refuses_live_and_unknown_groups_and_tombstones_an_empty_one()
    {
        var g = NewGroup();
        Assert.Equal(GroupError.GroupIdNotFound, await g.DeleteAsync());
        var ids = await StableAsync(g, 1);
        await g.CommitOffsetsAsync(ids[0], null, g.Generation, [new("orders", 0, 10, -1, null)]);
        Assert.Equal(GroupError.NonEmptyGroup, await g.DeleteAsync());
        g.Leave([new LeavingMember(ids[0], null)]);
        Assert.Equal(GroupError.None, await g.DeleteAsync());
        Assert.Equal(GroupState.Dead, g.State);
        Assert.True(_stored.IsEmpty);
        Assert.Equal(GroupError.CoordinatorNotAvailable, (await await g.JoinAsync(Call())).Error);
    }

    [Fact]
    public async Task OffsetDelete_refuses_topics_the_live_group_subscribes_to()
    {
        var g = NewGroup();
        Assert.Equal(GroupError.GroupIdNotFound, (await g.DeleteOffsetsAsync([new("orders", 0)])).Error);
        var ids = await StableAsync(g, 1); // subscribed to "orders"
        await g.CommitOffsetsAsync(ids[0], null, g.Generation, [new("orders", 0, 10, -1, null), new("old", 0, 3, -1, null)]);
        var result = await g.DeleteOffsetsAsync([new("orders", 0), new("old", 0)]);
        Assert.Equal([GroupError.GroupSubscribedToTopic, GroupError.None], result.PerItem);
        Assert.Equal(["orders"], g.FetchOffsets(null).Select(f => f.Topic));
    }

    [Fact]
    public async Task Describe_shows_metadata_and_assignments_only_when_stable()
    {
        var g = NewGroup();
        string a = await MemberIdAsync(g);
        await await g.JoinAsync(Call(a));
        var during = g.Describe();
        Assert.Equal("CompletingRebalance", during.StateName);
        Assert.Empty(during.Members.Single().Metadata);
        Assert.Equal("", during.ProtocolName);
        await await g.SyncAsync(a, null, g.Generation, null, null, new Dictionary<string, byte[]> { [a] = [9] });
        var stable = g.Describe();
        Assert.Equal("Stable", stable.StateName);
        Assert.Equal("range", stable.ProtocolName);
        Assert.Equal([9], stable.Members.Single().Assignment);
        Assert.Equal(OrdersSubscription, stable.Members.Single().Metadata);
        Assert.Equal("client", stable.Members.Single().ClientId);
    }

    [Fact]
    public async Task A_restarted_coordinator_restores_the_stable_generation_and_expires_members_that_stay_silent()
    {
        var g = NewGroup();
        var ids = await StableAsync(g, 2);
        int generation = g.Generation;

        // The silo restarts: a new state machine over what the log replays.
        var replayed = new StoredGroup("g");
        foreach (var r in _log.Records)
        {
            replayed.Apply(r);
        }

        _stored = replayed;
        var restored = NewGroup();
        Assert.Equal(GroupState.Stable, restored.State);
        Assert.Equal(generation, restored.Generation);
        Assert.Equal(ids[0], restored.LeaderId);
        Assert.Equal(GroupError.None, restored.Heartbeat(ids[1], null, generation));
        var resync = await await restored.SyncAsync(ids[1], null, generation, null, null, new Dictionary<string, byte[]>());
        Assert.Equal(new byte[] { 1 }, resync.Assignment);

        // ids[0] never comes back: it expires and ids[1] is asked to rejoin.
        _clock.AdvanceMs(Session / 2);
        restored.Heartbeat(ids[1], null, generation);
        _clock.AdvanceMs(Session / 2);
        await restored.TickAsync();
        Assert.Equal(1, restored.MemberCount);
        Assert.Equal(GroupError.RebalanceInProgress, restored.Heartbeat(ids[1], null, generation));
    }

    [Fact]
    public async Task Shutdown_answers_waiting_joins_with_not_coordinator()
    {
        var g = NewGroup();
        string a = await MemberIdAsync(g);
        _ = await MemberIdAsync(g);
        var join = await g.JoinAsync(Call(a));
        Assert.False(join.IsCompleted);
        g.Shutdown();
        Assert.Equal(GroupError.NotCoordinator, (await join).Error);
    }
}
