using OrleansMQ.Silo.Topics;
using Xunit;

namespace OrleansMQ.Silo.Tests.Broker;

/// <summary>The controller's decisions for one partition: who leads when brokers die and return, and which ISR changes a leader may make.</summary>
public sealed class LeaderElectionTests
{
    private static readonly PartitionState Healthy = new([1, 2, 3], 1, 4, [1, 2, 3], 7);

    [Fact]
    public void A_dead_leader_is_replaced_by_the_first_live_in_sync_replica_with_a_new_epoch()
    {
        var after = LeaderElection.OnLiveBrokers(Healthy, new HashSet<int> { 2, 3 }, minInsync: 1, allowUnclean: false, out bool unclean);

        Assert.False(unclean);
        Assert.Equal(2, after.Leader);
        Assert.Equal(5, after.LeaderEpoch);
        Assert.Equal([2, 3], after.Isr);
        Assert.True(after.PartitionEpoch > Healthy.PartitionEpoch);
    }

    [Fact]
    public void A_dead_follower_leaves_the_isr_and_the_leader_epoch_stays()
    {
        var after = LeaderElection.OnLiveBrokers(Healthy, new HashSet<int> { 1, 3 }, minInsync: 1, allowUnclean: false, out _);

        Assert.Equal(1, after.Leader);
        Assert.Equal(4, after.LeaderEpoch);
        Assert.Equal([1, 3], after.Isr);
    }

    [Fact]
    public void Nothing_changes_when_every_replica_is_live()
    {
        Assert.Same(Healthy, LeaderElection.OnLiveBrokers(Healthy, new HashSet<int> { 1, 2, 3, 4 }, minInsync: 1, allowUnclean: false, out _));
    }

    [Fact]
    public void Without_a_live_in_sync_replica_there_is_no_leader_and_the_isr_keeps_its_last_members()
    {
        var shrunk = Healthy with { Isr = [1] };

        var after = LeaderElection.OnLiveBrokers(shrunk, new HashSet<int> { 2, 3 }, minInsync: 1, allowUnclean: false, out bool unclean);

        Assert.False(unclean);
        Assert.Equal(PartitionState.NoLeader, after.Leader);
        Assert.False(after.HasLeader);
        Assert.Equal([1], after.Isr);

        // The last in-sync replica comes back: it leads, with everything acknowledged.
        var back = LeaderElection.OnLiveBrokers(after, new HashSet<int> { 1, 2, 3 }, minInsync: 1, allowUnclean: false, out _);
        Assert.Equal(1, back.Leader);
        Assert.True(back.LeaderEpoch > after.LeaderEpoch);
    }

    [Fact]
    public void Unclean_election_lets_an_out_of_sync_replica_lead_and_says_so()
    {
        var shrunk = Healthy with { Isr = [1] };

        var after = LeaderElection.OnLiveBrokers(shrunk, new HashSet<int> { 3 }, minInsync: 1, allowUnclean: true, out bool unclean);

        Assert.True(unclean);
        Assert.Equal(3, after.Leader);
        Assert.Equal([3], after.Isr);
    }

    [Fact]
    public void Isr_changes_are_fenced_by_leader_and_partition_epoch()
    {
        Assert.Null(LeaderElection.AlterIsr(Healthy, 1, 3, 7, [1, 2], minInsync: 1, out var fenced));
        Assert.Equal(ReplicaStateError.FencedLeaderEpoch, fenced);

        Assert.Null(LeaderElection.AlterIsr(Healthy, 2, 4, 7, [2], minInsync: 1, out var notLeader));
        Assert.Equal(ReplicaStateError.NotLeader, notLeader);

        Assert.Null(LeaderElection.AlterIsr(Healthy, 1, 4, 6, [1, 2], minInsync: 1, out var stale));
        Assert.Equal(ReplicaStateError.InvalidUpdateVersion, stale);

        Assert.Null(LeaderElection.AlterIsr(Healthy, 1, 4, 7, [2, 3], minInsync: 1, out var dropsLeader));
        Assert.Equal(ReplicaStateError.InvalidRequest, dropsLeader);

        Assert.Null(LeaderElection.AlterIsr(Healthy, 1, 4, 7, [1, 9], minInsync: 1, out var notReplica));
        Assert.Equal(ReplicaStateError.InvalidRequest, notReplica);

        var shrunk = LeaderElection.AlterIsr(Healthy, 1, 4, 7, [3, 1], minInsync: 1, out var ok);
        Assert.Equal(ReplicaStateError.None, ok);
        Assert.Equal([1, 3], shrunk!.Isr); // replica order, whatever order the leader sent
        Assert.Equal(4, shrunk.LeaderEpoch);
        Assert.Equal(8, shrunk.PartitionEpoch);
    }

    [Fact]
    public void Preferred_election_moves_leadership_back_to_the_first_replica_only_when_it_is_in_sync()
    {
        var moved = new PartitionState([1, 2, 3], 2, 5, [1, 2, 3], 9);

        var back = LeaderElection.ElectPreferred(moved, new HashSet<int> { 1, 2, 3 }, out var error);
        Assert.Equal(ReplicaStateError.None, error);
        Assert.Equal(1, back!.Leader);
        Assert.Equal(6, back.LeaderEpoch);

        Assert.Null(LeaderElection.ElectPreferred(moved with { Isr = [2, 3] }, new HashSet<int> { 1, 2, 3 }, out var outOfSync));
        Assert.Equal(ReplicaStateError.NotLeader, outOfSync);
    }

    [Fact]
    public void A_leader_cut_off_from_its_followers_that_shrinks_the_isr_to_itself_leaves_them_electable()
    {
        // Broker 1 leads, cannot reach 2 and 3, and drops them (min.insync.replicas=2): they were in
        // sync while the high watermark last moved, so they become eligible leaders (KIP-966).
        var zombie = LeaderElection.AlterIsr(Healthy, 1, 4, 7, [1], minInsync: 2, out var error)!;
        Assert.Equal(ReplicaStateError.None, error);
        Assert.Equal([1], zombie.Isr);
        Assert.Equal([2, 3], zombie.EligibleLeaders);

        // The majority declares 1 dead: an eligible replica leads cleanly, alone in the ISR, and the
        // deposed leader (which holds every committed record too) joins the eligible ones.
        var after = LeaderElection.OnLiveBrokers(zombie, new HashSet<int> { 2, 3 }, minInsync: 2, allowUnclean: false, out bool unclean);
        Assert.False(unclean);
        Assert.Equal(2, after.Leader);
        Assert.Equal(5, after.LeaderEpoch);
        Assert.Equal([2], after.Isr);
        Assert.Equal([1, 3], after.EligibleLeaders);

        // 3 catches up from 2: the ISR is back at min.insync.replicas, the high watermark moves
        // again, and nobody outside the ISR is eligible any more.
        var healed = LeaderElection.AlterIsr(after, 2, 5, after.PartitionEpoch, [2, 3], minInsync: 2, out _)!;
        Assert.Equal([2, 3], healed.Isr);
        Assert.Empty(healed.EligibleLeaders);
    }

    [Fact]
    public void Replicas_dropped_while_the_isr_still_meets_min_insync_replicas_are_not_eligible()
    {
        // 3 leaves an ISR of three (two remain: the high watermark moves on without 3), then 2
        // leaves: only 2 is sure to hold what was committed.
        var two = LeaderElection.AlterIsr(Healthy, 1, 4, 7, [1, 2], minInsync: 2, out _)!;
        Assert.Empty(two.EligibleLeaders);
        var one = LeaderElection.AlterIsr(two, 1, 4, two.PartitionEpoch, [1], minInsync: 2, out _)!;
        Assert.Equal([2], one.EligibleLeaders);

        // With 1 and 2 dead, 3 is live but not eligible: no leader (unclean election is off).
        var none = LeaderElection.OnLiveBrokers(one, new HashSet<int> { 3 }, minInsync: 2, allowUnclean: false, out _);
        Assert.False(none.HasLeader);

        // A dead follower the controller drops from an ISR below min.insync.replicas stays eligible too.
        var controllerShrunk = LeaderElection.OnLiveBrokers(Healthy with { Isr = [1, 2] }, new HashSet<int> { 1, 3 }, minInsync: 2, allowUnclean: false, out _);
        Assert.Equal([1], controllerShrunk.Isr);
        Assert.Equal([2], controllerShrunk.EligibleLeaders);
    }

    [Fact]
    public void Min_insync_replicas_above_the_replica_count_counts_as_the_replica_count()
    {
        Assert.Equal(2, LeaderElection.EffectiveMinInsync(3, 2));
        Assert.Equal(1, LeaderElection.EffectiveMinInsync(1, 3));

        // Two replicas, min.insync.replicas=3: an ISR of both meets it, so nobody is set aside.
        var pair = new PartitionState([1, 2], 1, 0, [1, 2], 0);
        var one = LeaderElection.AlterIsr(pair, 1, 0, 0, [1], minInsync: 3, out _)!;
        Assert.Equal([2], one.EligibleLeaders);
        var back = LeaderElection.AlterIsr(one, 1, 0, one.PartitionEpoch, [1, 2], minInsync: 3, out _)!;
        Assert.Empty(back.EligibleLeaders);
    }
}
