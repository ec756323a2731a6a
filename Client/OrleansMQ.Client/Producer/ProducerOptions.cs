using OrleansMQ.Protocol.Batches;

namespace OrleansMQ.Client.Producer;

/// <summary>How many replicas must have a batch before the broker answers (Kafka <c>acks</c>).</summary>
public enum Acks : short
{
    /// <summary>No answer at all: a batch counts as delivered once written to the socket (offset -1).</summary>
    None = 0,

    /// <summary>The partition leader has appended it.</summary>
    Leader = 1,

    /// <summary>Every in-sync replica has it (Kafka <c>acks=all</c>, -1).</summary>
    All = -1,
}

/// <summary>How records are spread over a topic's partitions.</summary>
public enum PartitionerKind
{
    /// <summary>
    /// Kafka's default: keyed records go to <c>toPositive(murmur2(key)) % partitions</c> (the Java
    /// client's choice, so keys land where Java producers put them); records without a key stick
    /// to one partition until its batch is closed, then move on to another (KIP-480).
    /// </summary>
    Default,

    /// <summary>Keyed records as <see cref="Default"/>; records without a key go round-robin, one record per partition.</summary>
    RoundRobinForNullKeys,
}

/// <summary>
/// Producer settings (Kafka producer configs). Immutable: derive variants with <c>with</c>.
/// Defaults are those of current Kafka clients.
/// </summary>
public sealed record ProducerOptions
{
    /// <summary>Acknowledgements required (<c>acks</c>). Default <see cref="Acks.All"/>.</summary>
    public Acks Acks { get; init; } = Acks.All;

    /// <summary>How long a batch may wait for more records before it is sent (<c>linger.ms</c>). Default 5 ms.</summary>
    public TimeSpan Linger { get; init; } = TimeSpan.FromMilliseconds(5);

    /// <summary>
    /// Bytes of one partition's batch, header included (<c>batch.size</c>); a record larger than
    /// this gets a batch of its own. Also the unit in which <see cref="BufferMemory"/> is handed
    /// out. Default 16384; throughput runs want 256 KiB–1 MiB.
    /// </summary>
    public int BatchSize { get; init; } = 16384;

    /// <summary>
    /// Codec of the batches (<c>compression.type</c>): None, Gzip, Snappy (xerial framing, as the
    /// Java client writes it), Lz4 (frame format) or Zstd. Each batch is compressed once, when it
    /// is first sent. Default None.
    /// </summary>
    public CompressionCodec Compression { get; init; } = CompressionCodec.None;

    /// <summary>
    /// Exactly-once per partition across retries (<c>enable.idempotence</c>): producer id and
    /// sequence numbers, so a retried batch is never appended twice and order is kept with up to
    /// five requests in flight. Default true. It needs <see cref="Acks.All"/>: with other acks it
    /// is off, as Kafka does when it is not set explicitly.
    /// </summary>
    public bool EnableIdempotence { get; init; } = true;

    /// <summary>How often a failed batch is retried (<c>retries</c>); <see cref="DeliveryTimeout"/> is the real bound. Default <see cref="int.MaxValue"/>.</summary>
    public int Retries { get; init; } = int.MaxValue;

    /// <summary>Wait before a failed batch is retried (<c>retry.backoff.ms</c>). Default 100 ms.</summary>
    public TimeSpan RetryBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Longest time from <c>Produce</c> to the delivery report, retries included
    /// (<c>delivery.timeout.ms</c>); afterwards the record fails with
    /// <see cref="KafkaTimeoutException"/>. Default 120 s.
    /// </summary>
    public TimeSpan DeliveryTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Produce requests one broker may have unanswered (<c>max.in.flight.requests.per.connection</c>); at most 5 with idempotence. Default 5.</summary>
    public int MaxInFlightRequestsPerConnection { get; init; } = 5;

    /// <summary>
    /// Bytes the producer may hold in unsent and unacknowledged batches (<c>buffer.memory</c>).
    /// When it is used up, <c>Produce</c> waits up to <see cref="MaxBlock"/> for batches to be
    /// acknowledged, then throws <see cref="KafkaTimeoutException"/>. Default 32 MiB.
    /// </summary>
    public long BufferMemory { get; init; } = 32L * 1024 * 1024;

    /// <summary>Longest time <c>Produce</c> blocks for buffer memory or the topic's first metadata (<c>max.block.ms</c>). Default 60 s.</summary>
    public TimeSpan MaxBlock { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Largest record batch (one record plus the batch header) the producer sends (<c>max.request.size</c>); a larger record fails at once with MESSAGE_TOO_LARGE. Default 1 MiB.</summary>
    public int MaxRequestSize { get; init; } = 1024 * 1024;

    /// <summary>Partitioner (<c>partitioner.class</c>). Default <see cref="PartitionerKind.Default"/>.</summary>
    public PartitionerKind Partitioner { get; init; } = PartitionerKind.Default;

    /// <summary>Whether producing to an unknown topic asks the broker to create it (<c>allow.auto.create.topics</c>). Default true.</summary>
    public bool AllowAutoCreateTopics { get; init; } = true;

    /// <summary>
    /// Longest time <c>DisposeAsync</c> waits for buffered records to be delivered before it fails
    /// the rest with <see cref="KafkaTimeoutException"/> (Kafka's <c>close(timeout)</c>). Default
    /// 120 s, the <see cref="DeliveryTimeout"/> default: no record outlives that anyway.
    /// </summary>
    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>True when idempotence is in effect (<see cref="EnableIdempotence"/> and <see cref="Acks.All"/>).</summary>
    public bool IsIdempotent => EnableIdempotence && Acks == Acks.All;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (Acks is not (Acks.None or Acks.Leader or Acks.All))
        {
            throw new ArgumentException($"Acks must be None (0), Leader (1) or All (-1); got {(short)Acks}.");
        }

        if (Linger < TimeSpan.Zero || RetryBackoff < TimeSpan.Zero)
        {
            throw new ArgumentException("Linger and RetryBackoff must not be negative.");
        }

        if (BatchSize < 1024)
        {
            throw new ArgumentException($"BatchSize must be >= 1024; got {BatchSize}.");
        }

        if (Compression > CompressionCodec.Zstd)
        {
            throw new ArgumentException($"Compression {Compression} is not a Kafka codec; use None, Gzip, Snappy, Lz4 or Zstd.");
        }

        if (Retries < 0)
        {
            throw new ArgumentException($"Retries must be >= 0; got {Retries}.");
        }

        if (DeliveryTimeout <= TimeSpan.Zero || MaxBlock < TimeSpan.Zero || CloseTimeout < TimeSpan.Zero)
        {
            throw new ArgumentException("DeliveryTimeout must be positive; MaxBlock and CloseTimeout must not be negative.");
        }

        if (MaxInFlightRequestsPerConnection < 1 || (IsIdempotent && MaxInFlightRequestsPerConnection > 5))
        {
            throw new ArgumentException($"MaxInFlightRequestsPerConnection must be 1..5 with idempotence (>= 1 without); got {MaxInFlightRequestsPerConnection}.");
        }

        if (BufferMemory < BatchSize)
        {
            throw new ArgumentException($"BufferMemory ({BufferMemory}) must hold at least one batch ({BatchSize}).");
        }

        if (MaxRequestSize < 1024)
        {
            throw new ArgumentException($"MaxRequestSize must be >= 1024; got {MaxRequestSize}.");
        }
    }
}
