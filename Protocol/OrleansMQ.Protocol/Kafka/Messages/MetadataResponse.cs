namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// Metadata response (key 3), v0–v9.
/// <code>
/// throttle_time_ms INT32                                          v3+
/// brokers [node_id INT32, host STRING, port INT32, rack NULLABLE_STRING (v1+)]
/// cluster_id NULLABLE_STRING                                      v2+
/// controller_id INT32                                             v1+
/// topics [error_code INT16, name STRING, is_internal BOOLEAN (v1+),
///         partitions [error_code INT16, partition_index INT32, leader_id INT32,
///                     leader_epoch INT32 (v7+), replica_nodes [INT32], isr_nodes [INT32],
///                     offline_replicas [INT32] (v5+)],
///         topic_authorized_operations INT32 (v8+)]
/// cluster_authorized_operations INT32                             v8+
/// (v9: compact strings/arrays, TAGGED_FIELDS after every struct)
/// </code>
/// </summary>
public sealed class MetadataResponse : IKafkaMessage<MetadataResponse>
{
    /// <summary>"Authorized operations not requested" (INT32 min value).</summary>
    public const int AuthorizedOperationsOmitted = int.MinValue;

    public static ApiKey ApiKey => ApiKey.Metadata;

    /// <summary>v3+.</summary>
    public int ThrottleTimeMs { get; set; }

    public List<Broker> Brokers { get; set; } = [];

    /// <summary>v2+.</summary>
    public string? ClusterId { get; set; }

    /// <summary>v1+.</summary>
    public int ControllerId { get; set; } = -1;

    public List<Topic> Topics { get; set; } = [];

    /// <summary>v8+.</summary>
    public int ClusterAuthorizedOperations { get; set; } = AuthorizedOperationsOmitted;

    public static MetadataResponse Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var response = new MetadataResponse();
        if (version >= 3)
        {
            response.ThrottleTimeMs = reader.ReadInt32();
        }

        response.Brokers = Wire.ReadList<Broker>(ref reader, version, flexible);
        if (version >= 2)
        {
            response.ClusterId = reader.ReadNullableString(flexible);
        }

        if (version >= 1)
        {
            response.ControllerId = reader.ReadInt32();
        }

        response.Topics = Wire.ReadList<Topic>(ref reader, version, flexible);
        if (version >= 8)
        {
            response.ClusterAuthorizedOperations = reader.ReadInt32();
        }

        Wire.EndStruct(ref reader, flexible);
        return response;
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        bool flexible = Wire.CheckWrite(ApiKey, version);
        if (version >= 3)
        {
            writer.WriteInt32(ThrottleTimeMs);
        }

        Wire.WriteList(ref writer, Brokers, version, flexible);
        if (version >= 2)
        {
            writer.WriteNullableString(ClusterId, flexible);
        }

        if (version >= 1)
        {
            writer.WriteInt32(ControllerId);
        }

        Wire.WriteList(ref writer, Topics, version, flexible);
        if (version >= 8)
        {
            writer.WriteInt32(ClusterAuthorizedOperations);
        }

        Wire.EndStruct(ref writer, flexible);
    }

    public sealed class Broker : IWireElement<Broker>
    {
        public int NodeId { get; set; }

        public string Host { get; set; } = "";

        public int Port { get; set; }

        /// <summary>v1+.</summary>
        public string? Rack { get; set; }

        static Broker IWireReadable<Broker>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var broker = new Broker
            {
                NodeId = reader.ReadInt32(),
                Host = reader.ReadString(flexible),
                Port = reader.ReadInt32(),
            };
            if (version >= 1)
            {
                broker.Rack = reader.ReadNullableString(flexible);
            }

            Wire.EndStruct(ref reader, flexible);
            return broker;
        }

        void IWireElement<Broker>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteInt32(NodeId);
            writer.WriteString(Host, flexible);
            writer.WriteInt32(Port);
            if (version >= 1)
            {
                writer.WriteNullableString(Rack, flexible);
            }

            Wire.EndStruct(ref writer, flexible);
        }
    }

    public sealed class Topic : IWireElement<Topic>
    {
        public ErrorCode ErrorCode { get; set; }

        public string Name { get; set; } = "";

        /// <summary>v1+.</summary>
        public bool IsInternal { get; set; }

        public List<Partition> Partitions { get; set; } = [];

        /// <summary>v8+.</summary>
        public int TopicAuthorizedOperations { get; set; } = AuthorizedOperationsOmitted;

        static Topic IWireReadable<Topic>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var topic = new Topic
            {
                ErrorCode = (ErrorCode)reader.ReadInt16(),
                Name = reader.ReadString(flexible),
            };
            if (version >= 1)
            {
                topic.IsInternal = reader.ReadBoolean();
            }

            topic.Partitions = Wire.ReadList<Partition>(ref reader, version, flexible);
            if (version >= 8)
            {
                topic.TopicAuthorizedOperations = reader.ReadInt32();
            }

            Wire.EndStruct(ref reader, flexible);
            return topic;
        }

        void IWireElement<Topic>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteInt16((short)ErrorCode);
            writer.WriteString(Name, flexible);
            if (version >= 1)
            {
                writer.WriteBoolean(IsInternal);
            }

            Wire.WriteList(ref writer, Partitions, version, flexible);
            if (version >= 8)
            {
                writer.WriteInt32(TopicAuthorizedOperations);
            }

            Wire.EndStruct(ref writer, flexible);
        }
    }

    public sealed class Partition : IWireElement<Partition>
    {
        public ErrorCode ErrorCode { get; set; }

        public int PartitionIndex { get; set; }

        public int LeaderId { get; set; }

        /// <summary>v7+.</summary>
        public int LeaderEpoch { get; set; } = -1;

        public List<int> ReplicaNodes { get; set; } = [];

        public List<int> IsrNodes { get; set; } = [];

        /// <summary>v5+.</summary>
        public List<int> OfflineReplicas { get; set; } = [];

        static Partition IWireReadable<Partition>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var partition = new Partition
            {
                ErrorCode = (ErrorCode)reader.ReadInt16(),
                PartitionIndex = reader.ReadInt32(),
                LeaderId = reader.ReadInt32(),
            };
            if (version >= 7)
            {
                partition.LeaderEpoch = reader.ReadInt32();
            }

            partition.ReplicaNodes = Wire.ReadInt32List(ref reader, flexible);
            partition.IsrNodes = Wire.ReadInt32List(ref reader, flexible);
            if (version >= 5)
            {
                partition.OfflineReplicas = Wire.ReadInt32List(ref reader, flexible);
            }

            Wire.EndStruct(ref reader, flexible);
            return partition;
        }

        void IWireElement<Partition>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteInt16((short)ErrorCode);
            writer.WriteInt32(PartitionIndex);
            writer.WriteInt32(LeaderId);
            if (version >= 7)
            {
                writer.WriteInt32(LeaderEpoch);
            }

            Wire.WriteInt32List(ref writer, ReplicaNodes, flexible);
            Wire.WriteInt32List(ref writer, IsrNodes, flexible);
            if (version >= 5)
            {
                Wire.WriteInt32List(ref writer, OfflineReplicas, flexible);
            }

            Wire.EndStruct(ref writer, flexible);
        }
    }
}
