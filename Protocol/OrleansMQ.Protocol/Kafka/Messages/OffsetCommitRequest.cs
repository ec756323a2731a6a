namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// OffsetCommit request (key 8), v0–v8.
/// <code>
/// group_id STRING
/// generation_id INT32 (v1+) | member_id STRING (v1+)
/// group_instance_id NULLABLE_STRING (v7+)
/// retention_time_ms INT64 (v2–v4 only)
/// topics [name STRING,
///         partitions [partition_index INT32, committed_offset INT64,
///                     committed_leader_epoch INT32 (v6+), commit_timestamp INT64 (v1 only),
///                     committed_metadata NULLABLE_STRING]]
/// (v8: compact strings/arrays, TAGGED_FIELDS after every struct)
/// </code>
/// A generation of -1 with an empty member id is a commit from outside the group (simple consumer).
/// </summary>
public sealed class OffsetCommitRequest : IKafkaMessage<OffsetCommitRequest>
{
    public static ApiKey ApiKey => ApiKey.OffsetCommit;

    public string GroupId { get; set; } = "";

    /// <summary>v1+.</summary>
    public int GenerationId { get; set; } = -1;

    /// <summary>v1+.</summary>
    public string MemberId { get; set; } = "";

    /// <summary>v7+.</summary>
    public string? GroupInstanceId { get; set; }

    /// <summary>v2–v4; -1 means the broker's retention.</summary>
    public long RetentionTimeMs { get; set; } = -1;

    public List<Topic> Topics { get; set; } = [];

    public static OffsetCommitRequest Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var request = new OffsetCommitRequest { GroupId = reader.ReadString(flexible) };
        if (version >= 1)
        {
            request.GenerationId = reader.ReadInt32();
            request.MemberId = reader.ReadString(flexible);
        }

        if (version >= 7)
        {
            request.GroupInstanceId = reader.ReadNullableString(flexible);
        }

        if (version is >= 2 and <= 4)
        {
            request.RetentionTimeMs = reader.ReadInt64();
        }

        request.Topics = Wire.ReadList<Topic>(ref reader, version, flexible);
        Wire.EndStruct(ref reader, flexible);
        return request;
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        bool flexible = Wire.CheckWrite(ApiKey, version);
        writer.WriteString(GroupId, flexible);
        if (version >= 1)
        {
            writer.WriteInt32(GenerationId);
            writer.WriteString(MemberId, flexible);
        }

        if (version >= 7)
        {
            writer.WriteNullableString(GroupInstanceId, flexible);
        }

        if (version is >= 2 and <= 4)
        {
            writer.WriteInt64(RetentionTimeMs);
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

        public long CommittedOffset { get; set; }

        /// <summary>v6+.</summary>
        public int CommittedLeaderEpoch { get; set; } = -1;

        /// <summary>v1 only.</summary>
        public long CommitTimestamp { get; set; } = -1;

        public string? CommittedMetadata { get; set; }

        static Partition IWireReadable<Partition>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var partition = new Partition
            {
                PartitionIndex = reader.ReadInt32(),
                CommittedOffset = reader.ReadInt64(),
            };
            if (version >= 6)
            {
                partition.CommittedLeaderEpoch = reader.ReadInt32();
            }

            if (version == 1)
            {
                partition.CommitTimestamp = reader.ReadInt64();
            }

            partition.CommittedMetadata = reader.ReadNullableString(flexible);
            Wire.EndStruct(ref reader, flexible);
            return partition;
        }

        void IWireElement<Partition>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteInt32(PartitionIndex);
            writer.WriteInt64(CommittedOffset);
            if (version >= 6)
            {
                writer.WriteInt32(CommittedLeaderEpoch);
            }

            if (version == 1)
            {
                writer.WriteInt64(CommitTimestamp);
            }

            writer.WriteNullableString(CommittedMetadata, flexible);
            Wire.EndStruct(ref writer, flexible);
        }
    }
}
