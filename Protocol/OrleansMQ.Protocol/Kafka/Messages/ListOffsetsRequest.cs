namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// ListOffsets request (key 2), v0–v6.
/// <code>
/// replica_id INT32 | isolation_level INT8 (v2+)
/// topics [name STRING,
///         partitions [partition_index INT32, current_leader_epoch INT32 (v4+), timestamp INT64,
///                     max_num_offsets INT32 (v0 only)]]
/// (v6: compact strings/arrays, TAGGED_FIELDS after every struct)
/// </code>
/// Timestamp -1 asks for the latest offset, -2 for the earliest.
/// </summary>
public sealed class ListOffsetsRequest : IKafkaMessage<ListOffsetsRequest>
{
    public const long LatestTimestamp = -1;
    public const long EarliestTimestamp = -2;

    public static ApiKey ApiKey => ApiKey.ListOffsets;

    public int ReplicaId { get; set; } = -1;

    /// <summary>v2+.</summary>
    public sbyte IsolationLevel { get; set; }

    public List<Topic> Topics { get; set; } = [];

    public static ListOffsetsRequest Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var request = new ListOffsetsRequest { ReplicaId = reader.ReadInt32() };
        if (version >= 2)
        {
            request.IsolationLevel = reader.ReadInt8();
        }

        request.Topics = Wire.ReadList<Topic>(ref reader, version, flexible);
        Wire.EndStruct(ref reader, flexible);
        return request;
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        bool flexible = Wire.CheckWrite(ApiKey, version);
        writer.WriteInt32(ReplicaId);
        if (version >= 2)
        {
            writer.WriteInt8(IsolationLevel);
        }

        Wire.WriteList(ref writer, Topics, version, flexible);
        Wire.EndStruct(ref writer, flexible);
    }

    /// <summary>A topic and its partitions.</summary>
    public sealed class Topic : TopicPartitions<Topic, Partition>
    {
    }

    public sealed class Partition : IWireElement<Partition>
    {
        public int PartitionIndex { get; set; }

        /// <summary>v4+.</summary>
        public int CurrentLeaderEpoch { get; set; } = -1;

        public long Timestamp { get; set; }

        /// <summary>v0 only.</summary>
        public int MaxNumOffsets { get; set; } = 1;

        static Partition IWireReadable<Partition>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var partition = new Partition { PartitionIndex = reader.ReadInt32() };
            if (version >= 4)
            {
                partition.CurrentLeaderEpoch = reader.ReadInt32();
            }

            partition.Timestamp = reader.ReadInt64();
            if (version == 0)
            {
                partition.MaxNumOffsets = reader.ReadInt32();
            }

            Wire.EndStruct(ref reader, flexible);
            return partition;
        }

        void IWireElement<Partition>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteInt32(PartitionIndex);
            if (version >= 4)
            {
                writer.WriteInt32(CurrentLeaderEpoch);
            }

            writer.WriteInt64(Timestamp);
            if (version == 0)
            {
                writer.WriteInt32(MaxNumOffsets);
            }

            Wire.EndStruct(ref writer, flexible);
        }
    }
}
