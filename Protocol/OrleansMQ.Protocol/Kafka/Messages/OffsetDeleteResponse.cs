namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// OffsetDelete response (key 47), v0 (never flexible).
/// <code>
/// error_code INT16 | throttle_time_ms INT32
/// topics [name STRING, partitions [partition_index INT32, error_code INT16]]
/// </code>
/// Unusually, the error code comes before the throttle time.
/// </summary>
public sealed class OffsetDeleteResponse : IKafkaMessage<OffsetDeleteResponse>
{
    public static ApiKey ApiKey => ApiKey.OffsetDelete;

    /// <summary>A group-level error.</summary>
    public ErrorCode ErrorCode { get; set; }

    public int ThrottleTimeMs { get; set; }

    public List<Topic> Topics { get; set; } = [];

    public static OffsetDeleteResponse Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var response = new OffsetDeleteResponse
        {
            ErrorCode = (ErrorCode)reader.ReadInt16(),
            ThrottleTimeMs = reader.ReadInt32(),
            Topics = Wire.ReadList<Topic>(ref reader, version, flexible),
        };
        Wire.EndStruct(ref reader, flexible);
        return response;
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        bool flexible = Wire.CheckWrite(ApiKey, version);
        writer.WriteInt16((short)ErrorCode);
        writer.WriteInt32(ThrottleTimeMs);
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
