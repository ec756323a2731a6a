namespace OrleansMQ.Silo.Kafka.Network;

/// <summary>
/// What the network layer hands each request to. The network layer knows frames, not APIs: it
/// passes the frame (header and body, without the 4-byte size) and a response to fill; the
/// processor parses the request header and answers — including for unknown APIs and versions,
/// which get the Kafka error response, never an exception. Throwing closes the connection
/// (reserved for frames so malformed that no correlation id can be read).
/// </summary>
public interface IKafkaRequestProcessor
{
    ValueTask ProcessAsync(ConnectionContext connection, ReadOnlyMemory<byte> frame, KafkaResponse response, CancellationToken cancellationToken);
}

/// <summary>Per-connection facts a handler may need.</summary>
public sealed class ConnectionContext
{
    public ConnectionContext(long id, System.Net.EndPoint? remote)
    {
        Id = id;
        Remote = remote;
    }

    public long Id { get; }

    public System.Net.EndPoint? Remote { get; }

    /// <summary>Set by the processor after SASL or ApiVersions, if it needs per-connection state.</summary>
    public object? State { get; set; }

    /// <summary>
    /// Completes when the previous Produce request of this connection has written its batches.
    /// Requests start in arrival order but run concurrently, and Kafka clients rely on one
    /// connection's Produce requests being appended in order (up to 5 in flight, with or without
    /// idempotence); so each Produce waits for this before appending, and replaces it.
    /// </summary>
    public Task ProduceOrder { get; set; } = Task.CompletedTask;
}
