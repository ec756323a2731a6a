using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Runtime;
using OrleansMQ.Silo.Replication;
using OrleansMQ.Silo.Topics;

namespace OrleansMQ.Silo.Grains;

/// <summary>
/// Owner of one topic (key: topic name): validates and applies create / delete / add partitions /
/// alter configs one call at a time, persists the topic through grain storage, then publishes the
/// result to the <see cref="ITopicDirectoryGrain"/>, which tells every silo. Knows nothing of the
/// wire format or of any silo's storage.
/// </summary>
public sealed class TopicGrain : Grain, ITopicGrain
{
    /// <summary>More partitions than this in one topic is refused (INVALID_PARTITIONS).</summary>
    public const int MaxPartitions = 100_000;

    private readonly IPersistentState<TopicState> _state;
    private readonly ReplicationSettings _replication;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private long _version; // the directory version of this topic as this activation last published it

    public TopicGrain([PersistentState("topic")] IPersistentState<TopicState> state, ReplicationSettings replication, TimeProvider time, ILogger<TopicGrain> logger)
    {
        _state = state;
        _replication = replication;
        _time = time;
        _logger = logger;
    }

    private string Name => this.GetPrimaryKeyString();

    private TopicState State => _state.State;

    private ITopicDirectoryGrain Directory => GrainFactory.GetGrain<ITopicDirectoryGrain>(ITopicDirectoryGrain.Key);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // A crash between this grain's write and the directory's leaves the directory behind:
        // republishing on activation mends it (the directory answers a change it already has with
        // the version it has, without a write), and gives this activation the directory version.
        if (State.Exists)
        {
            await PublishAsync().ConfigureAwait(true);
        }
    }

    public async Task<TopicResult> CreateAsync(CreateTopicCall create)
    {
        if (TopicNames.Validate(Name) is { } nameError)
        {
            return new TopicResult(TopicError.InvalidTopic, nameError);
        }

        if (State.Exists || (Name == TopicNames.ConsumerOffsets && !create.Internal))
        {
            return new TopicResult(TopicError.AlreadyExists, Name == TopicNames.ConsumerOffsets ? $"'{Name}' is the broker's internal offsets topic." : $"Topic '{Name}' already exists.");
        }

        int partitions = create.Partitions == -1 ? create.DefaultPartitions : create.Partitions;
        if (partitions < 1 || partitions > MaxPartitions)
        {
            return new TopicResult(TopicError.InvalidPartitions, $"Number of partitions must be between 1 and {MaxPartitions}; got {partitions}.");
        }

        var config = TopicConfig.TryCreate(create.Configs.Select(c => new KeyValuePair<string, string?>(c.Name, c.Value)), out var configError);
        if (config is null)
        {
            return new TopicResult(TopicError.InvalidConfig, configError);
        }

        var placed = Place(0, partitions, create.ReplicationFactor == -1 ? create.DefaultReplicationFactor : create.ReplicationFactor, create.LiveBrokers, create.Assignments, out var placeError);
        if (placed is null)
        {
            return placeError!;
        }

        if (create.ValidateOnly)
        {
            return TopicResult.Ok;
        }

        _state.State = new TopicState
        {
            Exists = true,
            TopicId = Guid.NewGuid(),
            Partitions = partitions,
            Configs = new Dictionary<string, string>(config.Values, StringComparer.Ordinal),
            CreatedAt = _time.GetUtcNow(),
            PartitionStates = [.. placed.Select(PartitionState.Initial)],
        };
        await _state.WriteStateAsync().ConfigureAwait(true);
        return new TopicResult(TopicError.None, null, await PublishAsync().ConfigureAwait(true));
    }

    public async Task<TopicResult> DeleteAsync()
    {
        if (!State.Exists)
        {
            return new TopicResult(TopicError.UnknownTopic, $"Topic '{Name}' does not exist.");
        }

        var topicId = State.TopicId;
        await _state.ClearStateAsync().ConfigureAwait(true);
        var tombstone = await Directory.PublishAsync(TopicSnapshot.Tombstone(Name, topicId, 0)).ConfigureAwait(true);
        DeactivateOnIdle();
        return new TopicResult(TopicError.None, null, tombstone);
    }

    public async Task<TopicResult> AddPartitionsAsync(int totalCount, bool validateOnly, PlacementBroker[] liveBrokers, int[][]? assignments)
    {
        if (!State.Exists)
        {
            return new TopicResult(TopicError.UnknownTopic, $"Topic '{Name}' does not exist.");
        }

        if (totalCount <= State.Partitions)
        {
            return new TopicResult(TopicError.InvalidPartitions, $"Topic currently has {State.Partitions} partitions, which is higher than or equal to the requested {totalCount}.");
        }

        if (totalCount > MaxPartitions)
        {
            return new TopicResult(TopicError.InvalidPartitions, $"Number of partitions must be at most {MaxPartitions}; got {totalCount}.");
        }

        // New partitions get the replication factor of the first one (Kafka's rule).
        int factor = State.PartitionStates.Count > 0 ? State.PartitionStates[0].Replicas.Length : -1;
        var placed = Place(State.Partitions, totalCount - State.Partitions, factor, liveBrokers, assignments, out var placeError);
        if (placed is null)
        {
            return placeError!;
        }

        if (validateOnly)
        {
            return TopicResult.Ok;
        }

        if (State.PartitionStates.Count == State.Partitions)
        {
            State.PartitionStates.AddRange(placed.Select(PartitionState.Initial));
        }

        State.Partitions = totalCount;
        await _state.WriteStateAsync().ConfigureAwait(true);
        return new TopicResult(TopicError.None, null, await PublishAsync().ConfigureAwait(true));
    }

    public async Task<TopicResult> AlterConfigsAsync(ConfigEntry[] changes, bool replaceAll, bool validateOnly)
    {
        if (!State.Exists)
        {
            return new TopicResult(TopicError.UnknownTopic, $"Topic '{Name}' does not exist.");
        }

        var current = replaceAll ? TopicConfig.Empty : TopicConfig.TryCreate(State.Configs.Select(kv => new KeyValuePair<string, string?>(kv.Key, kv.Value)), out _)!;
        var updated = current.TryWith(changes.Select(c => new KeyValuePair<string, string?>(c.Name, c.Value)), out var error);
        if (updated is null)
        {
            return new TopicResult(TopicError.InvalidConfig, error);
        }

        if (validateOnly)
        {
            return TopicResult.Ok;
        }

        State.Configs = new Dictionary<string, string>(updated.Values, StringComparer.Ordinal);
        await _state.WriteStateAsync().ConfigureAwait(true);
        return new TopicResult(TopicError.None, null, await PublishAsync().ConfigureAwait(true));
    }

    public Task<TopicSnapshot?> GetAsync() =>
        Task.FromResult(State.Exists ? Snapshot(_version) : null);

    public async Task<TopicSnapshot?> RepublishAsync() => State.Exists ? await PublishAsync().ConfigureAwait(true) : null;

    public async Task OnLiveBrokersAsync(PlacementBroker[] liveBrokers)
    {
        if (!State.Exists || liveBrokers.Length == 0)
        {
            return;
        }

        bool changed = false;
        if (State.PartitionStates.Count < State.Partitions)
        {
            // A topic stored before replication: one replica per partition, led where placement says.
            int missing = State.Partitions - State.PartitionStates.Count;
            var placed = ReplicaPlacement.Assign(missing, 1, liveBrokers, Random.Shared.Next(liveBrokers.Length), 0);
            State.PartitionStates.AddRange(placed.Select(PartitionState.Initial));
            changed = true;
        }

        var live = liveBrokers.Select(b => b.NodeId).ToHashSet();
        var config = Config;
        bool allowUnclean = config.Get("unclean.leader.election.enable") == "true";
        int minInsync = config.MinInsyncOr(_replication.MinInsyncReplicas);
        for (int p = 0; p < State.PartitionStates.Count; p++)
        {
            var before = State.PartitionStates[p];
            var after = LeaderElection.OnLiveBrokers(before, live, minInsync, allowUnclean, out bool unclean);
            if (!ReferenceEquals(before, after))
            {
                State.PartitionStates[p] = after;
                changed = true;
                LogElection(p, before, after, unclean);
            }
        }

        if (changed)
        {
            await _state.WriteStateAsync().ConfigureAwait(true);
            await PublishAsync().ConfigureAwait(true);
        }
    }

    public async Task<PartitionChange> AlterIsrAsync(int partition, int leader, int leaderEpoch, int partitionEpoch, int[] isr)
    {
        if (!State.Exists || (uint)partition >= (uint)State.PartitionStates.Count)
        {
            return new PartitionChange(partition, ReplicaStateError.UnknownTopicOrPartition, null);
        }

        var before = State.PartitionStates[partition];
        var after = LeaderElection.AlterIsr(before, leader, leaderEpoch, partitionEpoch, isr, Config.MinInsyncOr(_replication.MinInsyncReplicas), out var error);
        if (after is null)
        {
            return new PartitionChange(partition, error, before);
        }

        // A reassignment completes when the leader's ISR expansion brings in its last adding replica.
        var completed = LeaderElection.CompleteReassignment(after);
        if (!ReferenceEquals(completed, after))
        {
            TopicGrainLog.ReassignmentCompleted(_logger, Name, partition, before.Replicas, completed.Replicas, completed.Leader, completed.LeaderEpoch);
            after = completed;
        }

        if (ReferenceEquals(after, before))
        {
            return new PartitionChange(partition, ReplicaStateError.None, before, Snapshot(_version));
        }

        State.PartitionStates[partition] = after;
        await _state.WriteStateAsync().ConfigureAwait(true);
        LogIsrChanged(partition, before, after);
        return new PartitionChange(partition, ReplicaStateError.None, after, await PublishAsync().ConfigureAwait(true));
    }

    public Task<PartitionChange[]> ElectPreferredAsync(int[]? partitions, int[] liveBrokers)
    {
        var live = liveBrokers.ToHashSet();
        return DecideAsync(
            partitions ?? AllPartitions,
            (int _, PartitionState before, out ReplicaStateError error) => LeaderElection.ElectPreferred(before, live, out error),
            (_, p, before, after) => LogElection(p, before, after, unclean: false));
    }

    public Task<PartitionChange[]> ElectUncleanAsync(int[]? partitions, int[] liveBrokers)
    {
        var live = liveBrokers.ToHashSet();
        int minInsync = Config.MinInsyncOr(_replication.MinInsyncReplicas);
        bool lossy = false;
        return DecideAsync(
            partitions ?? AllPartitions,
            (int _, PartitionState before, out ReplicaStateError error) => LeaderElection.ElectUnclean(before, live, minInsync, out error, out lossy),
            (_, p, before, after) => LogElection(p, before, after, lossy));
    }

    public Task<PartitionChange[]> ReassignAsync(PartitionReassignment[] reassignments, int[] liveBrokers)
    {
        var live = liveBrokers.ToHashSet();
        return DecideAsync(
            [.. reassignments.Select(r => r.Partition)],
            (int i, PartitionState before, out ReplicaStateError error) => reassignments[i].Replicas is { } target
                ? LeaderElection.StartReassignment(before, target, live, out error)
                : LeaderElection.CancelReassignment(before, out error),
            (i, p, before, after) => TopicGrainLog.Reassigned(_logger, Name, p, reassignments[i].Replicas is null ? "cancelled" : "started", before.Replicas, after.Replicas, after.AddingReplicas, after.RemovingReplicas, after.Leader, after.LeaderEpoch));
    }

    private int[] AllPartitions => [.. Enumerable.Range(0, State.PartitionStates.Count)];

    /// <summary>One decision for the partition at position i of a request (out: why it was refused); null refuses.</summary>
    private delegate PartitionState? PartitionDecision(int index, PartitionState before, out ReplicaStateError error);

    /// <summary>
    /// Applies <paramref name="decide"/> to each of <paramref name="partitions"/> (unknown ones are
    /// answered UNKNOWN_TOPIC_OR_PARTITION), logs each change, then persists and publishes once.
    /// </summary>
    private async Task<PartitionChange[]> DecideAsync(int[] partitions, PartitionDecision decide, Action<int, int, PartitionState, PartitionState> log)
    {
        if (!State.Exists)
        {
            return [.. partitions.Select(p => new PartitionChange(p, ReplicaStateError.UnknownTopicOrPartition, null))];
        }

        var results = new List<PartitionChange>(partitions.Length);
        bool changed = false;
        for (int i = 0; i < partitions.Length; i++)
        {
            int p = partitions[i];
            if ((uint)p >= (uint)State.PartitionStates.Count)
            {
                results.Add(new PartitionChange(p, ReplicaStateError.UnknownTopicOrPartition, null));
                continue;
            }

            var before = State.PartitionStates[p];
            var after = decide(i, before, out var error);
            if (after is not null && !ReferenceEquals(after, before))
            {
                State.PartitionStates[p] = after;
                changed = true;
                log(i, p, before, after);
            }

            results.Add(new PartitionChange(p, error, after ?? before));
        }

        return await SaveAsync(changed, results).ConfigureAwait(true);
    }

    /// <summary>Persists and publishes the changed states (when any) and hands every result the published snapshot, so the calling silo reads its own write.</summary>
    private async Task<PartitionChange[]> SaveAsync(bool changed, List<PartitionChange> results)
    {
        if (!changed)
        {
            return [.. results];
        }

        await _state.WriteStateAsync().ConfigureAwait(true);
        var published = await PublishAsync().ConfigureAwait(true);
        return [.. results.Select(r => r with { Snapshot = published })];
    }

    private TopicConfig Config => TopicConfig.TryCreate(State.Configs.Select(kv => new KeyValuePair<string, string?>(kv.Key, kv.Value)), out _) ?? TopicConfig.Empty;

    /// <summary>
    /// Replica lists for <paramref name="count"/> partitions from <paramref name="first"/>: the
    /// explicit <paramref name="assignments"/> (checked against the live brokers) or placement with
    /// <paramref name="factor"/> (-1: min(3, live brokers)). Null with the refusal otherwise.
    /// </summary>
    private static int[][]? Place(int first, int count, int factor, PlacementBroker[] live, int[][]? assignments, out TopicResult? error)
    {
        error = null;
        if (assignments is not null)
        {
            var ids = live.Select(b => b.NodeId).ToHashSet();
            int width = assignments.Length > 0 ? assignments[0].Length : 0;
            foreach (var replicas in assignments)
            {
                if (replicas.Length == 0 || replicas.Length != width || replicas.Distinct().Count() != replicas.Length || !replicas.All(ids.Contains))
                {
                    error = new TopicResult(TopicError.InvalidReplicaAssignment, $"Replica assignment {replicas} for partition {first} is invalid: every partition needs the same number of distinct replicas, each a live broker ({string.Join(',', ids.Order())}).");
                    return null;
                }
            }

            if (assignments.Length != count)
            {
                error = new TopicResult(TopicError.InvalidReplicaAssignment, $"{assignments.Length} replica assignments for {count} partitions.");
                return null;
            }

            return assignments;
        }

        int rf = factor == -1 ? Math.Min(3, live.Length) : factor;
        if (rf < 1 || rf > live.Length)
        {
            error = new TopicResult(TopicError.InvalidReplicationFactor, $"Replication factor: {rf} larger than available brokers: {live.Length}.");
            return null;
        }

        try
        {
            return ReplicaPlacement.Assign(count, rf, live, Random.Shared.Next(live.Length), Random.Shared.Next(live.Length));
        }
        catch (ArgumentException ex)
        {
            error = new TopicResult(TopicError.InvalidReplicationFactor, ex.Message);
            return null;
        }
    }

    private void LogElection(int partition, PartitionState before, PartitionState after, bool unclean)
    {
        if (unclean)
        {
            TopicGrainLog.UncleanElection(_logger, Name, partition, after.Leader, after.LeaderEpoch, before.Isr);
        }
        else
        {
            TopicGrainLog.LeaderChanged(_logger, Name, partition, before.Leader, after.Leader, after.LeaderEpoch, after.Isr, after.EligibleLeaders);
        }
    }

    private void LogIsrChanged(int partition, PartitionState before, PartitionState after)
    {
        TopicGrainLog.IsrChanged(_logger, Name, partition, before.Isr, after.Isr, after.EligibleLeaders, after.LeaderEpoch, after.PartitionEpoch);
    }

    private TopicSnapshot Snapshot(long version) => new(Name, State.TopicId, State.Partitions, new Dictionary<string, string>(State.Configs, StringComparer.Ordinal), version, Deleted: false, [.. State.PartitionStates]);

    /// <summary>Tells the directory (which tells every silo) and remembers the version it was given.</summary>
    private async Task<TopicSnapshot> PublishAsync()
    {
        var published = await Directory.PublishAsync(Snapshot(0)).ConfigureAwait(true);
        _version = published.Version;
        return published;
    }
}

internal static partial class TopicGrainLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "{Topic}-{Partition}: leader {Before} -> {After} at leader epoch {Epoch}, ISR {Isr}, eligible leaders {Eligible}")]
    public static partial void LeaderChanged(ILogger logger, string topic, int partition, int before, int after, int epoch, int[] isr, int[] eligible);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Topic}-{Partition}: UNCLEAN leader election (unclean.leader.election.enable=true): broker {Leader} leads at epoch {Epoch} although it was not in the ISR ({Isr}); records it lacks that the ISR acknowledged are lost")]
    public static partial void UncleanElection(ILogger logger, string topic, int partition, int leader, int epoch, int[] isr);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Topic}-{Partition}: reassignment {What}: replicas {Before} -> {After} (adding {Adding}, removing {Removing}), leader {Leader} at epoch {Epoch}")]
    public static partial void Reassigned(ILogger logger, string topic, int partition, string what, int[] before, int[] after, int[] adding, int[] removing, int leader, int epoch);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Topic}-{Partition}: reassignment completed: replicas {Before} -> {After}, leader {Leader} at epoch {Epoch}; removed replicas stop following (their data stays on disk)")]
    public static partial void ReassignmentCompleted(ILogger logger, string topic, int partition, int[] before, int[] after, int leader, int epoch);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Topic}-{Partition}: ISR {Before} -> {After}, eligible leaders {Eligible} (leader epoch {Epoch}, partition epoch {PartitionEpoch})")]
    public static partial void IsrChanged(ILogger logger, string topic, int partition, int[] before, int[] after, int[] eligible, int epoch, int partitionEpoch);
}
