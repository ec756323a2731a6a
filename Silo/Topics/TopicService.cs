using OrleansMQ.Silo.Grains;

namespace OrleansMQ.Silo.Topics;

/// <summary>
/// The front of the topic control plane: every change goes through the topic's
/// <see cref="TopicGrain"/> (one call at a time per topic); reads go to the <see cref="TopicCatalog"/>.
/// </summary>
public sealed class TopicService
{
    private readonly GrainHost _grains;
    private readonly TopicCatalog _catalog;

    public TopicService(GrainHost grains, TopicCatalog catalog, bool autoCreate, int defaultPartitions)
    {
        _grains = grains;
        _catalog = catalog;
        AutoCreate = autoCreate;
        DefaultPartitions = defaultPartitions;
    }

    public bool AutoCreate { get; }

    public int DefaultPartitions { get; }

    public TopicCatalog Catalog => _catalog;

    /// <summary>Activates every stored topic so the catalog (and storage) know them. Run at start.</summary>
    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        foreach (var name in await _grains.Store.ListKeysAsync(nameof(TopicGrain), cancellationToken).ConfigureAwait(false))
        {
            await _grains.Get<TopicGrain>(name).CallAsync(g => Task.FromResult(g.Exists), cancellationToken).ConfigureAwait(false);
        }
    }

    public Task<TopicResult> CreateAsync(string name, int partitions, short replicationFactor, IReadOnlyCollection<KeyValuePair<string, string?>> configs, bool validateOnly, CancellationToken cancellationToken = default)
        => _grains.Get<TopicGrain>(name).CallAsync(g => g.CreateAsync(partitions, replicationFactor, configs, validateOnly, DefaultPartitions), cancellationToken);

    public Task<TopicResult> DeleteAsync(string name, CancellationToken cancellationToken = default)
        => _grains.Get<TopicGrain>(name).CallAsync(g => g.DeleteAsync(), cancellationToken);

    public Task<TopicResult> AddPartitionsAsync(string name, int totalCount, bool validateOnly, CancellationToken cancellationToken = default)
        => _grains.Get<TopicGrain>(name).CallAsync(g => g.AddPartitionsAsync(totalCount, validateOnly), cancellationToken);

    public Task<TopicResult> AlterConfigsAsync(string name, IReadOnlyCollection<KeyValuePair<string, string?>> changes, bool replaceAll, bool validateOnly, CancellationToken cancellationToken = default)
        => _grains.Get<TopicGrain>(name).CallAsync(g => g.AlterConfigsAsync(changes, replaceAll, validateOnly), cancellationToken);

    /// <summary>
    /// The topic, auto-creating it (with the default partitions) when allowed and the name is
    /// valid. Null when it does not exist and may not be created; <paramref name="error"/> says why.
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

        if (!allowAutoCreate || !AutoCreate || TopicNames.IsInternal(name))
        {
            return (null, TopicError.UnknownTopic);
        }

        var result = await CreateAsync(name, -1, -1, Array.Empty<KeyValuePair<string, string?>>(), validateOnly: false, cancellationToken).ConfigureAwait(false);
        if (!result.IsOk && result.Error != TopicError.AlreadyExists)
        {
            return (null, result.Error);
        }

        return _catalog.TryGet(name, out topic) ? (topic, TopicError.None) : (null, TopicError.UnknownTopic);
    }
}
