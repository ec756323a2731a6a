using System.Globalization;
using OrleansMQ.Silo.Kafka.Network;

namespace OrleansMQ.Silo.Kafka;

/// <summary>
/// The bindable <c>OrleansMQ:Broker</c> section: node identity, the Kafka listener and topic
/// defaults. Every default serves a single embedded node on localhost:9092.
/// </summary>
public sealed class BrokerSettings
{
    /// <summary>This broker's node id (Kafka broker.id). Default 0.</summary>
    public int NodeId { get; set; }

    /// <summary>Address the Kafka listener binds. Default 0.0.0.0 (all interfaces).</summary>
    public string ListenAddress { get; set; } = "0.0.0.0";

    /// <summary>Kafka listener port. Default 9092; 0 picks a free port (tests).</summary>
    public int Port { get; set; } = 9092;

    /// <summary>Host name clients are told to connect to (Metadata). Default: the listen address, or "localhost" when that is a wildcard.</summary>
    public string? AdvertisedHost { get; set; }

    /// <summary>Port clients are told to connect to. Default: the bound port.</summary>
    public int? AdvertisedPort { get; set; }

    /// <summary>Create a topic on first produce or metadata request for it (Kafka auto.create.topics.enable). Default true.</summary>
    public bool AutoCreateTopics { get; set; } = true;

    /// <summary>Partitions of an auto-created topic or one created with -1 (Kafka num.partitions). Default 1.</summary>
    public int DefaultPartitions { get; set; } = 1;

    /// <summary>Largest request frame accepted, bytes (Kafka socket.request.max.bytes). Default 104857600.</summary>
    public int MaxRequestBytes { get; set; } = 104_857_600;

    /// <summary>Requests one connection may have in flight before the broker stops reading it. Default 100.</summary>
    public int MaxInFlightRequestsPerConnection { get; set; } = 100;

    /// <summary>Send fetched record data with sendfile(2). Default true; off only for benchmarks.</summary>
    public bool ZeroCopy { get; set; } = true;

    /// <summary>Longest a Fetch may wait for data, whatever the client asks (ms). Default 30000.</summary>
    public int MaxFetchWaitMs { get; set; } = 30_000;

    /// <summary>This broker's rack (Kafka broker.rack): placement spreads a partition's replicas over racks when every broker has one.</summary>
    public string? Rack { get; set; }

    /// <summary>Replicas of a topic created without a factor (Kafka default.replication.factor). Default -1: min(3, live brokers).</summary>
    public int DefaultReplicationFactor { get; set; } = -1;

    /// <summary>The broker's min.insync.replicas, for topics that do not set it. Default 1.</summary>
    public int MinInsyncReplicas { get; set; } = 1;

    /// <summary>A follower that has not caught up for this long leaves the ISR (Kafka replica.lag.time.max.ms). Default 30000.</summary>
    public int ReplicaLagTimeMaxMs { get; set; } = 30_000;

    /// <summary>How long a follower's fetch waits at the leader for new data (Kafka replica.fetch.wait.max.ms). Default 500.</summary>
    public int ReplicaFetchWaitMaxMs { get; set; } = 500;

    /// <summary>Most bytes a follower asks for per partition and per fetch (Kafka replica.fetch.max.bytes). Default 10485760.</summary>
    public int ReplicaFetchMaxBytes { get; set; } = 10 << 20;

    public Replication.ReplicationSettings ToReplicationSettings(string dataDirectory) =>
        new(NodeId, ReplicaLagTimeMaxMs, ReplicaFetchWaitMaxMs, ReplicaFetchMaxBytes, MinInsyncReplicas, dataDirectory);

    public string EffectiveAdvertisedHost
    {
        get
        {
            if (!string.IsNullOrWhiteSpace(AdvertisedHost))
            {
                return AdvertisedHost;
            }

            return ListenAddress is "0.0.0.0" or "::" or "[::]" ? "localhost" : ListenAddress;
        }
    }

    public KafkaListenerOptions ToListenerOptions()
    {
        var options = new KafkaListenerOptions
        {
            BindAddress = ListenAddress,
            Port = Port,
            MaxFrameBytes = MaxRequestBytes,
            MaxInFlightRequestsPerConnection = MaxInFlightRequestsPerConnection,
            ZeroCopy = ZeroCopy,
        };
        options.Validate();
        return options;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (NodeId < 0)
        {
            throw new ArgumentException($"OrleansMQ:Broker:NodeId must be >= 0; got {NodeId}.");
        }

        if (Port is < 0 or > 65535)
        {
            throw new ArgumentException($"OrleansMQ:Broker:Port must be 0-65535; got {Port}.");
        }

        if (AdvertisedPort is < 1 or > 65535)
        {
            throw new ArgumentException($"OrleansMQ:Broker:AdvertisedPort must be 1-65535; got {AdvertisedPort}.");
        }

        if (DefaultPartitions < 1)
        {
            throw new ArgumentException($"OrleansMQ:Broker:DefaultPartitions must be >= 1; got {DefaultPartitions}.");
        }

        if (DefaultReplicationFactor is 0 or < -1)
        {
            throw new ArgumentException($"OrleansMQ:Broker:DefaultReplicationFactor must be -1 (min(3, live brokers)) or >= 1; got {DefaultReplicationFactor}.");
        }

        if (MinInsyncReplicas < 1)
        {
            throw new ArgumentException($"OrleansMQ:Broker:MinInsyncReplicas must be >= 1; got {MinInsyncReplicas}.");
        }

        if (ReplicaLagTimeMaxMs < 100 || ReplicaFetchWaitMaxMs < 0 || ReplicaFetchWaitMaxMs >= ReplicaLagTimeMaxMs)
        {
            throw new ArgumentException($"OrleansMQ:Broker:ReplicaLagTimeMaxMs must be >= 100 and above ReplicaFetchWaitMaxMs (>= 0); got {ReplicaLagTimeMaxMs} and {ReplicaFetchWaitMaxMs}.");
        }

        if (ReplicaFetchMaxBytes < 1024)
        {
            throw new ArgumentException($"OrleansMQ:Broker:ReplicaFetchMaxBytes must be >= 1024; got {ReplicaFetchMaxBytes}.");
        }

        if (MaxFetchWaitMs < 0)
        {
            throw new ArgumentException($"OrleansMQ:Broker:MaxFetchWaitMs must be >= 0; got {MaxFetchWaitMs}.");
        }

        _ = ToListenerOptions();
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"node={NodeId} listen={ListenAddress}:{Port} advertised={EffectiveAdvertisedHost}:{AdvertisedPort?.ToString(CultureInfo.InvariantCulture) ?? "bound"} autoCreate={AutoCreateTopics} partitions={DefaultPartitions} zeroCopy={ZeroCopy}");
}
