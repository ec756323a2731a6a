using OrleansMQ.Silo.Topics;

namespace OrleansMQ.Silo.Grains;

/// <summary>Persisted state of a topic.</summary>
public sealed class TopicState
{
    public bool Exists { get; set; }

    public Guid TopicId { get; set; }

    public int Partitions { get; set; }

    public Dictionary<string, string> Configs { get; set; } = new(StringComparer.Ordinal);

    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>Why a topic operation was refused (the Kafka handlers map these to error codes).</summary>
public enum TopicError
{
    None,
    InvalidTopic,
    AlreadyExists,
    UnknownTopic,
    InvalidPartitions,
    InvalidReplicationFactor,
    InvalidConfig,
}

/// <summary>Outcome of a topic operation: an error and the message to show the user.</summary>
public readonly record struct TopicResult(TopicError Error, string? Message = null)
{
    public static TopicResult Ok { get; } = new(TopicError.None);

    public bool IsOk => Error == TopicError.None;
}

/// <summary>
/// Owner of one topic (key: topic name): partitions, configs, create/delete/add partitions and
/// alter configs, one call at a time. Knows nothing of the wire format; the result is published
/// to the <see cref="TopicCatalog"/> the data path reads.
/// </summary>
public sealed class TopicGrain : Grain<TopicState>
{
    /// <summary>More partitions than this in one topic is refused (INVALID_PARTITIONS).</summary>
    public const int MaxPartitions = 100_000;

    private readonly TopicCatalog _catalog;
    private readonly int _brokerCount;

    public TopicGrain(TopicCatalog catalog, int brokerCount = 1)
    {
        _catalog = catalog;
        _brokerCount = brokerCount;
    }

    public bool Exists => State.Exists;

    protected override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (State.Exists)
        {
            Publish();
        }

        return Task.CompletedTask;
    }

    /// <summary>Creates the topic. <paramref name="partitions"/> and <paramref name="replicationFactor"/> of -1 take the broker defaults.</summary>
    public async Task<TopicResult> CreateAsync(int partitions, short replicationFactor, IReadOnlyCollection<KeyValuePair<string, string?>> configs, bool validateOnly, int defaultPartitions)
    {
        if (TopicNames.Validate(Key) is { } nameError)
        {
            return new TopicResult(TopicError.InvalidTopic, nameError);
        }

        if (State.Exists || Key == TopicNames.ConsumerOffsets)
        {
            return new TopicResult(TopicError.AlreadyExists, Key == TopicNames.ConsumerOffsets ? $"'{Key}' is the broker's internal offsets topic." : $"Topic '{Key}' already exists.");
        }

        if (partitions == -1)
        {
            partitions = defaultPartitions;
        }

        if (partitions < 1 || partitions > MaxPartitions)
        {
            return new TopicResult(TopicError.InvalidPartitions, $"Number of partitions must be between 1 and {MaxPartitions}; got {partitions}.");
        }

        if (replicationFactor == -1)
        {
            replicationFactor = 1;
        }

        if (replicationFactor < 1 || replicationFactor > _brokerCount)
        {
            return new TopicResult(TopicError.InvalidReplicationFactor, $"Replication factor: {replicationFactor} larger than available brokers: {_brokerCount}.");
        }

        var config = TopicConfig.TryCreate(configs, out var configError);
        if (config is null)
        {
            return new TopicResult(TopicError.InvalidConfig, configError);
        }

        if (validateOnly)
        {
            return TopicResult.Ok;
        }

        State = new TopicState
        {
            Exists = true,
            TopicId = Guid.NewGuid(),
            Partitions = partitions,
            Configs = new Dictionary<string, string>(config.Values, StringComparer.Ordinal),
            CreatedAt = DateTimeOffset.UtcNow,
        };
        await WriteStateAsync().ConfigureAwait(false);
        Publish();
        return TopicResult.Ok;
    }

    public async Task<TopicResult> DeleteAsync()
    {
        if (!State.Exists)
        {
            return new TopicResult(TopicError.UnknownTopic, $"Topic '{Key}' does not exist.");
        }

        await ClearStateAsync().ConfigureAwait(false);
        _catalog.Remove(Key);
        return TopicResult.Ok;
    }

    /// <summary>Grows the topic to <paramref name="totalCount"/> partitions (Kafka never shrinks a topic).</summary>
    public async Task<TopicResult> AddPartitionsAsync(int totalCount, bool validateOnly)
    {
        if (!State.Exists)
        {
            return new TopicResult(TopicError.UnknownTopic, $"Topic '{Key}' does not exist.");
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
        await WriteStateAsync().ConfigureAwait(false);
        Publish();
        return TopicResult.Ok;
    }

    /// <summary>Sets (or, with a null value, resets) configs.</summary>
    public async Task<TopicResult> AlterConfigsAsync(IReadOnlyCollection<KeyValuePair<string, string?>> changes, bool replaceAll, bool validateOnly)
    {
        if (!State.Exists)
        {
            return new TopicResult(TopicError.UnknownTopic, $"Topic '{Key}' does not exist.");
        }

        var current = replaceAll ? TopicConfig.Empty : TopicConfig.TryCreate(State.Configs.Select(kv => new KeyValuePair<string, string?>(kv.Key, kv.Value)), out _)!;
        var updated = current.TryWith(changes, out var error);
        if (updated is null)
        {
            return new TopicResult(TopicError.InvalidConfig, error);
        }

        if (validateOnly)
        {
            return TopicResult.Ok;
        }

        State.Configs = new Dictionary<string, string>(updated.Values, StringComparer.Ordinal);
        await WriteStateAsync().ConfigureAwait(false);
        Publish();
        return TopicResult.Ok;
    }

    private void Publish()
    {
        var config = TopicConfig.TryCreate(State.Configs.Select(kv => new KeyValuePair<string, string?>(kv.Key, kv.Value)), out _) ?? TopicConfig.Empty;
        _catalog.Publish(Key, State.TopicId, State.Partitions, config);
    }
}
