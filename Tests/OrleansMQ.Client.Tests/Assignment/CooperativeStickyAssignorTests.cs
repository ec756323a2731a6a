using OrleansMQ.Client.Consumer.Assignment;
using Xunit;
using static OrleansMQ.Client.Tests.Assignment.AssignmentTestSupport;

namespace OrleansMQ.Client.Tests.Assignment;

public sealed class CooperativeStickyAssignorTests
{
    private readonly CooperativeStickyAssignor _assignor = new();

    [Fact]
    public void Is_the_cooperative_sticky_protocol()
    {
        Assert.Equal("cooperative-sticky", _assignor.Name);
        Assert.Equal(RebalanceProtocol.Cooperative, _assignor.Protocol);
    }

    [Fact]
    public void New_group_is_balanced_and_complete()
    {
        var result = _assignor.Assign(
            Topics(("t0", 4), ("t1", 4)),
            Members(("a", Sub("t0", "t1")), ("b", Sub("t0", "t1")), ("c", Sub("t0", "t1"))));

        Assert.Equal([3, 3, 2], new[] { "a", "b", "c" }.Select(m => result[m].Count));
        Assert.Equal(8, result.Values.SelectMany(p => p).Distinct().Count());
    }

    [Fact]
    public void Balanced_owners_keep_everything()
    {
        var members = Members(
            ("a", Sub(["t"], Partitions("t", 0, 4, 5), 3)),
            ("b", Sub(["t"], Partitions("t", 1, 2, 3), 3)));

        var result = _assignor.Assign(Topics(("t", 6)), members);

        Assert.Equal(["tp0", "tp4", "tp5"], Names(result["a"]));
        Assert.Equal(["tp1", "tp2", "tp3"], Names(result["b"]));
    }

    [Fact]
    public void Joining_member_takes_only_the_minimum_and_only_after_revocation()
    {
        var group = new SimulatedGroup(_assignor, Topics(("t", 6)));
        group.Join("a", "t");
        group.Join("b", "t");
        var first = group.Rebalance();
        Assert.Equal(0, first.RevokedCount);
        Assert.Equal(3, first.Count("a"));
        Assert.Equal(3, first.Count("b"));
        var ownedByA = group.Owned("a").ToHashSet();
        var ownedByB = group.Owned("b").ToHashSet();

        group.Join("c", "t");
        var revoke = group.Rebalance();

        // 6 over 3 members: a and b each give up exactly one partition, which nobody gets yet.
        Assert.Single(revoke.Revoked["a"]);
        Assert.Single(revoke.Revoked["b"]);
        Assert.Empty(revoke.Added["a"]);
        Assert.Empty(revoke.Added["b"]);
        Assert.Empty(revoke.Assignment["c"]);
        Assert.Equal(2, group.Unassigned().Count);

        var follow = group.Rebalance();

        Assert.Equal(0, follow.RevokedCount);
        Assert.Equal(
            SortedNames(revoke.Revoked["a"].Concat(revoke.Revoked["b"])),
            SortedNames(follow.Assignment["c"]));
        Assert.Subset(ownedByA, follow.Assignment["a"].ToHashSet());
        Assert.Subset(ownedByB, follow.Assignment["b"].ToHashSet());
        Assert.Empty(group.Unassigned());
    }

    [Fact]
    public void Joining_member_moves_one_partition_when_one_is_enough()
    {
        // 6 partitions on a, b, c (2 each); d joins: 2, 2, 1, 1 needs a single move.
        var group = new SimulatedGroup(_assignor, Topics(("t", 6)));
        group.Join("a", ["t"], Partitions("t", 0, 1), 1);
        group.Join("b", ["t"], Partitions("t", 2, 3), 1);
        group.Join("c", ["t"], Partitions("t", 4, 5), 1);
        group.Join("d", "t");

        var revoke = group.Rebalance();
        Assert.Equal(1, revoke.RevokedCount);
        Assert.Empty(revoke.Assignment["d"]);

        var follow = group.Rebalance();
        Assert.Equal(0, follow.RevokedCount);
        Assert.Single(follow.Assignment["d"]);
        Assert.Equal([2, 2, 1, 1], new[] { "a", "b", "c", "d" }.Select(m => follow.Count(m)).OrderDescending());
    }

    [Fact]
    public void Leaving_member_partitions_are_spread_at_once_and_nothing_else_moves()
    {
        var group = new SimulatedGroup(_assignor, Topics(("t0", 3), ("t1", 3)));
        group.Join("a", ["t0", "t1"], [Tp("t0", 0), Tp("t1", 0)], 4);
        group.Join("b", ["t0", "t1"], [Tp("t0", 1), Tp("t1", 1)], 4);
        group.Join("c", ["t0", "t1"], [Tp("t0", 2), Tp("t1", 2)], 4);
        group.Leave("c");

        var round = group.Rebalance();

        Assert.Equal(0, round.RevokedCount);
        Assert.Equal(3, round.Count("a"));
        Assert.Equal(3, round.Count("b"));
        Assert.Equal(["t0p2", "t1p2"], SortedNames(round.Added["a"].Concat(round.Added["b"])));
        Assert.Empty(group.Unassigned());
    }

    [Fact]
    public void Overloaded_owner_keeps_its_share_and_the_rest_follows_next_round()
    {
        var group = new SimulatedGroup(_assignor, Topics(("t", 6)));
        group.Join("a", ["t"], Partitions("t", 0, 1, 2, 3, 4, 5), 2);
        group.Join("b", "t");
        group.Join("c", "t");

        var revoke = group.Rebalance();
        Assert.Equal(2, revoke.Count("a"));
        Assert.Equal(4, revoke.Revoked["a"].Count);
        Assert.Empty(revoke.Assignment["b"]);
        Assert.Empty(revoke.Assignment["c"]);

        var follow = group.Rebalance();
        Assert.Equal(0, follow.RevokedCount);
        Assert.Equal([2, 2, 2], new[] { "a", "b", "c" }.Select(m => follow.Count(m)));
    }

    [Fact]
    public void Partitions_nobody_owns_are_assigned_at_once()
    {
        // New partitions of an existing topic (t grew from 2 to 4).
        var result = _assignor.Assign(
            Topics(("t", 4)),
            Members(("a", Sub(["t"], Partitions("t", 0), 1)), ("b", Sub(["t"], Partitions("t", 1), 1))));

        Assert.Equal(2, result["a"].Count);
        Assert.Equal(2, result["b"].Count);
        Assert.Contains(Tp("t", 0), result["a"]);
        Assert.Contains(Tp("t", 1), result["b"]);
    }

    [Fact]
    public void Higher_generation_claim_wins_a_conflict()
    {
        var members = Members(
            ("a", Sub(["t"], Partitions("t", 0), 5)),
            ("b", Sub(["t"], Partitions("t", 0, 1), 4)));

        var result = _assignor.Assign(Topics(("t", 2)), members);

        // a (generation 5) owns t-0; b's stale claim on it is ignored, its claim on t-1 stands.
        Assert.Equal(["tp0"], Names(result["a"]));
        Assert.Equal(["tp1"], Names(result["b"]));
    }

    [Fact]
    public void Higher_generation_claim_wins_even_when_listed_second()
    {
        var members = Members(
            ("a", Sub(["t"], Partitions("t", 0, 1), 2)),
            ("b", Sub(["t"], Partitions("t", 0), 7)));

        var result = _assignor.Assign(Topics(("t", 2)), members);

        Assert.Equal(["tp1"], Names(result["a"]));
        Assert.Equal(["tp0"], Names(result["b"]));
    }

    [Fact]
    public void Same_generation_claims_leave_the_partition_unassigned_for_a_round()
    {
        var members = Members(
            ("a", Sub(["t"], Partitions("t", 0, 1), 3)),
            ("b", Sub(["t"], Partitions("t", 0, 2), 3)),
            ("c", Sub(["t"], [], 3)));

        var result = _assignor.Assign(Topics(("t", 4)), members);

        Assert.DoesNotContain(Tp("t", 0), result.Values.SelectMany(p => p));
        Assert.Contains(Tp("t", 1), result["a"]);
        Assert.Contains(Tp("t", 2), result["b"]);
        Assert.Equal(["tp3"], Names(result["c"]));
    }

    [Fact]
    public void Generation_is_read_from_four_byte_user_data_when_the_subscription_has_none()
    {
        var members = Members(
            ("a", new MemberSubscription(["t"], [Tp("t", 0)], -1, null, CooperativeStickyAssignor.EncodeGenerationUserData(9))),
            ("b", Sub(["t"], Partitions("t", 0), 8)));

        var result = _assignor.Assign(Topics(("t", 2)), members);

        Assert.Equal(["tp0"], Names(result["a"]));
        Assert.Equal(["tp1"], Names(result["b"]));
    }

    [Fact]
    public void Owned_partition_of_a_topic_the_owner_dropped_waits_for_its_revocation()
    {
        var group = new SimulatedGroup(_assignor, Topics(("t0", 1), ("t1", 1)));
        group.Join("a", ["t0"], [Tp("t0", 0), Tp("t1", 0)], 1);
        group.Join("b", ["t1"], [], 1);

        var revoke = group.Rebalance();
        Assert.Equal(["t0p0"], Names(revoke.Assignment["a"]));
        Assert.Empty(revoke.Assignment["b"]);

        var follow = group.Rebalance();
        Assert.Equal(["t1p0"], Names(follow.Assignment["b"]));
    }

    [Fact]
    public void Claims_on_vanished_topics_and_partitions_are_ignored()
    {
        var members = Members(("a", Sub(["t"], [Tp("t", 0), Tp("t", 9), Tp("gone", 0)], 2)), ("b", Sub("t")));

        var result = _assignor.Assign(Topics(("t", 2)), members);

        Assert.Equal(["tp0"], Names(result["a"]));
        Assert.Equal(["tp1"], Names(result["b"]));
    }

    [Fact]
    public void Different_subscriptions_are_balanced_where_they_overlap()
    {
        // a can only take t0; b takes t0 or t1. Balanced is a = both t0 partitions, b = both t1.
        var result = _assignor.Assign(
            Topics(("t0", 2), ("t1", 2)),
            Members(("a", Sub("t0")), ("b", Sub("t0", "t1"))));

        Assert.Equal(["t0p0", "t0p1"], Names(result["a"]));
        Assert.Equal(["t1p0", "t1p1"], Names(result["b"]));
    }

    [Fact]
    public void Different_subscriptions_converge_without_breaking_ownership()
    {
        // b owns all of t0 and t1; a (t0 only) joins: b hands over t0 partitions after revoking them.
        var group = new SimulatedGroup(_assignor, Topics(("t0", 4), ("t1", 2)));
        group.Join("b", ["t0", "t1"], [.. Partitions("t0", 0, 1, 2, 3), .. Partitions("t1", 0, 1)], 3);
        group.Join("a", "t0");

        var revoke = group.Rebalance();
        Assert.Empty(revoke.Assignment["a"]);
        Assert.Equal(3, revoke.Count("b"));

        var follow = group.Rebalance();
        Assert.Equal(0, follow.RevokedCount);
        Assert.Equal(3, follow.Count("a"));
        Assert.Equal(3, follow.Count("b"));
        Assert.Empty(group.Unassigned());
    }

    [Fact]
    public void Members_with_nothing_to_consume_get_empty_assignments()
    {
        var result = _assignor.Assign(Topics(("t", 1)), Members(("a", Sub()), ("b", Sub("t")), ("c", Sub("missing"))));

        Assert.Empty(result["a"]);
        Assert.Equal(["tp0"], Names(result["b"]));
        Assert.Empty(result["c"]);
    }

    [Fact]
    public void Empty_group_gets_an_empty_assignment()
    {
        Assert.Empty(_assignor.Assign(Topics(("t", 3)), Members()));
    }
}
