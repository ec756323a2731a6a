using OrleansMQ.Silo.Topics;
using Xunit;

namespace OrleansMQ.Silo.Tests.Broker;

/// <summary>
/// The topic grain's decisions for operator requests: reassignments (start, complete on the ISR,
/// cancel) in Kafka's add-then-remove model, and unclean elections.
/// </summary>
public sealed class ReassignmentElectionTests
{
    private static readonly HashSet<int> AllLive = [1, 2, 3, 4];

    private static readonly PartitionState OnOneTwo = new([1, 2], 1, 3, [1, 2], 5);

    [Fact]
    public void A_reassignment_adds_the_target_replicas_first_and_keeps_the_old_ones_until_they_catch_up()
    {
        var moving = LeaderElection.StartReassignment(OnOneTwo, [2, 3], AllLive, out var error)!;

        Assert.Equal(ReplicaStateError.None, error);
        Assert.Equal([2, 3, 1], moving.Replicas);
        Assert.Equal([3], moving.AddingReplicas);
        Assert.Equal([1], moving.RemovingReplicas);
        Assert.True(moving.IsReassigning);
        Assert.Equal(1, moving.Leader); // nothing moves until broker 3 is in sync
        Assert.Equal(3, moving.LeaderEpoch);
        Assert.Equal([1, 2], moving.Isr.Order());
        Assert.True(moving.PartitionEpoch > OnOneTwo.PartitionEpoch);
        Assert.Same(moving, LeaderElection.CompleteReassignment(moving));
    }

    [Fact]
    public void The_leader_adding_the_last_new_replica_to_the_isr_completes_the_move_and_hands_over_leadership()
    {
        var moving = LeaderElection.StartReassignment(OnOneTwo, [2, 3], AllLive, out _)!;
        var expanded = LeaderElection.AlterIsr(moving, 1, moving.LeaderEpoch, moving.PartitionEpoch, [1, 2, 3], minInsync: 1, out var error)!;
        Assert.Equal(ReplicaStateError.None, error);

        var done = LeaderElection.CompleteReassignment(expanded);

        Assert.Equal([2, 3], done.Replicas);
        Assert.Empty(done.AddingReplicas);
        Assert.Empty(done.RemovingReplicas);
        Assert.False(done.IsReassigning);
        Assert.Equal([2, 3], done.Isr);
        Assert.Equal(2, done.Leader); // the old leader is not in the target: the first target replica in sync leads
        Assert.Equal(4, done.LeaderEpoch);
        Assert.True(done.PartitionEpoch > expanded.PartitionEpoch);
    }

    [Fact]
    public void A_leader_that_stays_in_the_target_keeps_its_epoch_when_the_move_completes()
    {
        var moving = LeaderElection.StartReassignment(OnOneTwo, [1, 3], AllLive, out _)!;
        var expanded = LeaderElection.AlterIsr(moving, 1, moving.LeaderEpoch, moving.PartitionEpoch, [1, 2, 3], minInsync: 1, out _)!;

        var done = LeaderElection.CompleteReassignment(expanded);

        Assert.Equal([1, 3], done.Replicas);
        Assert.Equal([1, 3], done.Isr);
        Assert.Equal(1, done.Leader);
        Assert.Equal(3, done.LeaderEpoch);
    }

    [Fact]
    public void Cancelling_goes_back_to_the_original_replicas_and_a_new_target_replaces_the_old_one()
    {
        var moving = LeaderElection.StartReassignment(OnOneTwo, [3, 4], AllLive, out _)!;
        Assert.Equal([3, 4], moving.AddingReplicas);

        var retargeted = LeaderElection.StartReassignment(moving, [1, 3], AllLive, out _)!;
        Assert.Equal([1, 3, 2], retargeted.Replicas);
        Assert.Equal([3], retargeted.AddingReplicas);
        Assert.Equal([2], retargeted.RemovingReplicas);

        var back = LeaderElection.CancelReassignment(retargeted, out var error)!;
        Assert.Equal(ReplicaStateError.None, error);
        Assert.Equal([1, 2], back.Replicas.Order());
        Assert.False(back.IsReassigning);
        Assert.Equal(1, back.Leader);

        Assert.Null(LeaderElection.CancelReassignment(back, out var none));
        Assert.Equal(ReplicaStateError.NoReassignmentInProgress, none);
    }

    [Fact]
    public void Cancelling_a_move_whose_new_replica_leads_hands_leadership_back_to_an_original_replica()
    {
        var moving = LeaderElection.StartReassignment(OnOneTwo, [3, 1], AllLive, out _)!;
        var expanded = LeaderElection.AlterIsr(moving, 1, moving.LeaderEpoch, moving.PartitionEpoch, [1, 2, 3], minInsync: 1, out _)!;
        var completedAlready = LeaderElection.CompleteReassignment(expanded);
        Assert.False(completedAlready.IsReassigning);

        // A move still in progress, led by an adding replica (a preferred election moved it there).
        var led = moving with { Leader = 3, LeaderEpoch = 9, Isr = [1, 2, 3] };
        var back = LeaderElection.CancelReassignment(led, out _)!;
        Assert.Equal(1, back.Leader);
        Assert.Equal(10, back.LeaderEpoch);
        Assert.Equal([1, 2], back.Isr);
    }

    [Fact]
    public void A_target_that_is_empty_repeats_a_broker_or_names_a_dead_one_is_refused()
    {
        foreach (int[] target in new[] { Array.Empty<int>(), [2, 2], [2, 9] })
        {
            Assert.Null(LeaderElection.StartReassignment(OnOneTwo, target, AllLive, out var error));
            Assert.Equal(ReplicaStateError.InvalidReplicaAssignment, error);
        }

        Assert.Same(OnOneTwo, LeaderElection.StartReassignment(OnOneTwo, [1, 2], AllLive, out var same));
        Assert.Equal(ReplicaStateError.None, same);
    }

    [Fact]
    public void A_move_within_the_replicas_in_sync_completes_at_once()
    {
        var done = LeaderElection.StartReassignment(OnOneTwo, [2], AllLive, out _)!;

        Assert.False(done.IsReassigning);
        Assert.Equal([2], done.Replicas);
        Assert.Equal([2], done.Isr);
        Assert.Equal(2, done.Leader);
        Assert.Equal(4, done.LeaderEpoch);
    }

    [Fact]
    public void Unclean_election_makes_the_first_live_replica_lead_when_no_in_sync_replica_is_live()
    {
        var leaderless = new PartitionState([1, 2, 3], PartitionState.NoLeader, 6, [1], 8);

        var elected = LeaderElection.ElectUnclean(leaderless, new HashSet<int> { 2, 3 }, 1, out var error, out bool lossy)!;

        Assert.Equal(ReplicaStateError.None, error);
        Assert.True(lossy);
        Assert.Equal(2, elected.Leader);
        Assert.Equal([2], elected.Isr);
        Assert.Equal(7, elected.LeaderEpoch);
    }

    [Fact]
    public void Unclean_election_prefers_a_live_in_sync_replica_and_leaves_a_led_partition_alone()
    {
        var leaderless = new PartitionState([1, 2, 3], PartitionState.NoLeader, 6, [1, 3], 8);
        var clean = LeaderElection.ElectUnclean(leaderless, new HashSet<int> { 2, 3 }, 1, out _, out bool lossy)!;
        Assert.False(lossy);
        Assert.Equal(3, clean.Leader);
        Assert.Equal([3], clean.Isr);

        var led = new PartitionState([1, 2, 3], 1, 4, [1, 2, 3], 7);
        Assert.Same(led, LeaderElection.ElectUnclean(led, AllLive, 1, out var notNeeded, out _));
        Assert.Equal(ReplicaStateError.ElectionNotNeeded, notNeeded);

        Assert.Null(LeaderElection.ElectUnclean(leaderless, new HashSet<int> { 9 }, 1, out var none, out _));
        Assert.Equal(ReplicaStateError.EligibleLeadersNotAvailable, none);
    }

    [Fact]
    public void Preferred_election_of_the_leading_preferred_replica_is_not_needed()
    {
        var led = new PartitionState([1, 2, 3], 1, 4, [1, 2, 3], 7);
        Assert.Same(led, LeaderElection.ElectPreferred(led, AllLive, out var error));
        Assert.Equal(ReplicaStateError.ElectionNotNeeded, error);
    }
}
