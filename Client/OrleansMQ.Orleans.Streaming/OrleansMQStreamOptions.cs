using OrleansMQ.Client.Producer;

namespace OrleansMQ.Streaming;

/// <summary>Where a queue (a topic partition) starts reading when its consumer group has no committed offset for it.</summary>
public enum StreamStartPosition
{
    /// <summary>Only events produced from now on (Kafka's <c>auto.offset.reset=latest</c>).</summary>
    Latest,
    /// <summary>Everything still in the partition (<c>auto.offset.reset=earliest</c>).</summary>
    Earliest,
}

/// <summary>
/// Settings of one OrleansMQ stream provider (named options: one set per provider name). Every
/// stream namespace maps to a topic; every topic has <see cref="Partitions"/> partitions, and each
/// (topic, partition) is one Orleans queue read by one pulling agent.
/// </summary>
public sealed class OrleansMQStreamOptions
{
    /// <summary>Comma-separated <c>host:port</c> list of OrleansMQ (or any Kafka) brokers. Default "localhost:9092".</summary>
    public string BootstrapServers { get; set; } = "localhost:9092";

    /// <summary>Client id sent to the brokers (shows in group descriptions and broker logs). Default "orleans-streams".</summary>
    public string ClientId { get; set; } = "orleans-streams";

    /// <summary>The topic of every stream namespace not in <see cref="NamespaceTopics"/>. Default "orleans-streams".</summary>
    public string DefaultTopic { get; set; } = "orleans-streams";

    /// <summary>Stream namespace → topic, for namespaces that get a topic of their own. Default empty.</summary>
    public Dictionary<string, string> NamespaceTopics { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Partitions of every topic the provider uses; a missing topic is created with this count and an
    /// existing one must have it (the stream → partition mapping depends on it). Default 8.
    /// </summary>
    public int Partitions { get; set; } = 8;

    /// <summary>Replication factor of topics the provider creates; -1 takes the broker's default. Default -1.</summary>
    public short ReplicationFactor { get; set; } = -1;

    /// <summary>Whether the provider creates missing topics (else a missing topic fails the provider's start). Default true.</summary>
    public bool CreateTopics { get; set; } = true;

    /// <summary>The consumer group whose committed offsets are the queues' checkpoints. Default "orleans-streams".</summary>
    public string ConsumerGroup { get; set; } = "orleans-streams";

    /// <summary>Where a queue with no checkpoint starts. Default <see cref="StreamStartPosition.Earliest"/>: nothing produced before the first silo started is skipped.</summary>
    public StreamStartPosition StartPosition { get; set; } = StreamStartPosition.Earliest;

    /// <summary>Producer batch size in bytes (<c>batch.size</c>). Default 64 KiB.</summary>
    public int BatchSize { get; set; } = 64 * 1024;

    /// <summary>How long a producer batch waits for more events (<c>linger.ms</c>). Default 5 ms.</summary>
    public TimeSpan Linger { get; set; } = TimeSpan.FromMilliseconds(5);

    /// <summary>Acknowledgements an event needs before <c>OnNextAsync</c> completes. Default <see cref="Acks.All"/> (idempotent producer).</summary>
    public Acks Acks { get; set; } = Acks.All;

    /// <summary>
    /// Fetched records a receiver may hold before the pulling agent takes them (bounded: the fetch
    /// loop waits when it is full). Default 4096.
    /// </summary>
    public int ReceiveBufferSize { get; set; } = 4096;

    /// <summary>
    /// How long a delivered batch stays in its queue's cache (unless the cache is full), so that
    /// subscriptions can rewind to its tokens; checkpoints lag delivery by as much. Zero: Orleans'
    /// simple cache behaviour (dropped once every cursor has passed it). Default 1 minute.
    /// </summary>
    public TimeSpan CacheRetention { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The topic that carries the events of <paramref name="streamNamespace"/>.</summary>
    public string TopicFor(string? streamNamespace) =>
        streamNamespace is not null && NamespaceTopics.TryGetValue(streamNamespace, out var topic) ? topic : DefaultTopic;

    /// <summary>Every topic the provider reads, the default topic first, then the mapped ones in ordinal order (the order gives the queue numbers).</summary>
    public IReadOnlyList<string> Topics() =>
        [DefaultTopic, .. NamespaceTopics.Values.Where(t => t != DefaultTopic).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate(string providerName)
    {
        if (string.IsNullOrWhiteSpace(BootstrapServers))
        {
            throw new ArgumentException($"Stream provider '{providerName}': BootstrapServers is required.");
        }

        if (string.IsNullOrEmpty(DefaultTopic) || NamespaceTopics.Values.Any(string.IsNullOrEmpty))
        {
            throw new ArgumentException($"Stream provider '{providerName}': topic names must not be empty.");
        }

        if (Partitions < 1)
        {
            throw new ArgumentException($"Stream provider '{providerName}': Partitions must be >= 1; got {Partitions}.");
        }

        if (string.IsNullOrEmpty(ConsumerGroup))
        {
            throw new ArgumentException($"Stream provider '{providerName}': ConsumerGroup is required (its committed offsets are the checkpoints).");
        }

        if (ReceiveBufferSize < 1)
        {
            throw new ArgumentException($"Stream provider '{providerName}': ReceiveBufferSize must be >= 1; got {ReceiveBufferSize}.");
        }

        if (Linger < TimeSpan.Zero || BatchSize < 1024 || CacheRetention < TimeSpan.Zero)
        {
            throw new ArgumentException($"Stream provider '{providerName}': Linger and CacheRetention must not be negative and BatchSize must be >= 1024.");
        }
    }
}
