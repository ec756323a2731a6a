using OrleansMQ.Storage.Engine;

namespace OrleansMQ.Silo.Topics;

/// <summary>What this silo is for one partition.</summary>
public enum ReplicaRole
{
    /// <summary>Not a replica: produce and fetch are answered NOT_LEADER_OR_FOLLOWER.</summary>
    None,

    /// <summary>Copies the leader's log by fetching from it.</summary>
    Follower,

    /// <summary>Takes produce, serves fetches, tracks its followers and the high watermark.</summary>
    Leader,
}

/// <summary>
/// One partition on this silo: its storage log, its replication state as last published, and —
/// while this silo leads it — each follower's progress and the high watermark (the ISR's smallest
/// log end: what consumers may read and what acks=all waits for). Lives as long as the partition
/// does on this silo; a new <see cref="PartitionState"/> replaces the state in place, so the
/// follower progress survives ISR changes within one leader epoch.
/// </summary>
public sealed class PartitionReplica
{
    private readonly int _self;
    private FollowerProgress[] _followers = [];
    private long _highWatermark;
    private int _minInsync = 1;
    private bool _applied; // a published state was applied (before that the placeholder state leads alone)
    private TaskCompletionSource? _waiter;

    public PartitionReplica(string topic, int partition, PartitionLog log, int self)
    {
        Topic = topic;
        Partition = partition;
        Log = log;
        _self = self;
        State = PartitionState.Initial([self]);
    }

    public string Topic { get; }

    public int Partition { get; }

    public PartitionLog Log { get; }

    /// <summary>The state last applied (replaced atomically; read without locks on the data path).</summary>
    public PartitionState State { get; private set; }

    public ReplicaRole Role { get; private set; } = ReplicaRole.Leader;

    public bool IsLeader => Role == ReplicaRole.Leader;

    public int LeaderEpoch => State.LeaderEpoch;

    /// <summary>
    /// The topic's min.insync.replicas (the topic's config, else the broker's; set by the catalog).
    /// While the ISR is smaller (capped at the replica count) the leader's high watermark stands
    /// still (KIP-966): records appended then are not committed, so a replica that left the ISR
    /// meanwhile still holds everything committed and may be elected.
    /// </summary>
    public int MinInsync
    {
        get => Volatile.Read(ref _minInsync);
        set
        {
            if (value != Volatile.Read(ref _minInsync))
            {
                PinLocalHighWatermark();
                Volatile.Write(ref _minInsync, value);
                AdvanceHighWatermark();
            }
        }
    }

    /// <summary>True when the ISR is below min.insync.replicas: the high watermark stands still.</summary>
    public bool BelowMinInsync => State.Isr.Length < LeaderElection.EffectiveMinInsync(MinInsync, State.Replicas.Length);

    /// <summary>
    /// True when this silo leads alone in the ISR and that is enough: the high watermark is the
    /// local log's, with no follower to wait for.
    /// </summary>
    private bool LocalHighWatermark => Role == ReplicaRole.Leader && State.Isr.Length == 1 && State.Isr[0] == _self && !BelowMinInsync;

    /// <summary>
    /// Offsets below this are committed: on the leader, every ISR member has them; on a follower,
    /// the leader said so (bounded by what this silo holds).
    /// </summary>
    public long HighWatermark => LocalHighWatermark ? Log.HighWatermark : Math.Min(Volatile.Read(ref _highWatermark), Log.HighWatermark);

    /// <summary>The followers this leader tracks (empty unless leading).</summary>
    public IReadOnlyList<FollowerProgress> Followers => Volatile.Read(ref _followers);

    /// <summary>
    /// Applies a newer state. Returns what changed for this silo: a new role, or a new leader epoch
    /// in the same role (a follower must truncate and fetch from the new leader; a leader re-stamps).
    /// </summary>
    public ReplicaTransition Apply(PartitionState state, long nowMs)
    {
        var before = State;
        if (state.LeaderEpoch < before.LeaderEpoch || (state.LeaderEpoch == before.LeaderEpoch && state.PartitionEpoch < before.PartitionEpoch))
        {
            return ReplicaTransition.None; // older than what this silo acts on already
        }

        var role = state.Leader == _self ? ReplicaRole.Leader : Array.IndexOf(state.Replicas, _self) >= 0 ? ReplicaRole.Follower : ReplicaRole.None;
        bool newEpoch = state.LeaderEpoch != before.LeaderEpoch;
        if (role == ReplicaRole.Leader)
        {
            // Followers (replicas but self) keep their progress within one leader epoch; a new
            // epoch starts them over, caught up as of now if they are in the ISR (Kafka's rule,
            // so a new leader does not shrink the ISR before followers had a chance to fetch).
            var old = newEpoch || Role != ReplicaRole.Leader ? [] : _followers;
            var followers = new List<FollowerProgress>();
            foreach (int r in state.Replicas)
            {
                if (r == _self)
                {
                    continue;
                }

                var kept = Array.Find(old, f => f.NodeId == r);
                followers.Add(kept ?? new FollowerProgress(r, Array.IndexOf(state.Isr, r) >= 0 ? nowMs : 0));
            }

            Volatile.Write(ref _followers, followers.ToArray());
            if (Role != ReplicaRole.Leader)
            {
                // A new leader's high watermark starts where it knew it to be and moves up as its
                // followers fetch; it never goes back.
                Volatile.Write(ref _highWatermark, Math.Min(Volatile.Read(ref _highWatermark), Log.HighWatermark));
            }
        }
        else
        {
            Volatile.Write(ref _followers, []);
        }

        var previousRole = Role;
        PinLocalHighWatermark();
        State = state;
        Role = role;
        _applied = true;
        if (role == ReplicaRole.Leader)
        {
            AdvanceHighWatermark();
        }

        Wake(); // waiters re-check: leadership may have moved away
        if (role != previousRole)
        {
            return role switch
            {
                ReplicaRole.Leader => ReplicaTransition.BecameLeader,
                ReplicaRole.Follower => ReplicaTransition.BecameFollower,
                _ => ReplicaTransition.Stopped,
            };
        }

        return newEpoch && role != ReplicaRole.None ? (role == ReplicaRole.Leader ? ReplicaTransition.BecameLeader : ReplicaTransition.BecameFollower) : ReplicaTransition.None;
    }

    /// <summary>
    /// Leader: a follower fetched from <paramref name="fetchOffset"/> (its log end). Follows Kafka's
    /// rule for "caught up": the follower reached the leader's log end as of this fetch, or as of
    /// its previous fetch (so a steadily produced partition does not look lagging forever).
    /// Returns the follower's progress, or null when it is not a replica.
    /// </summary>
    public FollowerProgress? OnFollowerFetch(int nodeId, long fetchOffset, long nowMs)
    {
        var follower = Array.Find(Volatile.Read(ref _followers), f => f.NodeId == nodeId);
        if (follower is null)
        {
            return null;
        }

        long leaderEnd = Log.HighWatermark;
        lock (follower)
        {
            if (fetchOffset >= leaderEnd)
            {
                follower.LastCaughtUpMs = nowMs;
            }
            else if (fetchOffset >= follower.LastFetchLeaderEnd)
            {
                follower.LastCaughtUpMs = Math.Max(follower.LastCaughtUpMs, follower.LastFetchMs);
            }

            follower.LogEnd = fetchOffset;
            follower.LastFetchLeaderEnd = leaderEnd;
            follower.LastFetchMs = nowMs;
        }

        AdvanceHighWatermark();
        return follower;
    }

    /// <summary>Follower: the leader's high watermark from a fetch answer.</summary>
    public void OnLeaderHighWatermark(long leaderHighWatermark)
    {
        if (leaderHighWatermark > Volatile.Read(ref _highWatermark))
        {
            Volatile.Write(ref _highWatermark, leaderHighWatermark);
            Wake();
        }
    }

    /// <summary>
    /// Leader: the high watermark is the smallest log end in the ISR (never moving back), and
    /// stands still while the ISR is below min.insync.replicas.
    /// </summary>
    public void AdvanceHighWatermark()
    {
        if (Role != ReplicaRole.Leader || BelowMinInsync)
        {
            return;
        }

        long min = Log.HighWatermark;
        var isr = State.Isr;
        foreach (var f in Volatile.Read(ref _followers))
        {
            if (Array.IndexOf(isr, f.NodeId) >= 0)
            {
                min = Math.Min(min, f.LogEnd);
            }
        }

        if (RaiseHighWatermark(min))
        {
            Wake();
        }
    }

    /// <summary>Completes when the high watermark may have moved or the role changed (callers re-check), or on cancellation.</summary>
    public Task WaitForChangeAsync(long highWatermarkAbove, CancellationToken cancellationToken)
    {
        if (HighWatermark > highWatermarkAbove)
        {
            return Task.CompletedTask;
        }

        var tcs = Volatile.Read(ref _waiter);
        if (tcs is null)
        {
            var created = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            tcs = Interlocked.CompareExchange(ref _waiter, created, null) ?? created;
        }

        if (HighWatermark > highWatermarkAbove)
        {
            return Task.CompletedTask;
        }

        // The local log's growth moves a sole-in-sync leader's high watermark without a follower.
        return LocalHighWatermark
            ? Task.WhenAny(tcs.Task, Log.WaitForDataAsync(highWatermarkAbove, cancellationToken)).Unwrap().WaitAsync(cancellationToken)
            : tcs.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Before the state or min.insync.replicas changes: a high watermark read from the local log
    /// is written down, so it never goes back when it stops being read from there. Not for the
    /// placeholder state a replica starts with: a restarted silo must not take its whole log as
    /// committed before the published state says what it is.
    /// </summary>
    private void PinLocalHighWatermark()
    {
        if (_applied && LocalHighWatermark)
        {
            RaiseHighWatermark(Log.HighWatermark);
        }
    }

    /// <summary>Moves the recorded high watermark up to <paramref name="to"/> (never down); true when it moved.</summary>
    private bool RaiseHighWatermark(long to)
    {
        long current = Volatile.Read(ref _highWatermark);
        while (to > current)
        {
            long seen = Interlocked.CompareExchange(ref _highWatermark, to, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }

        return false;
    }

    private void Wake()
    {
        if (Volatile.Read(ref _waiter) is not null)
        {
            Interlocked.Exchange(ref _waiter, null)?.TrySetResult();
        }
    }

    public override string ToString() => $"{Topic}-{Partition}";
}

/// <summary>What applying a state meant for this silo's replica.</summary>
public enum ReplicaTransition
{
    None,
    BecameLeader,
    BecameFollower,
    Stopped,
}

/// <summary>A follower as its leader sees it (guarded by itself).</summary>
public sealed class FollowerProgress(int nodeId, long lastCaughtUpMs)
{
    public int NodeId { get; } = nodeId;

    /// <summary>The follower's log end (its last fetch offset); -1 until it fetches.</summary>
    public long LogEnd { get; set; } = -1;

    public long LastCaughtUpMs { get; set; } = lastCaughtUpMs;

    public long LastFetchLeaderEnd { get; set; } = -1;

    public long LastFetchMs { get; set; }
}
