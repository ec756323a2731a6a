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
        var after = LeaderElection.OnLiveBrokers(Healthy, new HashSet<int> { 2, 3 }, allowUnclean: false, out bool unclean);

        Assert.False(unclean);
        Assert.Equal(2, after.Leader);
        Assert.Equal(5, after.LeaderEpoch);
        Assert.Equal([2, 3], after.Isr);
        Assert.True(after.PartitionEpoch > Healthy.PartitionEpoch);
    }

    [Fact]
    public void A_dead_follower_leaves_the_isr_and_the_leader_epoch_stays()
    {
        var after = LeaderElection.OnLiveBrokers(Healthy, new HashSet<int> { 1, 3 }, allowUnclean: false, out _);

        Assert.Equal(1, after.Leader);
        Assert.Equal(4, after.LeaderEpoch);
        Assert.Equal([1, 3], after.Isr);
    }

    [Fact]
    public void Nothing_changes_when_every_replica_is_live()
    {
        Assert.Same(Healthy, LeaderElection.OnLiveBrokers(Healthy, new HashSet<int> { 1, 2, 3, 4 }, allowUnclean: false, out _));
    }

    [Fact]
    public void Without_a_live_in_sync_replica_there_is_no_leader_and_the_isr_keeps_its_last_members()
    {
        var shrunk = Healthy with { Isr = [1] };

        var after = LeaderElection.OnLiveBrokers(shrunk, new HashSet<int> { 2, 3 }, allowUnclean: false, out bool unclean);

        Assert.False(unclean);
        Assert.Equal(PartitionState.NoLeader, after.Leader);
        Assert.False(after.HasLeader);
        Assert.Equal([1], after.Isr);

        // The last in-sync replica comes back: it leads, with everything acknowledged.
        var back = LeaderElection.OnLiveBrokers(after, new HashSet<int> { 1, 2, 3 }, allowUnclean: false, out _);
        Assert.Equal(1, back.Leader);
        Assert.True(back.LeaderEpoch > after.LeaderEpoch);
    }

    [Fact]
    public void Unclean_election_lets_an_out_of_sync_replica_lead_and_says_so()
    {
        var shrunk = Healthy with { Isr = [1] };

        var after = LeaderElection.OnLiveBrokers(shrunk, new HashSet<int> { 3 }, allowUnclean: true, out bool unclean);

        Assert.True(unclean);
        Assert.Equal(3, after.Leader);
        Assert.Equal([3], after.Isr);
    }

    [Fact]
    public void Isr_changes_are_fenced_by_leader_and_partition_epoch()
    {
        Assert.Null(LeaderElection.AlterIsr(Healthy, 1, 3, 7, [1, 2], out var fenced));
        Assert.Equal(ReplicaStateError.FencedLeaderEpoch, fenced);

        Assert.Null(LeaderElection.AlterIsr(Healthy, 2, 4, 7, [2], out var notLeader));
        Assert.Equal(ReplicaStateError.NotLeader, notLeader);

        Assert.Null(LeaderElection.AlterIsr(Healthy, 1, 4, 6, [1, 2], out var stale));
        Assert.Equal(ReplicaStateError.InvalidUpdateVersion, stale);

        Assert.Null(LeaderElection.AlterIsr(Healthy, 1, 4, 7, [2, 3], out var dropsLeader));
        Assert.Equal(ReplicaStateError.InvalidRequest, dropsLeader);

        Assert.Null(LeaderElection.AlterIsr(Healthy, 1, 4, 7, [1, 9], out var notReplica));
        Assert.Equal(ReplicaStateError.InvalidRequest, notReplica);

        var shrunk = LeaderElection.AlterIsr(Healthy, 1, 4, 7, [3, 1], out var ok);
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
}
