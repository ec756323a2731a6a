namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// CreateTopics request (key 19), v0–v5.
/// <code>
/// topics [name STRING, num_partitions INT32, replication_factor INT16,
///         assignments [partition_index INT32, broker_ids [INT32]],
///         configs [name STRING, value NULLABLE_STRING]]
/// timeout_ms INT32 | validate_only BOOLEAN (v1+)
/// (v5: compact strings/arrays, TAGGED_FIELDS after every struct)
/// </code>
/// num_partitions / replication_factor of -1 mean "broker default" (v4+) or "see assignments".
/// </summary>
public sealed class CreateTopicsRequest : IKafkaMessage<CreateTopicsRequest>
{
    public static ApiKey ApiKey => ApiKey.CreateTopics;

    public List<Topic> Topics { get; set; } = [];

    public int TimeoutMs { get; set; } = 60_000;

    /// <summary>v1+.</summary>
    public bool ValidateOnly { get; set; }

    public static CreateTopicsRequest Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var request = new CreateTopicsRequest
        {
            Topics = Wire.ReadList<Topic>(ref reader, version, flexible),
            TimeoutMs = reader.ReadInt32(),
        };
        if (version >= 1)
        {
            request.ValidateOnly = reader.ReadBoolean();
        }

        Wire.EndStruct(ref reader, flexible);
        return request;
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        bool flexible = Wire.CheckWrite(ApiKey, version);
        Wire.WriteList(ref writer, Topics, version, flexible);
        writer.WriteInt32(TimeoutMs);
        if (version >= 1)
        {
            writer.WriteBoolean(ValidateOnly);
        }

        Wire.EndStruct(ref writer, flexible);
    }

    public sealed class Topic : IWireElement<Topic>
    {
        public string Name { get; set; } = "";

        public int NumPartitions { get; set; } = -1;

        public short ReplicationFactor { get; set; } = -1;

        public List<Assignment> Assignments { get; set; } = [];

        public List<Config> Configs { get; set; } = [];

        static Topic IWireReadable<Topic>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var topic = new Topic
            {
                Name = reader.ReadString(flexible),
                NumPartitions = reader.ReadInt32(),
                ReplicationFactor = reader.ReadInt16(),
                Assignments = Wire.ReadList<Assignment>(ref reader, version, flexible),
                Configs = Wire.ReadList<Config>(ref reader, version, flexible),
            };
            Wire.EndStruct(ref reader, flexible);
            return topic;
        }

        void IWireElement<Topic>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteString(Name, flexible);
            writer.WriteInt32(NumPartitions);
            writer.WriteInt16(ReplicationFactor);
            Wire.WriteList(ref writer, Assignments, version, flexible);
            Wire.WriteList(ref writer, Configs, version, flexible);
            Wire.EndStruct(ref writer, flexible);
        }
    }

    /// <summary>A manual replica assignment for one partition.</summary>
    public sealed class Assignment : IWireElement<Assignment>
    {
        public int PartitionIndex { get; set; }

        public List<int> BrokerIds { get; set; } = [];

        static Assignment IWireReadable<Assignment>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var assignment = new Assignment
            {
                PartitionIndex = reader.ReadInt32(),
                BrokerIds = Wire.ReadInt32List(ref reader, flexible),
            };
            Wire.EndStruct(ref reader, flexible);
            return assignment;
        }

        void IWireElement<Assignment>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteInt32(PartitionIndex);
            Wire.WriteInt32List(ref writer, BrokerIds, flexible);
            Wire.EndStruct(ref writer, flexible);
        }
    }

    /// <summary>A topic config to set at creation.</summary>
    public sealed class Config : IWireElement<Config>
    {
        public string Name { get; set; } = "";

        public string? Value { get; set; }

        static Config IWireReadable<Config>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var config = new Config
            {
                Name = reader.ReadString(flexible),
                Value = reader.ReadNullableString(flexible),
            };
            Wire.EndStruct(ref reader, flexible);
            return config;
        }

        void IWireElement<Config>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteString(Name, flexible);
            writer.WriteNullableString(Value, flexible);
            Wire.EndStruct(ref writer, flexible);
        }
    }
}
