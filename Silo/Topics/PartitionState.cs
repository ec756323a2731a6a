using Orleans;

namespace OrleansMQ.Silo.Topics;

/// <summary>
/// One partition's replication state as its topic grain decides it and every silo caches it:
/// the replicas (preferred leader first), the leader (-1: none eligible — the partition answers
/// LEADER_NOT_AVAILABLE), the leader epoch (bumped on every leader change, carried by every batch
/// the leader appends), the in-sync replicas, and the partition epoch (bumped on every change, so a
/// leader's ISR update based on an older state is refused, as Kafka's AlterPartition).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record PartitionState(
    [property: Id(0)] int[] Replicas,
    [property: Id(1)] int Leader,
    [property: Id(2)] int LeaderEpoch,
    [property: Id(3)] int[] Isr,
    [property: Id(4)] int PartitionEpoch)
{
    public const int NoLeader = -1;

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
}
