using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Runtime;

namespace OrleansMQ.Silo.Topics;

/// <summary>
/// The front of the topic control plane for this silo: every change goes to the topic's
/// <see cref="ITopicGrain"/> (one call at a time per topic, wherever it lives in the cluster) and
/// is applied to the local <see cref="TopicCatalog"/> before the caller hears back, so a client
/// reads its own writes on this silo; the other silos hear of it through the topic directory.
/// Reads go to the catalog; a miss asks the topic grain (a topic created through another silo
/// whose push has not arrived yet).
/// </summary>
public sealed partial class TopicService
{
    private readonly IGrainFactory _grains;
    private readonly TopicCatalog _catalog;
    private readonly ILogger _logger;

    private readonly Func<PlacementBroker[]> _liveBrokers;

    /// <param name="liveBrokers">The brokers placement may use now (this silo's view of the live ones).</param>
    /// <param name="defaultReplicationFactor">default.replication.factor; -1: min(3, live brokers).</param>
    public TopicService(IGrainFactory grains, TopicCatalog catalog, bool autoCreate, int defaultPartitions, int defaultReplicationFactor, Func<PlacementBroker[]> liveBrokers, ILogger<TopicService> logger)
    {
        _logger = logger;
        _grains = grains;
        _catalog = catalog;
        _liveBrokers = liveBrokers;
        AutoCreate = autoCreate;
        DefaultPartitions = defaultPartitions;
        DefaultReplicationFactor = defaultReplicationFactor;
    }

    public int DefaultReplicationFactor { get; }

    /// <summary>The live brokers as placement sees them.</summary>
    public PlacementBroker[] LiveBrokers => _liveBrokers();

    public bool AutoCreate { get; }

    public int DefaultPartitions { get; }

    public TopicCatalog Catalog => _catalog;

    private ITopicGrain Grain(string name) => _grains.GetGrain<ITopicGrain>(name);

    public Task<TopicResult> CreateAsync(string name, int partitions, short replicationFactor, IReadOnlyCollection<KeyValuePair<string, string?>> configs, bool validateOnly, CancellationToken cancellationToken = default) =>
        CreateAsync(name, partitions, replicationFactor, configs, validateOnly, assignments: null, cancellationToken);

    /// <summary>Creates a topic; <paramref name="assignments"/> (replica lists per partition) replace placement when given.</summary>
    public Task<TopicResult> CreateAsync(string name, int partitions, short replicationFactor, IReadOnlyCollection<KeyValuePair<string, string?>> configs, bool validateOnly, int[][]? assignments, CancellationToken cancellationToken)
    {
        // Checked here as well as in the grain: an invalid name never becomes a grain key.
        if (TopicNames.Validate(name) is { } nameError)
        {
            return Task.FromResult(new TopicResult(TopicError.InvalidTopic, nameError));
        }

        var call = new CreateTopicCall(partitions, replicationFactor, configs.Select(kv => new ConfigEntry(kv.Key, kv.Value)).ToArray(), validateOnly, DefaultPartitions, LiveBrokers, assignments, DefaultReplicationFactor);
        return ApplyAsync(() => Grain(name).CreateAsync(call), cancellationToken);
    }

    public Task<TopicResult> DeleteAsync(string name, CancellationToken cancellationToken = default) =>
        name == TopicNames.ConsumerOffsets ? Task.FromResult(Internal(name))
        : TopicNames.Validate(name) is null ? ApplyAsync(() => Grain(name).DeleteAsync(), cancellationToken) : Task.FromResult(Unknown(name));

    public Task<TopicResult> AddPartitionsAsync(string name, int totalCount, bool validateOnly, CancellationToken cancellationToken = default) =>
        AddPartitionsAsync(name, totalCount, validateOnly, assignments: null, cancellationToken);

    public Task<TopicResult> AddPartitionsAsync(string name, int totalCount, bool validateOnly, int[][]? assignments, CancellationToken cancellationToken) =>
        name == TopicNames.ConsumerOffsets ? Task.FromResult(Internal(name))
        : TopicNames.Validate(name) is null ? ApplyAsync(() => Grain(name).AddPartitionsAsync(totalCount, validateOnly, LiveBrokers, assignments), cancellationToken) : Task.FromResult(Unknown(name));

    public Task<TopicResult> AlterConfigsAsync(string name, IReadOnlyCollection<KeyValuePair<string, string?>> changes, bool replaceAll, bool validateOnly, CancellationToken cancellationToken = default) =>
        TopicNames.Validate(name) is null
            ? ApplyAsync(() => Grain(name).AlterConfigsAsync(changes.Select(kv => new ConfigEntry(kv.Key, kv.Value)).ToArray(), replaceAll, validateOnly), cancellationToken)
            : Task.FromResult(Unknown(name));

    private static TopicResult Unknown(string name) => new(TopicError.UnknownTopic, $"Topic '{name}' does not exist.");

    /// <summary>The group coordinator's partition: deleting it would lose every committed offset, and it has exactly one partition.</summary>
    private static TopicResult Internal(string name) => new(TopicError.InvalidTopic, $"'{name}' is the broker's internal offsets topic: it cannot be deleted or given partitions.");

    /// <summary>
    /// Calls the grain and applies its answer to this silo's catalog. A failure of the cluster
    /// (timeout, the grain's silo died) is a retriable answer, never a dropped connection.
    /// </summary>
    private async Task<TopicResult> ApplyAsync(Func<Task<TopicResult>> call, CancellationToken cancellationToken)
    {
        TopicResult result;
        try
        {
            result = await call().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OrleansException)
        {
            LogGrainCallFailed(_logger, ex);
            return new TopicResult(TopicError.Unavailable, "The topic's owner could not be reached; retry.");
        }

        if (result.Snapshot is { } snapshot)
        {
            _catalog.Apply(snapshot);
        }

        return result;
    }

    private async Task<TopicSnapshot?> LookupAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            return await Grain(name).GetAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OrleansException)
        {
            LogGrainCallFailed(_logger, ex);
            return null;
        }
    }

    /// <summary>
    /// The topic, auto-creating it (with the default partitions) when allowed and the name is
    /// valid. Null when it does not exist and may not be created; the error says why.
    /// </summary>
    public async ValueTask<(TopicMetadata? Topic, TopicError Error)> GetOrAutoCreateAsync(string name, bool allowAutoCreate, CancellationToken cancellationToken = default)
    {
        if (_catalog.TryGet(name, out var topic))
        {
            return (topic, TopicError.None);
        }

        if (TopicNames.Validate(name) is not null)
        {
            return (null, TopicError.InvalidTopic);
        }

        // Not cached: created through another silo and not pushed here yet, or not there at all.
        if (await LookupAsync(name, cancellationToken).ConfigureAwait(false) is { } snapshot && _catalog.Apply(snapshot) is { } known)
        {
            return (known, TopicError.None);
        }

        if (!allowAutoCreate || !AutoCreate || TopicNames.IsInternal(name))
        {
            return (null, TopicError.UnknownTopic);
        }

        var result = await CreateAsync(name, -1, -1, Array.Empty<KeyValuePair<string, string?>>(), validateOnly: false, cancellationToken).ConfigureAwait(false);
        if (!result.IsOk && result.Error != TopicError.AlreadyExists)
        {
            return (null, result.Error);
        }

        if (!_catalog.TryGet(name, out topic) && await LookupAsync(name, cancellationToken).ConfigureAwait(false) is { } created)
        {
            _catalog.Apply(created);
        }

        return _catalog.TryGet(name, out topic) ? (topic, TopicError.None) : (null, TopicError.UnknownTopic);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A topic grain call failed; the client is told to retry")]
    private static partial void LogGrainCallFailed(ILogger logger, Exception ex);
}
