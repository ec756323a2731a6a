namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// Fetch request (key 1), v2–v12.
/// <code>
/// replica_id INT32 | max_wait_ms INT32 | min_bytes INT32 | max_bytes INT32 (v3+) | isolation_level INT8 (v4+)
/// session_id INT32 (v7+) | session_epoch INT32 (v7+)
/// topics [topic STRING,
///         partitions [partition INT32, current_leader_epoch INT32 (v9+), fetch_offset INT64,
///                     last_fetched_epoch INT32 (v12+), log_start_offset INT64 (v5+),
///                     partition_max_bytes INT32]]
/// forgotten_topics_data [topic STRING, partitions [INT32]] (v7+)
/// rack_id STRING (v11+)
/// (v12: compact strings/arrays, TAGGED_FIELDS after every struct; top-level tag 0 = cluster id, ignored)
/// </code>
/// </summary>
public sealed class FetchRequest : IKafkaMessage<FetchRequest>
{
    public static ApiKey ApiKey => ApiKey.Fetch;

    /// <summary>-1 for consumers; a broker id for followers.</summary>
    public int ReplicaId { get; set; } = -1;

    public int MaxWaitMs { get; set; }

    public int MinBytes { get; set; }

    /// <summary>v3+; <see cref="int.MaxValue"/> (no response limit) before.</summary>
    public int MaxBytes { get; set; } = int.MaxValue;

    /// <summary>v4+: 0 READ_UNCOMMITTED, 1 READ_COMMITTED; 0 before.</summary>
    public sbyte IsolationLevel { get; set; }

    /// <summary>v7+ (KIP-227 fetch sessions); 0 for "no session".</summary>
    public int SessionId { get; set; }

    /// <summary>v7+; -1 for "no session".</summary>
    public int SessionEpoch { get; set; } = -1;

    public List<Topic> Topics { get; set; } = [];

    /// <summary>v7+.</summary>
    public List<ForgottenTopic> ForgottenTopics { get; set; } = [];

    /// <summary>v11+.</summary>
    public string RackId { get; set; } = "";

    public static FetchRequest Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var request = new FetchRequest
        {
            ReplicaId = reader.ReadInt32(),
            MaxWaitMs = reader.ReadInt32(),
            MinBytes = reader.ReadInt32(),
        };
        if (version >= 3)
        {
            request.MaxBytes = reader.ReadInt32();
        }

        if (version >= 4)
        {
            request.IsolationLevel = reader.ReadInt8();
        }

        if (version >= 7)
        {
            request.SessionId = reader.ReadInt32();
            request.SessionEpoch = reader.ReadInt32();
        }

        request.Topics = Wire.ReadList<Topic>(ref reader, version, flexible);
        if (version >= 7)
        {
            request.ForgottenTopics = Wire.ReadList<ForgottenTopic>(ref reader, version, flexible);
        }

        if (version >= 11)
        {
            request.RackId = reader.ReadString(flexible);
        }

        Wire.EndStruct(ref reader, flexible);
        return request;
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        bool flexible = Wire.CheckWrite(ApiKey, version);
        writer.WriteInt32(ReplicaId);
        writer.WriteInt32(MaxWaitMs);
        writer.WriteInt32(MinBytes);
        if (version >= 3)
        {
            writer.WriteInt32(MaxBytes);
        }

        if (version >= 4)
        {
            writer.WriteInt8(IsolationLevel);
        }

        if (version >= 7)
        {
            writer.WriteInt32(SessionId);
            writer.WriteInt32(SessionEpoch);
        }

        Wire.WriteList(ref writer, Topics, version, flexible);
        if (version >= 7)
        {
            Wire.WriteList(ref writer, ForgottenTopics, version, flexible);
        }

        if (version >= 11)
        {
            writer.WriteString(RackId, flexible);
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

        /// <summary>v9+.</summary>
        public int CurrentLeaderEpoch { get; set; } = -1;

        public long FetchOffset { get; set; }

        /// <summary>v12+.</summary>
        public int LastFetchedEpoch { get; set; } = -1;

        /// <summary>v5+ (followers only).</summary>
        public long LogStartOffset { get; set; } = -1;

        public int PartitionMaxBytes { get; set; }

        static Partition IWireReadable<Partition>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var partition = new Partition { PartitionIndex = reader.ReadInt32() };
            if (version >= 9)
            {
                partition.CurrentLeaderEpoch = reader.ReadInt32();
            }

            partition.FetchOffset = reader.ReadInt64();
            if (version >= 12)
            {
                partition.LastFetchedEpoch = reader.ReadInt32();
            }

            if (version >= 5)
            {
                partition.LogStartOffset = reader.ReadInt64();
            }

            partition.PartitionMaxBytes = reader.ReadInt32();
            Wire.EndStruct(ref reader, flexible);
            return partition;
        }

        void IWireElement<Partition>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteInt32(PartitionIndex);
            if (version >= 9)
            {
                writer.WriteInt32(CurrentLeaderEpoch);
            }

            writer.WriteInt64(FetchOffset);
            if (version >= 12)
            {
                writer.WriteInt32(LastFetchedEpoch);
            }

            if (version >= 5)
            {
                writer.WriteInt64(LogStartOffset);
            }

            writer.WriteInt32(PartitionMaxBytes);
            Wire.EndStruct(ref writer, flexible);
        }
    }

    /// <summary>Partitions to drop from the fetch session (v7+).</summary>
    public sealed class ForgottenTopic : IWireElement<ForgottenTopic>
    {
        public string Name { get; set; } = "";

        public List<int> Partitions { get; set; } = [];

        static ForgottenTopic IWireReadable<ForgottenTopic>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var topic = new ForgottenTopic
            {
                Name = reader.ReadString(flexible),
                Partitions = Wire.ReadInt32List(ref reader, flexible),
            };
            Wire.EndStruct(ref reader, flexible);
            return topic;
        }

        void IWireElement<ForgottenTopic>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteString(Name, flexible);
            Wire.WriteInt32List(ref writer, Partitions, flexible);
            Wire.EndStruct(ref writer, flexible);
        }
    }
}
