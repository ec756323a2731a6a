using Orleans;

namespace OrleansMQ.Silo.Topics;

/// <summary>
/// One partition's replication state as its topic grain decides it and every silo caches it:
/// the replicas (preferred leader first), the leader (-1: none eligible — the partition answers
/// LEADER_NOT_AVAILABLE), the leader epoch (bumped on every leader change, carried by every batch
/// the leader appends), the in-sync replicas, and the partition epoch (bumped on every change, so a
/// leader's ISR update based on an older state is refused, as Kafka's AlterPartition).
/// During a reassignment (Kafka's model, KIP-455) <see cref="Replicas"/> is the union of the
/// target and the original replicas, so the new ones are followers that fetch and join the ISR;
/// <see cref="AddingReplicas"/> and <see cref="RemovingReplicas"/> say which are which (both empty
/// otherwise). <see cref="EligibleLeaders"/> are Kafka's eligible leader replicas (KIP-966).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record PartitionState(
    [property: Id(0)] int[] Replicas,
    [property: Id(1)] int Leader,
    [property: Id(2)] int LeaderEpoch,
    [property: Id(3)] int[] Isr,
    [property: Id(4)] int PartitionEpoch,
    int[]? AddingReplicas = null,
    int[]? RemovingReplicas = null,
    int[]? EligibleLeaders = null)
{
    public const int NoLeader = -1;

    /// <summary>Replicas a reassignment is adding (they are in <see cref="Replicas"/> until it completes).</summary>
    [Id(5)]
    public int[] AddingReplicas { get; init; } = AddingReplicas ?? [];

    /// <summary>Replicas a reassignment removes once every adding replica is in sync.</summary>
    [Id(6)]
    public int[] RemovingReplicas { get; init; } = RemovingReplicas ?? [];

    /// <summary>
    /// Replicas that left the ISR while it was smaller than min.insync.replicas (Kafka's ELR,
    /// KIP-966). The high watermark does not move while the ISR is that small, so each of them
    /// holds every committed record and may lead when no ISR member is live — a leader cut off
    /// from its followers that shrank the ISR to itself does not make the partition unelectable.
    /// Emptied once the ISR is back at min.insync.replicas.
    /// </summary>
    [Id(7)]
    public int[] EligibleLeaders { get; init; } = EligibleLeaders ?? [];

    public bool IsReassigning => AddingReplicas.Length > 0 || RemovingReplicas.Length > 0;

    /// <summary>The replicas the partition has once the reassignment completes (<see cref="Replicas"/> when none runs).</summary>
    public int[] TargetReplicas => RemovingReplicas.Length == 0 ? Replicas : Array.FindAll(Replicas, r => Array.IndexOf(RemovingReplicas, r) < 0);

    /// <summary>The replicas before the reassignment started (what cancelling goes back to).</summary>
    public int[] OriginalReplicas => AddingReplicas.Length == 0 ? Replicas : Array.FindAll(Replicas, r => Array.IndexOf(AddingReplicas, r) < 0);

    /// <summary>A new partition on <paramref name="replicas"/>: the first leads at epoch 0, all in sync.</summary>
    public static PartitionState Initial(int[] replicas) => new(replicas, replicas[0], 0, replicas, 0);

    public bool HasLeader => Leader != NoLeader;

    /// <summary>Replicas the live set lacks (Metadata's offline replicas).</summary>
    public int[] Offline(IReadOnlySet<int> live) => Array.FindAll(Replicas, r => !live.Contains(r));
}

/// <summary>Why a replication-state change was refused.</summary>
[GenerateSerializer]
public enum ReplicaStateError
{
    None,
    UnknownTopicOrPartition,

    /// <summary>The caller's leader epoch is older than the grain's (a deposed leader).</summary>
    FencedLeaderEpoch,

    /// <summary>The caller's partition epoch is not the grain's: it must refresh and retry.</summary>
    InvalidUpdateVersion,

    /// <summary>The caller is not the leader.</summary>
    NotLeader,

    /// <summary>The new ISR names a broker that is not a replica, or drops the leader.</summary>
    InvalidRequest,

    /// <summary>An election found the partition led as asked already (ELECTION_NOT_NEEDED).</summary>
    ElectionNotNeeded,

    /// <summary>An unclean election found no live replica (ELIGIBLE_LEADERS_NOT_AVAILABLE).</summary>
    EligibleLeadersNotAvailable,

    /// <summary>A reassignment target that is empty, repeats a broker or names one that is not live (INVALID_REPLICA_ASSIGNMENT).</summary>
    InvalidReplicaAssignment,

    /// <summary>Cancelling a reassignment of a partition that has none (NO_REASSIGNMENT_IN_PROGRESS).</summary>
    NoReassignmentInProgress,

    /// <summary>The topic's grain could not be reached in time (a retriable answer, never a dropped connection).</summary>
    Unavailable,
}
