namespace OrleansMQ.Client;

/// <summary>
/// Connection settings shared by the producer, consumer and admin client (Kafka's common client
/// configs). Immutable: derive variants with <c>with</c>.
/// </summary>
public sealed record ClientOptions
{
    /// <summary>Comma-separated <c>host:port</c> list to bootstrap from (Kafka <c>bootstrap.servers</c>). Required.</summary>
    public string BootstrapServers { get; init; } = "localhost:9092";

    /// <summary>Sent with every request; brokers log it and DescribeGroups shows it (<c>client.id</c>). Default "omq".</summary>
    public string ClientId { get; init; } = "omq";

    /// <summary>How long a request may wait for its answer before it fails with a timeout (<c>request.timeout.ms</c>). Default 30 s.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a TCP connect may take (<c>socket.connection.setup.timeout.ms</c>). Default 10 s.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Metadata older than this is refreshed before use (<c>metadata.max.age.ms</c>). Default 5 min.</summary>
    public TimeSpan MetadataMaxAge { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>First wait before reconnecting to a broker that failed; doubles up to <see cref="ReconnectBackoffMax"/> (<c>reconnect.backoff.ms</c>). Default 100 ms.</summary>
    public TimeSpan ReconnectBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest wait between reconnect attempts (<c>reconnect.backoff.max.ms</c>). Default 10 s.</summary>
    public TimeSpan ReconnectBackoffMax { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Largest response frame accepted; a larger length prefix closes the connection. Default 100 MiB.</summary>
    public int MaxResponseBytes { get; init; } = 100 * 1024 * 1024;

    /// <summary>
    /// Rewrites the broker addresses that Metadata and FindCoordinator answer before connecting (null:
    /// use them as advertised). For a client inside the broker's own network namespace or pod — the
    /// silo's REST consumer instances — whose advertised name only resolves outside. Bootstrap
    /// addresses are used as given.
    /// </summary>
    public Func<BrokerAddress, BrokerAddress>? BrokerAddressMap { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(BootstrapServers))
        {
            throw new ArgumentException("BootstrapServers is required (host:port[,host:port...]).");
        }

        _ = BrokerAddress.ParseList(BootstrapServers);
        if (RequestTimeout <= TimeSpan.Zero || ConnectTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("RequestTimeout and ConnectTimeout must be positive.");
        }

        if (MaxResponseBytes < 1024)
        {
            throw new ArgumentException($"MaxResponseBytes must be >= 1024; got {MaxResponseBytes}.");
        }
    }
}
