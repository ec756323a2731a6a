namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// OffsetFetch response (key 9), v0–v7 (the single-group form).
/// <code>
/// throttle_time_ms INT32 (v3+)
/// topics [name STRING,
///         partitions [partition_index INT32, committed_offset INT64,
///                     committed_leader_epoch INT32 (v5+), metadata NULLABLE_STRING,
///                     error_code INT16]]
/// error_code INT16 (v2+)
/// (v6: compact strings/arrays, TAGGED_FIELDS after every struct)
/// </code>
/// A partition without a committed offset answers offset -1 and no error.
/// </summary>
public sealed class OffsetFetchResponse : IKafkaMessage<OffsetFetchResponse>
{
    public static ApiKey ApiKey => ApiKey.OffsetFetch;

    /// <summary>v3+.</summary>
    public int ThrottleTimeMs { get; set; }

    public List<Topic> Topics { get; set; } = [];

    /// <summary>v2+: a group-level error (before v2 it can only be told per partition).</summary>
    public ErrorCode ErrorCode { get; set; }

    public static OffsetFetchResponse Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var response = new OffsetFetchResponse();
        if (version >= 3)
        {
            response.ThrottleTimeMs = reader.ReadInt32();
        }

        response.Topics = Wire.ReadList<Topic>(ref reader, version, flexible);
        if (version >= 2)
        {
            response.ErrorCode = (ErrorCode)reader.ReadInt16();
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

        Wire.WriteList(ref writer, Topics, version, flexible);
        if (version >= 2)
        {
            writer.WriteInt16((short)ErrorCode);
        }

        Wire.EndStruct(ref writer, flexible);
    }

    /// <summary>A topic and its partitions.</summary>
    public sealed class Topic : TopicPartitions<Topic, Partition>
    {
    }

    public sealed class Partition : IWireElement<Partition>
    {
        public int PartitionIndex { get; set; }

        /// <summary>-1 when the group has no offset for the partition.</summary>
        public long CommittedOffset { get; set; } = -1;

        /// <summary>v5+.</summary>
        public int CommittedLeaderEpoch { get; set; } = -1;

        public string? Metadata { get; set; }

        public ErrorCode ErrorCode { get; set; }

        static Partition IWireReadable<Partition>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var partition = new Partition
            {
                PartitionIndex = reader.ReadInt32(),
                CommittedOffset = reader.ReadInt64(),
            };
            if (version >= 5)
            {
                partition.CommittedLeaderEpoch = reader.ReadInt32();
            }

            partition.Metadata = reader.ReadNullableString(flexible);
            partition.ErrorCode = (ErrorCode)reader.ReadInt16();
            Wire.EndStruct(ref reader, flexible);
            return partition;
        }

        void IWireElement<Partition>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteInt32(PartitionIndex);
            writer.WriteInt64(CommittedOffset);
            if (version >= 5)
            {
                writer.WriteInt32(CommittedLeaderEpoch);
            }

            writer.WriteNullableString(Metadata, flexible);
            writer.WriteInt16((short)ErrorCode);
            Wire.EndStruct(ref writer, flexible);
        }
    }
}
