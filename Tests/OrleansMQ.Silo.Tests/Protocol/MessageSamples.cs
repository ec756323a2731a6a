using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Silo.Tests.Protocol;

/// <summary>
/// One populated sample of every message, per version: fields a version lacks keep their
/// defaults (so a round trip must give back exactly the sample), the rest carry distinctive values.
/// </summary>
internal static partial class MessageSamples
{
    private static readonly byte[] BatchBytes = Enumerable.Range(1, 61).Select(i => (byte)(i * 7)).ToArray();

    /// <summary>A consumer-protocol subscription stand-in: opaque bytes to the broker.</summary>
    private static readonly byte[] SubscriptionBytes = [0, 1, 0, 0, 0, 1, 0, 6, 0x6F, 0x72, 0x64, 0x65, 0x72, 0x73, 0xFF, 0xFF, 0xFF, 0xFF];

    /// <summary>A consumer-protocol assignment stand-in.</summary>
    private static readonly byte[] AssignmentBytes = [0, 1, 0, 0, 0, 1, 0, 6, 0x6F, 0x72, 0x64, 0x65, 0x72, 0x73, 0, 0, 0, 1, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF];

    public static ApiVersionsRequest ApiVersionsRequest(short v) => new()
    {
        ClientSoftwareName = v >= 3 ? "librdkafka" : "",
        ClientSoftwareVersion = v >= 3 ? "2.0.2" : "",
    };

    public static ApiVersionsResponse ApiVersionsResponse(short v)
    {
        var response = OrleansMQ.Protocol.Kafka.ApiVersionsResponse.FromTable();
        response.ThrottleTimeMs = v >= 1 ? 11 : 0;
        return response;
    }

    public static MetadataRequest MetadataRequest(short v) => new()
    {
        Topics = ["orders", "päyments"],
        AllowAutoTopicCreation = v < 4,
        IncludeClusterAuthorizedOperations = v >= 8,
        IncludeTopicAuthorizedOperations = v >= 8,
    };

    public static MetadataResponse MetadataResponse(short v) => new()
    {
        ThrottleTimeMs = v >= 3 ? 7 : 0,
        Brokers =
        [
            new() { NodeId = 1, Host = "broker-1", Port = 9092, Rack = v >= 1 ? "rack-a" : null },
            new() { NodeId = 2, Host = "broker-2", Port = 9093, Rack = null },
        ],
        ClusterId = v >= 2 ? "omq-cluster" : null,
        ControllerId = v >= 1 ? 1 : -1,
        Topics =
        [
            new()
            {
                ErrorCode = ErrorCode.None,
                Name = "orders",
                IsInternal = false,
                Partitions =
                [
                    new()
                    {
                        ErrorCode = ErrorCode.None, PartitionIndex = 0, LeaderId = 1, LeaderEpoch = v >= 7 ? 4 : -1,
                        ReplicaNodes = [1, 2], IsrNodes = [1, 2], OfflineReplicas = v >= 5 ? [3] : [],
                    },
                    new() { ErrorCode = ErrorCode.LeaderNotAvailable, PartitionIndex = 1, LeaderId = -1, ReplicaNodes = [2], IsrNodes = [] },
                ],
                TopicAuthorizedOperations = v >= 8 ? 0x0FF8 : int.MinValue,
            },
            new() { ErrorCode = ErrorCode.UnknownTopicOrPartition, Name = "missing", IsInternal = v >= 1 },
        ],
        ClusterAuthorizedOperations = v >= 8 ? 0x1F : int.MinValue,
    };

    public static ProduceRequest ProduceRequest(short v) => new()
    {
        TransactionalId = v >= 3 && v % 2 == 0 ? "tx-1" : null,
        Acks = -1,
        TimeoutMs = 30_000,
        Topics =
        [
            new()
            {
                Name = "orders",
                Partitions = [new() { Index = 0, Records = BatchBytes }, new() { Index = 3, Records = null }],
            },
            new() { Name = "empty", Partitions = [new() { Index = 1, Records = Array.Empty<byte>() }] },
        ],
    };

    public static ProduceResponse ProduceResponse(short v) => new()
    {
        Topics =
        [
            new()
            {
                Name = "orders",
                Partitions =
                [
                    new()
                    {
                        Index = 0, ErrorCode = ErrorCode.None, BaseOffset = 42, LogAppendTimeMs = v >= 2 ? 1_700_000_000_000 : -1,
                        LogStartOffset = v >= 5 ? 10 : -1,
                        RecordErrors = v >= 8 ? [new() { BatchIndex = 3, BatchIndexErrorMessage = "bad key" }, new() { BatchIndex = 4 }] : [],
                        ErrorMessage = v >= 8 ? "some records were rejected" : null,
                    },
                    new() { Index = 3, ErrorCode = ErrorCode.NotLeaderOrFollower, BaseOffset = -1 },
                ],
            },
        ],
        ThrottleTimeMs = v >= 1 ? 5 : 0,
    };

    public static FetchRequest FetchRequest(short v) => new()
    {
        ReplicaId = -1,
        MaxWaitMs = 500,
        MinBytes = 1,
        MaxBytes = v >= 3 ? 52_428_800 : int.MaxValue,
        IsolationLevel = v >= 4 ? (sbyte)1 : (sbyte)0,
        SessionId = v >= 7 ? 77 : 0,
        SessionEpoch = v >= 7 ? 2 : -1,
        Topics =
        [
            new()
            {
                Name = "orders",
                Partitions =
                [
                    new()
                    {
                        PartitionIndex = 0, CurrentLeaderEpoch = v >= 9 ? 3 : -1, FetchOffset = 100,
                        LastFetchedEpoch = v >= 12 ? 2 : -1, LogStartOffset = v >= 5 ? 0 : -1, PartitionMaxBytes = 1_048_576,
                    },
                    new() { PartitionIndex = 1, FetchOffset = 0, PartitionMaxBytes = 1024 },
                ],
            },
        ],
        ForgottenTopics = v >= 7 ? [new() { Name = "old", Partitions = [1, 2] }] : [],
        RackId = v >= 11 ? "rack-a" : "",
    };

    public static FetchResponse FetchResponse(short v) => new()
    {
        ThrottleTimeMs = 3,
        ErrorCode = v >= 7 ? ErrorCode.None : ErrorCode.None,
        SessionId = v >= 7 ? 77 : 0,
        Topics =
        [
            new()
            {
                Name = "orders",
                Partitions =
                [
                    new()
                    {
                        PartitionIndex = 0, ErrorCode = ErrorCode.None, HighWatermark = 200, LastStableOffset = v >= 4 ? 190 : -1,
                        LogStartOffset = v >= 5 ? 5 : -1, AbortedTransactions = v >= 4 ? [new AbortedTransaction(9, 150)] : null,
                        PreferredReadReplica = v >= 11 ? 2 : -1, Records = BatchBytes,
                    },
                    new() { PartitionIndex = 1, ErrorCode = ErrorCode.OffsetOutOfRange, HighWatermark = 0, AbortedTransactions = null, Records = null },
                    new() { PartitionIndex = 2, HighWatermark = 7, AbortedTransactions = v >= 4 ? [] : null, Records = Array.Empty<byte>() },
                ],
            },
            new() { Name = "quiet", Partitions = [] },
        ],
    };

    public static ListOffsetsRequest ListOffsetsRequest(short v) => new()
    {
        ReplicaId = -1,
        IsolationLevel = v >= 2 ? (sbyte)1 : (sbyte)0,
        Topics =
        [
            new()
            {
                Name = "orders",
                Partitions =
                [
                    new() { PartitionIndex = 0, CurrentLeaderEpoch = v >= 4 ? 1 : -1, Timestamp = OrleansMQ.Protocol.Kafka.ListOffsetsRequest.LatestTimestamp, MaxNumOffsets = v == 0 ? 5 : 1 },
                    new() { PartitionIndex = 1, Timestamp = OrleansMQ.Protocol.Kafka.ListOffsetsRequest.EarliestTimestamp },
                ],
            },
        ],
    };

    public static ListOffsetsResponse ListOffsetsResponse(short v) => new()
    {
        ThrottleTimeMs = v >= 2 ? 3 : 0,
        Topics =
        [
            new()
            {
                Name = "orders",
                Partitions =
                [
                    new()
                    {
                        PartitionIndex = 0, ErrorCode = ErrorCode.None, OldStyleOffsets = v == 0 ? [100, 0] : [],
                        Timestamp = v >= 1 ? 1_700_000_000_000 : -1, Offset = v >= 1 ? 100 : -1, LeaderEpoch = v >= 4 ? 1 : -1,
                    },
                    new() { PartitionIndex = 9, ErrorCode = ErrorCode.UnknownTopicOrPartition },
                ],
            },
        ],
    };

    public static CreateTopicsRequest CreateTopicsRequest(short v) => new()
    {
        Topics =
        [
            new()
            {
                Name = "new-topic", NumPartitions = 3, ReplicationFactor = 1,
                Configs = [new() { Name = "cleanup.policy", Value = "compact" }, new() { Name = "retention.ms", Value = null }],
            },
            new()
            {
                Name = "manual", NumPartitions = -1, ReplicationFactor = -1,
                Assignments = [new() { PartitionIndex = 0, BrokerIds = [1] }, new() { PartitionIndex = 1, BrokerIds = [1, 2] }],
            },
        ],
        TimeoutMs = 5000,
        ValidateOnly = v >= 1,
    };

    public static CreateTopicsResponse CreateTopicsResponse(short v) => new()
    {
        ThrottleTimeMs = v >= 2 ? 4 : 0,
        Topics =
        [
            new()
            {
                Name = "new-topic", ErrorCode = ErrorCode.None, ErrorMessage = null,
                TopicConfigErrorCode = v >= 5 ? ErrorCode.TopicAuthorizationFailed : ErrorCode.None,
                NumPartitions = v >= 5 ? 3 : -1, ReplicationFactor = v >= 5 ? (short)1 : (short)-1,
                Configs = v >= 5
                    ? [new() { Name = "cleanup.policy", Value = "compact", ReadOnly = false, ConfigSource = ConfigSource.DynamicTopicConfig }, new() { Name = "secret", Value = null, IsSensitive = true, ConfigSource = ConfigSource.DefaultConfig }]
                    : null,
            },
            new() { Name = "dup", ErrorCode = ErrorCode.TopicAlreadyExists, ErrorMessage = v >= 1 ? "Topic 'dup' already exists." : null },
        ],
    };

    public static DeleteTopicsRequest DeleteTopicsRequest(short v) => new() { TopicNames = ["a", "b"], TimeoutMs = 1000 + v };

    public static DeleteTopicsResponse DeleteTopicsResponse(short v) => new()
    {
        ThrottleTimeMs = v >= 1 ? 2 : 0,
        Responses = [new() { Name = "a", ErrorCode = ErrorCode.None }, new() { Name = "b", ErrorCode = ErrorCode.UnknownTopicOrPartition }],
    };

    public static CreatePartitionsRequest CreatePartitionsRequest(short v) => new()
    {
        Topics =
        [
            new() { Name = "t", Count = 6, Assignments = null },
            new() { Name = "u", Count = 2, Assignments = [new() { BrokerIds = [1] }, new() { BrokerIds = [2, 1] }] },
        ],
        TimeoutMs = 2000 + v,
        ValidateOnly = true,
    };

    public static CreatePartitionsResponse CreatePartitionsResponse(short v) => new()
    {
        ThrottleTimeMs = v,
        Results =
        [
            new() { Name = "t", ErrorCode = ErrorCode.None },
            new() { Name = "u", ErrorCode = ErrorCode.InvalidPartitions, ErrorMessage = "Topic already has 4 partitions." },
        ],
    };

    public static DescribeConfigsRequest DescribeConfigsRequest(short v) => new()
    {
        Resources =
        [
            new() { ResourceType = ConfigResourceType.Topic, ResourceName = "orders", ConfigurationKeys = null },
            new() { ResourceType = ConfigResourceType.Broker, ResourceName = "1", ConfigurationKeys = ["log.retention.ms", "num.partitions"] },
        ],
        IncludeSynonyms = v >= 1,
        IncludeDocumentation = v >= 3,
    };

    public static DescribeConfigsResponse DescribeConfigsResponse(short v) => new()
    {
        ThrottleTimeMs = 1,
        Results =
        [
            new()
            {
                ErrorCode = ErrorCode.None, ResourceType = ConfigResourceType.Topic, ResourceName = "orders",
                Configs =
                [
                    new()
                    {
                        Name = "retention.ms", Value = "1000", ReadOnly = false, IsDefault = false,
                        ConfigSource = v >= 1 ? ConfigSource.DynamicTopicConfig : ConfigSource.Unknown,
                        Synonyms = v >= 1
                            ? [new() { Name = "retention.ms", Value = "1000", Source = ConfigSource.DynamicTopicConfig }, new() { Name = "log.retention.ms", Value = null, Source = ConfigSource.DefaultConfig }]
                            : [],
                        ConfigType = v >= 3 ? ConfigType.Long : ConfigType.Unknown,
                        Documentation = v >= 3 ? "How long to keep records." : null,
                    },
                    new()
                    {
                        Name = "sasl.password", Value = null, ReadOnly = true, IsDefault = v == 0, IsSensitive = true,
                        ConfigSource = v >= 1 ? ConfigSource.DefaultConfig : ConfigSource.Unknown,
                        ConfigType = v >= 3 ? ConfigType.Password : ConfigType.Unknown,
                    },
                ],
            },
            new() { ErrorCode = ErrorCode.UnknownTopicOrPartition, ErrorMessage = "no such topic", ResourceType = ConfigResourceType.Topic, ResourceName = "nope" },
        ],
    };

    public static InitProducerIdRequest InitProducerIdRequest(short v) => new()
    {
        TransactionalId = v == 1 ? "tx-1" : null,
        TransactionTimeoutMs = 60_000,
    };

    public static InitProducerIdResponse InitProducerIdResponse(short v) => new()
    {
        ThrottleTimeMs = v,
        ErrorCode = ErrorCode.None,
        ProducerId = 1_000_000_007,
        ProducerEpoch = 3,
    };

    public static FindCoordinatorRequest FindCoordinatorRequest(short v) => new()
    {
        Key = "my-group",
        KeyType = v >= 1 ? OrleansMQ.Protocol.Kafka.FindCoordinatorRequest.TransactionKeyType : OrleansMQ.Protocol.Kafka.FindCoordinatorRequest.GroupKeyType,
    };

    public static FindCoordinatorResponse FindCoordinatorResponse(short v) => new()
    {
        ThrottleTimeMs = v >= 1 ? 6 : 0,
        ErrorCode = ErrorCode.None,
        ErrorMessage = v >= 1 ? "NONE" : null,
        NodeId = 1,
        Host = "localhost",
        Port = 9092,
    };

    public static SaslHandshakeRequest SaslHandshakeRequest(short v) => new() { Mechanism = v == 0 ? "PLAIN" : "SCRAM-SHA-256" };

    public static SaslAuthenticateRequest SaslAuthenticateRequest(short v) => new() { AuthBytes = new byte[] { 0, 117, 0, 112 } };

    public static SaslAuthenticateResponse SaslAuthenticateResponse(short v) => new()
    {
        ErrorCode = ErrorCode.IllegalSaslState,
        ErrorMessage = "no mechanism",
        AuthBytes = new byte[] { 1, 2 },
        SessionLifetimeMs = v >= 1 ? 3_600_000 : 0,
    };

    public static SaslHandshakeResponse SaslHandshakeResponse(short v) => new()
    {
        ErrorCode = ErrorCode.UnsupportedSaslMechanism,
        Mechanisms = ["PLAIN", "SCRAM-SHA-256"],
    };

    public static OffsetCommitRequest OffsetCommitRequest(short v) => new()
    {
        GroupId = "orders-app",
        GenerationId = v >= 1 ? 4 : -1,
        MemberId = v >= 1 ? "consumer-1-5d2c" : "",
        GroupInstanceId = v >= 7 ? "instance-a" : null,
        RetentionTimeMs = v is >= 2 and <= 4 ? 86_400_000 : -1,
        Topics =
        [
            new()
            {
                Name = "orders",
                Partitions =
                [
                    new()
                    {
                        PartitionIndex = 0, CommittedOffset = 1234, CommittedLeaderEpoch = v >= 6 ? 3 : -1,
                        CommitTimestamp = v == 1 ? 1_700_000_000_000 : -1, CommittedMetadata = "checkpoint",
                    },
                    new() { PartitionIndex = 2, CommittedOffset = 0, CommittedMetadata = null },
                ],
            },
            new() { Name = "päyments", Partitions = [new() { PartitionIndex = 1, CommittedOffset = long.MaxValue, CommittedMetadata = "" }] },
        ],
    };

    public static OffsetCommitResponse OffsetCommitResponse(short v) => new()
    {
        ThrottleTimeMs = v >= 3 ? 8 : 0,
        Topics =
        [
            new()
            {
                Name = "orders",
                Partitions = [new() { PartitionIndex = 0, ErrorCode = ErrorCode.None }, new() { PartitionIndex = 2, ErrorCode = ErrorCode.OffsetMetadataTooLarge }],
            },
            new() { Name = "gone", Partitions = [new() { PartitionIndex = 0, ErrorCode = ErrorCode.UnknownTopicOrPartition }] },
        ],
    };

    public static OffsetFetchRequest OffsetFetchRequest(short v) => new()
    {
        GroupId = "orders-app",
        Topics = v is 3 or 7
            ? null
            : [new() { Name = "orders", PartitionIndexes = [0, 1, 2] }, new() { Name = "empty", PartitionIndexes = [] }],
        RequireStable = v >= 7,
    };

    public static OffsetFetchResponse OffsetFetchResponse(short v) => new()
    {
        ThrottleTimeMs = v >= 3 ? 9 : 0,
        Topics =
        [
            new()
            {
                Name = "orders",
                Partitions =
                [
                    new() { PartitionIndex = 0, CommittedOffset = 1234, CommittedLeaderEpoch = v >= 5 ? 3 : -1, Metadata = "checkpoint", ErrorCode = ErrorCode.None },
                    new() { PartitionIndex = 1, CommittedOffset = -1, Metadata = null, ErrorCode = ErrorCode.None },
                    new() { PartitionIndex = 2, CommittedOffset = -1, Metadata = "", ErrorCode = v >= 7 ? ErrorCode.UnstableOffsetCommit : ErrorCode.UnknownTopicOrPartition },
                ],
            },
        ],
        ErrorCode = v >= 2 ? ErrorCode.CoordinatorLoadInProgress : ErrorCode.None,
    };

    public static JoinGroupRequest JoinGroupRequest(short v) => new()
    {
        GroupId = "orders-app",
        SessionTimeoutMs = 45_000,
        RebalanceTimeoutMs = v >= 1 ? 300_000 : -1,
        MemberId = v >= 4 ? "consumer-1-5d2c" : "",
        GroupInstanceId = v >= 5 ? "instance-a" : null,
        ProtocolType = "consumer",
        Protocols =
        [
            new() { Name = "cooperative-sticky", Metadata = SubscriptionBytes },
            new() { Name = "range", Metadata = Array.Empty<byte>() },
        ],
    };

    public static JoinGroupResponse JoinGroupResponse(short v) => new()
    {
        ThrottleTimeMs = v >= 2 ? 12 : 0,
        ErrorCode = ErrorCode.None,
        GenerationId = 5,
        ProtocolType = v >= 7 ? "consumer" : null,
        ProtocolName = "range",
        Leader = "consumer-1-5d2c",
        MemberId = "consumer-1-5d2c",
        Members =
        [
            new() { MemberId = "consumer-1-5d2c", GroupInstanceId = v >= 5 ? "instance-a" : null, Metadata = SubscriptionBytes },
            new() { MemberId = "consumer-2-77aa", GroupInstanceId = null, Metadata = Array.Empty<byte>() },
        ],
    };

    public static HeartbeatRequest HeartbeatRequest(short v) => new()
    {
        GroupId = "orders-app",
        GenerationId = 5,
        MemberId = "consumer-1-5d2c",
        GroupInstanceId = v >= 3 ? "instance-a" : null,
    };

    public static HeartbeatResponse HeartbeatResponse(short v) => new()
    {
        ThrottleTimeMs = v >= 1 ? 13 : 0,
        ErrorCode = ErrorCode.RebalanceInProgress,
    };

    public static LeaveGroupRequest LeaveGroupRequest(short v) => new()
    {
        GroupId = "orders-app",
        MemberId = v <= 2 ? "consumer-1-5d2c" : "",
        Members = v >= 3
            ?
            [
                new() { MemberId = "consumer-1-5d2c", GroupInstanceId = null, Reason = v >= 5 ? "the consumer is being closed" : null },
                new() { MemberId = "", GroupInstanceId = "instance-b" },
            ]
            : [],
    };

    public static LeaveGroupResponse LeaveGroupResponse(short v) => new()
    {
        ThrottleTimeMs = v >= 1 ? 14 : 0,
        ErrorCode = ErrorCode.None,
        Members = v >= 3
            ?
            [
                new() { MemberId = "consumer-1-5d2c", GroupInstanceId = null, ErrorCode = ErrorCode.None },
                new() { MemberId = "", GroupInstanceId = "instance-b", ErrorCode = ErrorCode.UnknownMemberId },
            ]
            : [],
    };

    public static SyncGroupRequest SyncGroupRequest(short v) => new()
    {
        GroupId = "orders-app",
        GenerationId = 5,
        MemberId = "consumer-1-5d2c",
        GroupInstanceId = v >= 3 ? "instance-a" : null,
        ProtocolType = v >= 5 ? "consumer" : null,
        ProtocolName = v >= 5 ? "range" : null,
        Assignments =
        [
            new() { MemberId = "consumer-1-5d2c", AssignmentBytes = AssignmentBytes },
            new() { MemberId = "consumer-2-77aa", AssignmentBytes = Array.Empty<byte>() },
        ],
    };

    public static SyncGroupResponse SyncGroupResponse(short v) => new()
    {
        ThrottleTimeMs = v >= 1 ? 15 : 0,
        ErrorCode = ErrorCode.None,
        ProtocolType = v >= 5 ? "consumer" : null,
        ProtocolName = v >= 5 ? "range" : null,
        Assignment = AssignmentBytes,
    };

    public static DescribeGroupsRequest DescribeGroupsRequest(short v) => new()
    {
        Groups = ["orders-app", "missing"],
        IncludeAuthorizedOperations = v >= 3,
    };

    public static DescribeGroupsResponse DescribeGroupsResponse(short v) => new()
    {
        ThrottleTimeMs = v >= 1 ? 16 : 0,
        Groups =
        [
            new()
            {
                ErrorCode = ErrorCode.None, GroupId = "orders-app", GroupState = "Stable", ProtocolType = "consumer", ProtocolData = "range",
                Members =
                [
                    new()
                    {
                        MemberId = "consumer-1-5d2c", GroupInstanceId = v >= 4 ? "instance-a" : null, ClientId = "rdkafka", ClientHost = "/10.0.0.7",
                        MemberMetadata = SubscriptionBytes, MemberAssignment = AssignmentBytes,
                    },
                    new() { MemberId = "consumer-2-77aa", ClientId = "", ClientHost = "/10.0.0.8" },
                ],
                AuthorizedOperations = v >= 3 ? 0x0FF8 : int.MinValue,
            },
            new() { ErrorCode = ErrorCode.None, GroupId = "missing", GroupState = "Dead" },
        ],
    };

    public static ListGroupsRequest ListGroupsRequest(short v) => new() { StatesFilter = v >= 4 ? ["Stable", "Empty"] : [] };

    public static ListGroupsResponse ListGroupsResponse(short v) => new()
    {
        ThrottleTimeMs = v >= 1 ? 17 : 0,
        ErrorCode = ErrorCode.None,
        Groups =
        [
            new() { GroupId = "orders-app", ProtocolType = "consumer", GroupState = v >= 4 ? "Stable" : "" },
            new() { GroupId = "offsets-only", ProtocolType = "", GroupState = v >= 4 ? "Empty" : "" },
        ],
    };

    public static DeleteGroupsRequest DeleteGroupsRequest(short v) => new() { GroupsNames = ["old-app", "orders-app"] };

    public static DeleteGroupsResponse DeleteGroupsResponse(short v) => new()
    {
        ThrottleTimeMs = 18 + v,
        Results = [new() { GroupId = "old-app", ErrorCode = ErrorCode.None }, new() { GroupId = "orders-app", ErrorCode = ErrorCode.NonEmptyGroup }],
    };

    public static OffsetDeleteRequest OffsetDeleteRequest(short v) => new()
    {
        GroupId = "orders-app",
        Topics = [new() { Name = "orders", Partitions = [0, 2] }, new() { Name = "empty", Partitions = [] }],
    };

    public static OffsetDeleteResponse OffsetDeleteResponse(short v) => new()
    {
        ErrorCode = ErrorCode.None,
        ThrottleTimeMs = 19,
        Topics =
        [
            new()
            {
                Name = "orders",
                Partitions = [new() { PartitionIndex = 0, ErrorCode = ErrorCode.None }, new() { PartitionIndex = 2, ErrorCode = ErrorCode.GroupSubscribedToTopic }],
            },
        ],
    };
}
