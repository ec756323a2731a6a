using OrleansMQ.Client.Consumer.Assignment;

namespace OrleansMQ.Client.Consumer;

/// <summary>What a consumer does when it has no valid position for a partition (Kafka <c>auto.offset.reset</c>).</summary>
public enum AutoOffsetReset
{
    /// <summary>Start at the end of the log: only messages produced from now on (Kafka's default).</summary>
    Latest,

    /// <summary>Start at the beginning of the log.</summary>
    Earliest,

    /// <summary>Fail: <see cref="KafkaConsumer.ConsumeAsync"/> throws a <see cref="KafkaConsumeException"/> with <c>OFFSET_OUT_OF_RANGE</c>.</summary>
    Error,
}

/// <summary>
/// Consumer settings (Kafka's consumer configs, same defaults unless said otherwise). Immutable:
/// derive variants with <c>with</c>.
/// </summary>
public sealed record ConsumerOptions
{
    /// <summary>Connection settings (bootstrap servers, client id, timeouts, reconnect backoff).</summary>
    public ClientOptions Client { get; init; } = new();

    /// <summary>
    /// The consumer group (<c>group.id</c>). Required for <see cref="KafkaConsumer.Subscribe"/> and for commits;
    /// null allows only <see cref="KafkaConsumer.Assign"/> without committed offsets. Default null.
    /// </summary>
    public string? GroupId { get; init; }

    /// <summary>
    /// Static membership (<c>group.instance.id</c>, KIP-345): a restart within <see cref="SessionTimeout"/>
    /// gets its partitions back without a rebalance, and closing does not leave the group. Default null (dynamic member).
    /// </summary>
    public string? GroupInstanceId { get; init; }

    /// <summary>Where to start without a committed offset or after OFFSET_OUT_OF_RANGE (<c>auto.offset.reset</c>). Default <see cref="AutoOffsetReset.Latest"/>.</summary>
    public AutoOffsetReset AutoOffsetReset { get; init; } = AutoOffsetReset.Latest;

    /// <summary>
    /// Commit processed positions every <see cref="AutoCommitInterval"/>, before partitions are revoked and on close
    /// (<c>enable.auto.commit</c>). A record counts as processed once the consumer asks for the next one. Default true.
    /// </summary>
    public bool EnableAutoCommit { get; init; } = true;

    /// <summary>How often auto commit runs (<c>auto.commit.interval.ms</c>). Default 5 s.</summary>
    public TimeSpan AutoCommitInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The coordinator drops a member that sent no heartbeat for this long (<c>session.timeout.ms</c>). Default 45 s.</summary>
    public TimeSpan SessionTimeout { get; init; } = TimeSpan.FromSeconds(45);

    /// <summary>Heartbeat period (<c>heartbeat.interval.ms</c>); keep it below a third of <see cref="SessionTimeout"/>. Default 3 s.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// The rebalance timeout sent in JoinGroup: how long the coordinator waits for every member to rejoin
    /// (Kafka's <c>max.poll.interval.ms</c>, which is the rebalance timeout of the Java client). Default 300 s.
    /// Unlike Java, a slow consumer is not made to leave the group: heartbeats run in the background.
    /// </summary>
    public TimeSpan MaxPollInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Assignment strategies offered in JoinGroup, preferred first (<c>partition.assignment.strategy</c>). The coordinator
    /// picks one every member offers, by the members' preferences. Default [range, cooperative-sticky], as the Java client
    /// since 3.0: groups use range, and the list allows a rolling upgrade to cooperative-sticky. The rebalance protocol is
    /// cooperative (members keep what does not move while rejoining) only when every listed assignor is cooperative, e.g.
    /// [<see cref="Assignment.Assignors.CooperativeSticky"/>]; otherwise every partition is revoked before each rejoin (eager), as in Java.
    /// </summary>
    public IReadOnlyList<IPartitionAssignor> Assignors { get; init; } = DefaultAssignors();

    /// <summary>The broker answers a fetch once it has this many bytes (<c>fetch.min.bytes</c>). Default 1.</summary>
    public int FetchMinBytes { get; init; } = 1;

    /// <summary>The longest a fetch waits for <see cref="FetchMinBytes"/> (<c>fetch.max.wait.ms</c>). Default 500 ms.</summary>
    public TimeSpan FetchMaxWait { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Most bytes one fetch answer may carry (<c>fetch.max.bytes</c>). Default 50 MiB.</summary>
    public int FetchMaxBytes { get; init; } = 50 * 1024 * 1024;

    /// <summary>Most bytes per partition in one fetch answer (<c>max.partition.fetch.bytes</c>); a larger first batch is still returned. Default 1 MiB.</summary>
    public int MaxPartitionFetchBytes { get; init; } = 1024 * 1024;

    /// <summary>
    /// How many fetched partition chunks (each at most about <see cref="MaxPartitionFetchBytes"/> of records) the background
    /// fetcher may buffer ahead of <see cref="KafkaConsumer.ConsumeAsync"/>. When the buffer is full the fetcher waits
    /// (back-pressure), so memory stays bounded. Default 16.
    /// </summary>
    public int PrefetchLimit { get; init; } = 16;

    /// <summary>Wait before retrying a failed request (<c>retry.backoff.ms</c>). Default 100 ms.</summary>
    public TimeSpan RetryBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Check the CRC of every fetched batch (<c>check.crcs</c>). Default true.</summary>
    public bool CheckCrcs { get; init; } = true;

    /// <summary>The assignors offered when none are configured: range, then cooperative-sticky.</summary>
    public static IReadOnlyList<IPartitionAssignor> DefaultAssignors() => Assignment.Assignors.Default;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Client);
        Client.Validate();
        if (GroupId is { Length: 0 })
        {
            throw new ArgumentException("GroupId must not be empty; use null for a consumer without a group.");
        }

        if (GroupInstanceId is not null && (GroupInstanceId.Length == 0 || GroupId is null))
        {
            throw new ArgumentException("GroupInstanceId needs a GroupId and must not be empty.");
        }

        if (SessionTimeout <= TimeSpan.Zero || HeartbeatInterval <= TimeSpan.Zero || HeartbeatInterval >= SessionTimeout)
        {
            throw new ArgumentException($"HeartbeatInterval ({HeartbeatInterval}) must be positive and below SessionTimeout ({SessionTimeout}).");
        }

        if (MaxPollInterval <= TimeSpan.Zero || AutoCommitInterval <= TimeSpan.Zero || RetryBackoff < TimeSpan.Zero || FetchMaxWait < TimeSpan.Zero)
        {
            throw new ArgumentException("MaxPollInterval and AutoCommitInterval must be positive; RetryBackoff and FetchMaxWait must not be negative.");
        }

        if (Assignors is null || Assignors.Count == 0 || Assignors.Any(a => a is null) || Assignors.Select(a => a.Name).Distinct(StringComparer.Ordinal).Count() != Assignors.Count)
        {
            throw new ArgumentException("Assignors must list at least one assignor, each name once.");
        }

        if (FetchMinBytes < 0 || FetchMaxBytes < 1 || MaxPartitionFetchBytes < 1 || PrefetchLimit < 1)
        {
            throw new ArgumentException("FetchMinBytes must be >= 0; FetchMaxBytes, MaxPartitionFetchBytes and PrefetchLimit must be >= 1.");
        }
    }
}
