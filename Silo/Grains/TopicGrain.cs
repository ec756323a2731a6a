using Orleans;
using Orleans.Runtime;
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
    private readonly TimeProvider _time;
    private long _version; // the directory version of this topic as this activation last published it

    public TopicGrain([PersistentState("topic")] IPersistentState<TopicState> state, TimeProvider time)
    {
        _state = state;
        _time = time;
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

        if (State.Exists || Name == TopicNames.ConsumerOffsets)
        {
            return new TopicResult(TopicError.AlreadyExists, Name == TopicNames.ConsumerOffsets ? $"'{Name}' is the broker's internal offsets topic." : $"Topic '{Name}' already exists.");
        }

        int partitions = create.Partitions == -1 ? create.DefaultPartitions : create.Partitions;
        if (partitions < 1 || partitions > MaxPartitions)
        {
            return new TopicResult(TopicError.InvalidPartitions, $"Number of partitions must be between 1 and {MaxPartitions}; got {partitions}.");
        }

        short replicationFactor = create.ReplicationFactor == -1 ? (short)1 : create.ReplicationFactor;
        if (replicationFactor < 1 || replicationFactor > create.LiveBrokers)
        {
            return new TopicResult(TopicError.InvalidReplicationFactor, $"Replication factor: {replicationFactor} larger than available brokers: {create.LiveBrokers}.");
        }

        var config = TopicConfig.TryCreate(create.Configs.Select(c => new KeyValuePair<string, string?>(c.Name, c.Value)), out var configError);
        if (config is null)
        {
            return new TopicResult(TopicError.InvalidConfig, configError);
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

    public async Task<TopicResult> AddPartitionsAsync(int totalCount, bool validateOnly)
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

        if (validateOnly)
        {
            return TopicResult.Ok;
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

    private TopicSnapshot Snapshot(long version) => new(Name, State.TopicId, State.Partitions, new Dictionary<string, string>(State.Configs, StringComparer.Ordinal), version, Deleted: false);

    /// <summary>Tells the directory (which tells every silo) and remembers the version it was given.</summary>
    private async Task<TopicSnapshot> PublishAsync()
    {
        var published = await Directory.PublishAsync(Snapshot(0)).ConfigureAwait(true);
        _version = published.Version;
        return published;
    }
}
