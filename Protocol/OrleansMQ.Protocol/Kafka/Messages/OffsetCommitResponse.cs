namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// OffsetCommit response (key 8), v0–v8.
/// <code>
/// throttle_time_ms INT32 (v3+)
/// topics [name STRING, partitions [partition_index INT32, error_code INT16]]
/// (v8: compact strings/arrays, TAGGED_FIELDS after every struct)
/// </code>
/// </summary>
public sealed class OffsetCommitResponse : IKafkaMessage<OffsetCommitResponse>
{
    public static ApiKey ApiKey => ApiKey.OffsetCommit;

    /// <summary>v3+.</summary>
    public int ThrottleTimeMs { get; set; }

    public List<Topic> Topics { get; set; } = [];

    public static OffsetCommitResponse Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var response = new OffsetCommitResponse();
        if (version >= 3)
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
        if (version >= 3)
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

        static Partition IWireReadable<Partition>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var partition = new Partition
            {
                PartitionIndex = reader.ReadInt32(),
                ErrorCode = (ErrorCode)reader.ReadInt16(),
            };
            Wire.EndStruct(ref reader, flexible);
            return partition;
        }

        void IWireElement<Partition>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteInt32(PartitionIndex);
            writer.WriteInt16((short)ErrorCode);
            Wire.EndStruct(ref writer, flexible);
        }
    }
}
