namespace OrleansMQ.Silo.Topics;

/// <summary>
/// The controller's decisions for one partition, pure so they can be tested without a cluster
/// (the topic grain applies them and persists the result before anyone acts on it):
/// <list type="bullet">
/// <item>a leader that is no longer live is replaced by the first live in-sync replica in replica
/// order, with a new leader epoch; a dead follower leaves the ISR;</item>
/// <item>with no live in-sync replica, a live eligible leader replica (KIP-966) leads; with none,
/// the partition has no leader (LEADER_NOT_AVAILABLE) and its ISR keeps the last members, so the
/// first of them to come back leads with everything acknowledged — unless
/// <c>unclean.leader.election.enable</c>, when any live replica may lead and what it lacks is lost
/// (the caller logs it);</item>
/// <item>the leader's ISR changes (AlterPartition) are fenced by leader and partition epoch.</item>
/// </list>
/// </summary>
public static class LeaderElection
{
    /// <summary>
    /// The state after the live broker set became <paramref name="live"/>; the same instance when
    /// nothing changes. <paramref name="unclean"/> is set when an out-of-sync replica was made leader.
    /// <paramref name="minInsync"/> is the topic's min.insync.replicas (the eligible leader replicas
    /// follow from it).
    /// </summary>
    public static PartitionState OnLiveBrokers(PartitionState state, IReadOnlySet<int> live, int minInsync, bool allowUnclean, out bool unclean)
    {
        unclean = false;
        if (state.HasLeader && live.Contains(state.Leader))
        {
            // The leader stays; followers that died leave the ISR at once (as Kafka's controller
            // does on a broker's death) so acks=all does not wait for them.
            var isr = Array.FindAll(state.Isr, live.Contains);
            return isr.Length == state.Isr.Length ? state : WithIsr(state, isr, minInsync);
        }

        foreach (int candidate in state.Replicas)
        {
            if (live.Contains(candidate) && Array.IndexOf(state.Isr, candidate) >= 0)
            {
                return WithIsr(state, Array.FindAll(state.Isr, live.Contains), minInsync) with { Leader = candidate, LeaderEpoch = state.LeaderEpoch + 1 };
            }
        }

        // No live in-sync replica: an eligible leader replica has every committed record (the high
        // watermark stood still since it left the ISR), so it leads cleanly, alone in the ISR; the
        // last ISR members join the eligible ones (KIP-966).
        foreach (int candidate in state.Replicas)
        {
            if (live.Contains(candidate) && Array.IndexOf(state.EligibleLeaders, candidate) >= 0)
            {
                return WithIsr(state, [candidate], minInsync) with { Leader = candidate, LeaderEpoch = state.LeaderEpoch + 1 };
            }
        }

        if (allowUnclean)
        {
            foreach (int candidate in state.Replicas)
            {
                if (live.Contains(candidate))
                {
                    unclean = true;
                    return state with { Leader = candidate, LeaderEpoch = state.LeaderEpoch + 1, Isr = [candidate], EligibleLeaders = [], PartitionEpoch = state.PartitionEpoch + 1 };
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
    /// Replicas it drops while it is below <paramref name="minInsync"/> become eligible leaders.
    /// </summary>
    public static PartitionState? AlterIsr(PartitionState state, int leader, int leaderEpoch, int partitionEpoch, int[] isr, int minInsync, out ReplicaStateError error)
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
        return ordered.AsSpan().SequenceEqual(state.Isr) ? state : WithIsr(state, ordered, minInsync);
    }

    /// <summary>
    /// The ISR size below which the high watermark stands still and dropped members stay eligible:
    /// min.insync.replicas, but never more than the replicas (a topic with fewer replicas than its
    /// min.insync.replicas refuses acks=all, yet its acks=1 records still become readable).
    /// </summary>
    public static int EffectiveMinInsync(int minInsync, int replicas) => Math.Max(1, Math.Min(minInsync, replicas));

    /// <summary>
    /// <paramref name="state"/> with the ISR <paramref name="isr"/> (a new partition epoch) and the
    /// eligible leader replicas that follow (KIP-966): members it drops while it is below
    /// min.insync.replicas join them (the high watermark cannot have passed what they hold), members
    /// it takes in leave them, and all of them go once it is back at min.insync.replicas (the high
    /// watermark moves again and may leave them behind).
    /// </summary>
    private static PartitionState WithIsr(PartitionState state, int[] isr, int minInsync)
    {
        var eligible = isr.Length >= EffectiveMinInsync(minInsync, state.Replicas.Length)
            ? []
            : Array.FindAll(state.Replicas, r => Array.IndexOf(isr, r) < 0 && (Array.IndexOf(state.Isr, r) >= 0 || Array.IndexOf(state.EligibleLeaders, r) >= 0));
        return state with { Isr = isr, EligibleLeaders = eligible, PartitionEpoch = state.PartitionEpoch + 1 };
    }

    /// <summary>
    /// Preferred leader election (ElectLeaders PREFERRED): the first replica leads if it is live and
    /// in sync (else null, <see cref="ReplicaStateError.NotLeader"/>); the same instance with
    /// <see cref="ReplicaStateError.ElectionNotNeeded"/> when it leads already.
    /// </summary>
    public static PartitionState? ElectPreferred(PartitionState state, IReadOnlySet<int> live, out ReplicaStateError error)
    {
        int preferred = state.Replicas[0];
        if (state.Leader == preferred)
        {
            error = ReplicaStateError.ElectionNotNeeded;
            return state;
        }

        if (!live.Contains(preferred) || Array.IndexOf(state.Isr, preferred) < 0)
        {
            error = ReplicaStateError.NotLeader;
            return null;
        }

        error = ReplicaStateError.None;
        return state with { Leader = preferred, LeaderEpoch = state.LeaderEpoch + 1, PartitionEpoch = state.PartitionEpoch + 1 };
    }

    /// <summary>
    /// Unclean election asked by an operator (ElectLeaders UNCLEAN) for a partition without a live
    /// leader: a live in-sync replica if there is one (nothing is lost), else the first live replica
    /// in replica order (an eligible leader replica first, which loses nothing), which becomes the whole ISR (<paramref name="lossy"/>: records only the old
    /// ISR had are lost). A partition with a live leader is left alone (ELECTION_NOT_NEEDED).
    /// </summary>
    public static PartitionState? ElectUnclean(PartitionState state, IReadOnlySet<int> live, int minInsync, out ReplicaStateError error, out bool lossy)
    {
        lossy = false;
        if (state.HasLeader && live.Contains(state.Leader))
        {
            error = ReplicaStateError.ElectionNotNeeded;
            return state;
        }

        var clean = OnLiveBrokers(state, live, minInsync, allowUnclean: true, out lossy);
        if (clean.HasLeader)
        {
            error = ReplicaStateError.None;
            return clean;
        }

        error = ReplicaStateError.EligibleLeadersNotAvailable;
        return null;
    }

    /// <summary>
    /// Starts moving the partition to <paramref name="target"/> (Kafka's AlterPartitionReassignments,
    /// KIP-455): the replicas become the target followed by the original ones it drops, the new
    /// ones are <see cref="PartitionState.AddingReplicas"/> (followers that fetch and join the ISR
    /// through the leader's ISR expansion), the dropped ones <see cref="PartitionState.RemovingReplicas"/>.
    /// A new target replaces a reassignment in progress (measured from the original replicas). When
    /// nothing needs adding the move completes at once. Every target broker must be live and named
    /// once (else null, <see cref="ReplicaStateError.InvalidReplicaAssignment"/>).
    /// </summary>
    public static PartitionState? StartReassignment(PartitionState state, int[] target, IReadOnlySet<int> live, out ReplicaStateError error)
    {
        if (target.Length == 0 || target.Distinct().Count() != target.Length || !Array.TrueForAll(target, live.Contains))
        {
            error = ReplicaStateError.InvalidReplicaAssignment;
            return null;
        }

        error = ReplicaStateError.None;
        var original = state.OriginalReplicas;
        if (!state.IsReassigning && target.AsSpan().SequenceEqual(state.Replicas))
        {
            return state;
        }

        var union = target.Concat(original.Where(r => Array.IndexOf(target, r) < 0)).ToArray();
        var moving = state with
        {
            Replicas = union,
            AddingReplicas = Array.FindAll(target, r => Array.IndexOf(original, r) < 0),
            RemovingReplicas = Array.FindAll(original, r => Array.IndexOf(target, r) < 0),
            PartitionEpoch = state.PartitionEpoch + 1,
        };

        // A replaced reassignment may drop replicas it was adding: they leave the ISR, and the
        // leader too if it was one of them.
        moving = LeadWithin(moving, union);
        return CompleteReassignment(moving);
    }

    /// <summary>
    /// Completes a reassignment whose adding replicas are all in the ISR: the replicas become the
    /// target, the ISR keeps its target members, and a leader outside the target hands over to the
    /// first target replica in the ISR (new leader epoch). The same instance otherwise.
    /// </summary>
    public static PartitionState CompleteReassignment(PartitionState state)
    {
        if (!state.IsReassigning || !Array.TrueForAll(state.AddingReplicas, r => Array.IndexOf(state.Isr, r) >= 0))
        {
            return state;
        }

        var target = state.TargetReplicas;
        if (!Array.Exists(target, r => Array.IndexOf(state.Isr, r) >= 0))
        {
            return state; // no target replica in sync yet (a target within the original replicas): wait for one
        }

        var done = state with { Replicas = target, AddingReplicas = [], RemovingReplicas = [], PartitionEpoch = state.PartitionEpoch + 1 };
        return LeadWithin(done, target);
    }

    /// <summary>
    /// Cancels the reassignment in progress (AlterPartitionReassignments with null replicas): back
    /// to the original replicas; a leader that was an adding replica hands over to the first
    /// original replica in the ISR. Null with <see cref="ReplicaStateError.NoReassignmentInProgress"/> when none runs.
    /// </summary>
    public static PartitionState? CancelReassignment(PartitionState state, out ReplicaStateError error)
    {
        if (!state.IsReassigning)
        {
            error = ReplicaStateError.NoReassignmentInProgress;
            return null;
        }

        error = ReplicaStateError.None;
        var original = state.OriginalReplicas;
        var back = state with { Replicas = original, AddingReplicas = [], RemovingReplicas = [], PartitionEpoch = state.PartitionEpoch + 1 };
        return LeadWithin(back, original);
    }

    /// <summary>
    /// <paramref name="state"/> with its ISR cut to <paramref name="replicas"/> (in replica order) and,
    /// when the leader is not among them, the first of them in the ISR leading at a new leader epoch
    /// (none in the ISR: no leader, and the ISR keeps its last members for the controller's election).
    /// </summary>
    private static PartitionState LeadWithin(PartitionState state, int[] replicas)
    {
        var isr = Array.FindAll(replicas, r => Array.IndexOf(state.Isr, r) >= 0);
        var eligible = Array.FindAll(state.EligibleLeaders, r => Array.IndexOf(replicas, r) >= 0);
        bool changed = !isr.AsSpan().SequenceEqual(state.Isr) || eligible.Length != state.EligibleLeaders.Length;
        if (state.Leader == PartitionState.NoLeader || Array.IndexOf(replicas, state.Leader) >= 0)
        {
            return changed && isr.Length > 0 ? state with { Isr = isr, EligibleLeaders = eligible, PartitionEpoch = state.PartitionEpoch + 1 } : state;
        }

        return isr.Length > 0
            ? state with { Leader = isr[0], LeaderEpoch = state.LeaderEpoch + 1, Isr = isr, EligibleLeaders = eligible, PartitionEpoch = state.PartitionEpoch + 1 }
            : state with { Leader = PartitionState.NoLeader, LeaderEpoch = state.LeaderEpoch + 1, PartitionEpoch = state.PartitionEpoch + 1 };
    }
}
