using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Client.Admin;

/// <summary>A live broker as DescribeCluster lists it: its node id, the address clients use and its rack (null when unset).</summary>
public sealed record BrokerDescription(int Id, string Host, int Port, string? Rack);

/// <summary>The cluster (DescribeCluster): its id, the controller's node id and the live brokers.</summary>
public sealed record ClusterDescription(string ClusterId, int ControllerId, IReadOnlyList<BrokerDescription> Brokers);

/// <summary>
/// One partition's outcome of ElectLeaders: NONE (a new leader), ELECTION_NOT_NEEDED (led as asked
/// already), PREFERRED_LEADER_NOT_AVAILABLE, ELIGIBLE_LEADERS_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION.
/// </summary>
public sealed record ElectionResult(string Topic, int Partition, ErrorCode Error, string? Message);

/// <summary>
/// A partition reassignment in progress (ListPartitionReassignments): the replicas during the
/// move (target and original), the ones being added and the ones to remove once the added ones are in sync.
/// </summary>
public sealed record ReassignmentStatus(string Topic, int Partition, IReadOnlyList<int> Replicas, IReadOnlyList<int> Adding, IReadOnlyList<int> Removing);

/// <summary>A partition's log start after DeleteRecords (Kafka's low watermark).</summary>
public sealed record DeletedRecords(string Topic, int Partition, long LowWatermark);
