namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// ListOffsets response (key 2), v0–v6.
/// <code>
/// throttle_time_ms INT32 (v2+)
/// topics [name STRING,
///         partitions [partition_index INT32, error_code INT16,
///                     old_style_offsets [INT64] (v0 only),
///                     timestamp INT64 (v1+), offset INT64 (v1+), leader_epoch INT32 (v4+)]]
/// (v6: compact strings/arrays, TAGGED_FIELDS after every struct)
/// </code>
/// </summary>
public sealed class ListOffsetsResponse : IKafkaMessage<ListOffsetsResponse>
{
    public static ApiKey ApiKey => ApiKey.ListOffsets;

    /// <summary>v2+.</summary>
    public int ThrottleTimeMs { get; set; }

    public List<Topic> Topics { get; set; } = [];

    public static ListOffsetsResponse Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var response = new ListOffsetsResponse();
        if (version >= 2)
        {
            response.ThrottleTimeMs = reader.ReadInt32();
        }

        response.Topics = Wire.ReadList<Topic>(ref reader, version, flexible);
        Wire.EndStruct(ref reader, flexible);
        return response;
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        bool flexible = Wire.CheckWrite(ApiKey, version);
        if (version >= 2)
        {
            writer.WriteInt32(ThrottleTimeMs);
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

        public ErrorCode ErrorCode { get; set; }

        /// <summary>v0 only: up to max_num_offsets offsets, newest first.</summary>
        public List<long> OldStyleOffsets { get; set; } = [];

        /// <summary>v1+.</summary>
        public long Timestamp { get; set; } = -1;

        /// <summary>v1+.</summary>
        public long Offset { get; set; } = -1;

        /// <summary>v4+.</summary>
        public int LeaderEpoch { get; set; } = -1;

        static Partition IWireReadable<Partition>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var partition = new Partition
            {
                PartitionIndex = reader.ReadInt32(),
                ErrorCode = (ErrorCode)reader.ReadInt16(),
            };
            if (version == 0)
            {
                partition.OldStyleOffsets = Wire.ReadInt64List(ref reader, flexible);
            }
            else
            {
                partition.Timestamp = reader.ReadInt64();
                partition.Offset = reader.ReadInt64();
            }

            if (version >= 4)
            {
                partition.LeaderEpoch = reader.ReadInt32();
            }

            Wire.EndStruct(ref reader, flexible);
            return partition;
        }

        void IWireElement<Partition>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteInt32(PartitionIndex);
            writer.WriteInt16((short)ErrorCode);
            if (version == 0)
            {
                Wire.WriteInt64List(ref writer, OldStyleOffsets, flexible);
            }
            else
            {
                writer.WriteInt64(Timestamp);
                writer.WriteInt64(Offset);
            }

            if (version >= 4)
            {
                writer.WriteInt32(LeaderEpoch);
            }

            Wire.EndStruct(ref writer, flexible);
        }
    }
}
