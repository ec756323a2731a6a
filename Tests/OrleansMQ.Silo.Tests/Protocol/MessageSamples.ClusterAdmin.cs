using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Silo.Tests.Protocol;

/// <summary>Samples of the cluster admin messages (issue 14): leader epochs, log dirs, configs, elections, reassignments, producers.</summary>
internal static partial class MessageSamples
{
    public static OffsetForLeaderEpochRequest OffsetForLeaderEpochRequest(short v) => new()
    {
        ReplicaId = v >= 3 ? 2 : -2,
        Topics =
        [
            new()
            {
                Name = "orders",
                Partitions =
                [
                    new() { PartitionIndex = 0, CurrentLeaderEpoch = 7, LeaderEpoch = 5 },
                    new() { PartitionIndex = 3, CurrentLeaderEpoch = -1, LeaderEpoch = 6 },
                ],
            },
        ],
    };

    public static OffsetForLeaderEpochResponse OffsetForLeaderEpochResponse(short v) => new()
    {
        ThrottleTimeMs = 13,
        Topics =
        [
            new()
            {
                Name = "orders",
                Partitions =
                [
                    new() { ErrorCode = ErrorCode.None, PartitionIndex = 0, LeaderEpoch = 5, EndOffset = 1234 },
                    new() { ErrorCode = ErrorCode.FencedLeaderEpoch, PartitionIndex = 3 },
                ],
            },
        ],
    };

    public static DeleteRecordsRequest DeleteRecordsRequest(short v) => new()
    {
        Topics = [new() { Name = "orders", Partitions = [new() { PartitionIndex = 1, Offset = 500 }, new() { PartitionIndex = 2, Offset = -1 }] }],
        TimeoutMs = 3000 + v,
    };

    public static DeleteRecordsResponse DeleteRecordsResponse(short v) => new()
    {
        ThrottleTimeMs = 4,
        Topics =
        [
            new()
            {
                Name = "orders",
                Partitions =
                [
                    new() { PartitionIndex = 1, LowWatermark = 500 },
                    new() { PartitionIndex = 2, ErrorCode = ErrorCode.OffsetOutOfRange },
                ],
            },
        ],
    };

    public static DescribeLogDirsRequest DescribeLogDirsRequest(short v) => new()
    {
        Topics = v == 2 ? null : [new() { Name = "orders", Partitions = [0, 1, 2] }],
    };

    public static DescribeLogDirsResponse DescribeLogDirsResponse(short v) => new()
    {
        ThrottleTimeMs = 1,
        ErrorCode = v >= 3 ? ErrorCode.None : default,
        Results =
        [
            new()
            {
                LogDir = "/var/lib/orleansmq/data",
                Topics =
                [
                    new()
                    {
                        Name = "orders",
                        Partitions =
                        [
                            new() { PartitionIndex = 0, PartitionSize = 1_048_576, OffsetLag = 0 },
                            new() { PartitionIndex = 1, PartitionSize = 61, OffsetLag = 3, IsFutureKey = true },
                        ],
                    },
                ],
                TotalBytes = v >= 4 ? 500_000_000_000 : -1,
                UsableBytes = v >= 4 ? 123_456_789 : -1,
            },
        ],
    };

    public static AlterConfigsRequest AlterConfigsRequest(short v) => new()
    {
        Resources =
        [
            new()
            {
                ResourceType = ConfigResourceType.Topic,
                ResourceName = "orders",
                Configs = [new() { Name = "retention.ms", Value = "86400000" }, new() { Name = "cleanup.policy", Value = null }],
            },
        ],
        ValidateOnly = v == 1,
    };

    public static AlterConfigsResponse AlterConfigsResponse(short v) => new()
    {
        ThrottleTimeMs = 2,
        Responses =
        [
            new() { ResourceType = ConfigResourceType.Topic, ResourceName = "orders" },
            new() { ErrorCode = ErrorCode.InvalidConfig, ErrorMessage = "Unknown topic config 'retention.msx'.", ResourceType = ConfigResourceType.Topic, ResourceName = "b" },
        ],
    };

    public static IncrementalAlterConfigsRequest IncrementalAlterConfigsRequest(short v) => new()
    {
        Resources =
        [
            new()
            {
                ResourceType = ConfigResourceType.Topic,
                ResourceName = "orders",
                Configs =
                [
                    new() { Name = "max.message.bytes", ConfigOperation = AlterConfigOperation.Set, Value = "2048" },
                    new() { Name = "retention.ms", ConfigOperation = AlterConfigOperation.Delete, Value = null },
                ],
            },
        ],
        ValidateOnly = v == 0,
    };

    public static IncrementalAlterConfigsResponse IncrementalAlterConfigsResponse(short v) => new()
    {
        ThrottleTimeMs = 3,
        Responses = [new() { ErrorCode = ErrorCode.InvalidRequest, ErrorMessage = "Broker configs are static.", ResourceType = ConfigResourceType.Broker, ResourceName = "0" }],
    };

    public static ElectLeadersRequest ElectLeadersRequest(short v) => new()
    {
        ElectionType = v >= 1 ? ElectionType.Unclean : ElectionType.Preferred,
        TopicPartitions = v == 1 ? null : [new() { Name = "orders", Partitions = [0, 2] }],
        TimeoutMs = 2500,
    };

    public static ElectLeadersResponse ElectLeadersResponse(short v) => new()
    {
        ThrottleTimeMs = 5,
        ErrorCode = v >= 1 ? ErrorCode.None : default,
        ReplicaElectionResults =
        [
            new()
            {
                Name = "orders",
                PartitionResults =
                [
                    new() { PartitionIndex = 0 },
                    new() { PartitionIndex = 2, ErrorCode = ErrorCode.LeaderNotAvailable, ErrorMessage = "No replica of the ISR is alive." },
                ],
            },
        ],
    };

    public static AlterPartitionReassignmentsRequest AlterPartitionReassignmentsRequest(short v) => new()
    {
        TimeoutMs = 9000,
        Topics = [new() { Name = "orders", Partitions = [new() { PartitionIndex = 0, Replicas = [2, 0, 1] }, new() { PartitionIndex = 1, Replicas = null }] }],
    };

    public static AlterPartitionReassignmentsResponse AlterPartitionReassignmentsResponse(short v) => new()
    {
        ThrottleTimeMs = 6,
        ErrorCode = ErrorCode.None,
        Responses =
        [
            new()
            {
                Name = "orders",
                Partitions =
                [
                    new() { PartitionIndex = 0 },
                    new() { PartitionIndex = 1, ErrorCode = ErrorCode.InvalidReplicaAssignment, ErrorMessage = "Broker 7 is not alive." },
                ],
            },
        ],
    };

    public static ListPartitionReassignmentsRequest ListPartitionReassignmentsRequest(short v) => new()
    {
        TimeoutMs = 1500,
        Topics = [new() { Name = "orders", PartitionIndexes = [0, 1] }],
    };

    public static ListPartitionReassignmentsResponse ListPartitionReassignmentsResponse(short v) => new()
    {
        ThrottleTimeMs = 7,
        Topics =
        [
            new()
            {
                Name = "orders",
                Partitions = [new() { PartitionIndex = 0, Replicas = [0, 1, 2], AddingReplicas = [2], RemovingReplicas = [1] }],
            },
        ],
    };

    public static DescribeClusterRequest DescribeClusterRequest(short v) => new()
    {
        IncludeClusterAuthorizedOperations = true,
        EndpointType = v >= 1 ? (sbyte)2 : (sbyte)1,
    };

    public static DescribeClusterResponse DescribeClusterResponse(short v) => new()
    {
        ThrottleTimeMs = 8,
        ClusterId = "orleansmq-cluster",
        ControllerId = 1,
        Brokers =
        [
            new() { BrokerId = 0, Host = "127.0.0.1", Port = 9092, Rack = "a" },
            new() { BrokerId = 1, Host = "127.0.0.1", Port = 9093, Rack = null },
        ],
        ClusterAuthorizedOperations = 0x0F80,
    };

    public static DescribeProducersRequest DescribeProducersRequest(short v) => new()
    {
        Topics = [new() { Name = "orders", PartitionIndexes = [0, 1] }],
    };

    public static DescribeProducersResponse DescribeProducersResponse(short v) => new()
    {
        ThrottleTimeMs = 9,
        Topics =
        [
            new()
            {
                Name = "orders",
                Partitions =
                [
                    new()
                    {
                        PartitionIndex = 0,
                        ActiveProducers =
                        [
                            new() { ProducerId = 4000, ProducerEpoch = 2, LastSequence = 99, LastTimestamp = 1_700_000_000_000, CoordinatorEpoch = -1 },
                        ],
                    },
                    new() { PartitionIndex = 1, ErrorCode = ErrorCode.NotLeaderOrFollower, ErrorMessage = "Not the leader." },
                ],
            },
        ],
    };

    public static DescribeTopicPartitionsRequest DescribeTopicPartitionsRequest(short v) => new()
    {
        Topics = [new() { Name = "orders" }, new() { Name = "payments" }],
        ResponsePartitionLimit = 100,
        Cursor = new() { TopicName = "orders", PartitionIndex = 4 },
    };

    public static DescribeTopicPartitionsResponse DescribeTopicPartitionsResponse(short v) => new()
    {
        ThrottleTimeMs = 10,
        Topics =
        [
            new()
            {
                Name = "orders",
                TopicId = new Guid("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"),
                Partitions =
                [
                    new()
                    {
                        PartitionIndex = 4,
                        LeaderId = 1,
                        LeaderEpoch = 3,
                        ReplicaNodes = [1, 2, 0],
                        IsrNodes = [1, 2],
                        EligibleLeaderReplicas = null,
                        LastKnownElr = [0],
                        OfflineReplicas = [0],
                    },
                ],
                TopicAuthorizedOperations = 0x0DF8,
            },
            new() { ErrorCode = ErrorCode.UnknownTopicOrPartition, Name = null },
        ],
        NextCursor = null,
    };
}
