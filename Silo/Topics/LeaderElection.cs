namespace OrleansMQ.Silo.Topics;

/// <summary>
/// The controller's decisions for one partition, pure so they can be tested without a cluster
/// (the topic grain applies them and persists the result before anyone acts on it):
/// <list type="bullet">
/// <item>a leader that is no longer live is replaced by the first live in-sync replica in replica
/// order, with a new leader epoch; a dead follower leaves the ISR;</item>
/// <item>with no live in-sync replica, the partition has no leader (LEADER_NOT_AVAILABLE) and its
/// ISR keeps the last members, so the first of them to come back leads with everything
/// acknowledged — unless <c>unclean.leader.election.enable</c>, when any live replica may lead and
/// what it lacks is lost (the caller logs it);</item>
/// <item>the leader's ISR changes (AlterPartition) are fenced by leader and partition epoch.</item>
/// </list>
/// </summary>
public static class LeaderElection
{
    /// <summary>
    /// The state after the live broker set became <paramref name="live"/>; the same instance when
    /// nothing changes. <paramref name="unclean"/> is set when an out-of-sync replica was made leader.
    /// </summary>
    public static PartitionState OnLiveBrokers(PartitionState state, IReadOnlySet<int> live, bool allowUnclean, out bool unclean)
    {
        unclean = false;
        if (state.HasLeader && live.Contains(state.Leader))
        {
            // The leader stays; followers that died leave the ISR at once (as Kafka's controller
            // does on a broker's death) so acks=all does not wait for them.
            var isr = Array.FindAll(state.Isr, live.Contains);
            return isr.Length == state.Isr.Length ? state : state with { Isr = isr, PartitionEpoch = state.PartitionEpoch + 1 };
        }

        foreach (int candidate in state.Replicas)
        {
            if (live.Contains(candidate) && Array.IndexOf(state.Isr, candidate) >= 0)
            {
                var isr = Array.FindAll(state.Isr, live.Contains);
                return new PartitionState(state.Replicas, candidate, state.LeaderEpoch + 1, isr, state.PartitionEpoch + 1);
            }
        }

        if (allowUnclean)
        {
            foreach (int candidate in state.Replicas)
            {
                if (live.Contains(candidate))
                {
                    unclean = true;
                    return new PartitionState(state.Replicas, candidate, state.LeaderEpoch + 1, [candidate], state.PartitionEpoch + 1);
                }
            }
        }

        // No eligible leader: keep the ISR as it was (its members hold every acknowledged record).
        return state.HasLeader
            ? state with { Leader = PartitionState.NoLeader, LeaderEpoch = state.LeaderEpoch + 1, PartitionEpoch = state.PartitionEpoch + 1 }
            : state;
    }

    /// <summary>
    /// The leader's ISR change (Kafka's AlterPartition): accepted only from the current leader at
    /// the current leader and partition epochs; the new ISR must hold the leader and only replicas.
    /// </summary>
    public static PartitionState? AlterIsr(PartitionState state, int leader, int leaderEpoch, int partitionEpoch, int[] isr, out ReplicaStateError error)
    {
        if (leaderEpoch < state.LeaderEpoch)
        {
            error = ReplicaStateError.FencedLeaderEpoch;
            return null;
        }

        if (leader != state.Leader || leaderEpoch > state.LeaderEpoch)
        {
            error = ReplicaStateError.NotLeader;
            return null;
        }

        if (partitionEpoch != state.PartitionEpoch)
        {
            error = ReplicaStateError.InvalidUpdateVersion;
            return null;
        }

        if (Array.IndexOf(isr, leader) < 0 || Array.Exists(isr, r => Array.IndexOf(state.Replicas, r) < 0) || isr.Distinct().Count() != isr.Length)
        {
            error = ReplicaStateError.InvalidRequest;
            return null;
        }

        error = ReplicaStateError.None;
        // Keep replica order in the ISR, so Metadata reads the same whatever order the leader sent.
        var ordered = Array.FindAll(state.Replicas, r => Array.IndexOf(isr, r) >= 0);
        return ordered.AsSpan().SequenceEqual(state.Isr) ? state : state with { Isr = ordered, PartitionEpoch = state.PartitionEpoch + 1 };
    }

    /// <summary>Preferred leader election (ElectLeaders PREFERRED): the first replica leads if it is live and in sync.</summary>
    public static PartitionState? ElectPreferred(PartitionState state, IReadOnlySet<int> live, out ReplicaStateError error)
    {
        int preferred = state.Replicas[0];
        if (state.Leader == preferred)
        {
            error = ReplicaStateError.None;
            return state;
        }

        if (!live.Contains(preferred) || Array.IndexOf(state.Isr, preferred) < 0)
        {
            error = ReplicaStateError.NotLeader;
            return null;
        }

        error = ReplicaStateError.None;
        return new PartitionState(state.Replicas, preferred, state.LeaderEpoch + 1, state.Isr, state.PartitionEpoch + 1);
    }
}
