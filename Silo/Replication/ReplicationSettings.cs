namespace OrleansMQ.Silo.Replication;

/// <summary>The replication knobs (from OrleansMQ:Broker, named after Kafka's broker configs).</summary>
public sealed record ReplicationSettings(
    int NodeId,
    int ReplicaLagTimeMaxMs,
    int ReplicaFetchWaitMaxMs,
    int ReplicaFetchMaxBytes,
    int MinInsyncReplicas,
    string DataDirectory);
