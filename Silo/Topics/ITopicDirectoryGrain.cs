using Orleans;

namespace OrleansMQ.Silo.Topics;

/// <summary>
/// The cluster's list of topics (one activation, key <see cref="Key"/>): topic grains publish
/// every change here; it persists the list (so a starting silo learns every topic with one call)
/// and pushes each change to the subscribed silos' catalogs.
/// </summary>
public interface ITopicDirectoryGrain : IGrainWithStringKey
{
    public const string Key = "topics";

    /// <summary>Records a change (a tombstone for a deletion) and returns it stamped with its directory version.</summary>
    Task<TopicSnapshot> PublishAsync(TopicSnapshot snapshot);

    /// <summary>
    /// Subscribes (or renews) a silo's observer. Returns every live topic when the directory's
    /// version differs from <paramref name="knownVersion"/>, or null when the silo is up to date.
    /// </summary>
    Task<TopicDirectoryView?> SubscribeAsync(ITopicCatalogObserver observer, long knownVersion);

    Task UnsubscribeAsync(ITopicCatalogObserver observer);

    /// <summary>The names of every live topic (the controller walks them when brokers come and go).</summary>
    [Orleans.Concurrency.ReadOnly]
    Task<string[]> ListNamesAsync();
}

/// <summary>Every live topic and the directory version they were read at.</summary>
[GenerateSerializer, Immutable]
public sealed record TopicDirectoryView([property: Id(0)] long Version, [property: Id(1)] TopicSnapshot[] Topics);

/// <summary>A silo's topic cache, told of every change (one-way: the directory never waits for a silo).</summary>
public interface ITopicCatalogObserver : IGrainObserver
{
    [Orleans.Concurrency.OneWay]
    Task OnTopicChanged(TopicSnapshot snapshot);
}
