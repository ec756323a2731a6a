namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// CreatePartitions request (key 37), v0–v2.
/// <code>
/// topics [name STRING, count INT32, assignments NULLABLE [broker_ids [INT32]]]
/// timeout_ms INT32 | validate_only BOOLEAN
/// (v2: compact strings/arrays, TAGGED_FIELDS after every struct)
/// </code>
/// </summary>
public sealed class CreatePartitionsRequest : IKafkaMessage<CreatePartitionsRequest>
{
    public static ApiKey ApiKey => ApiKey.CreatePartitions;

    public List<Topic> Topics { get; set; } = [];

    public int TimeoutMs { get; set; } = 60_000;

    public bool ValidateOnly { get; set; }

    public static CreatePartitionsRequest Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var request = new CreatePartitionsRequest
        {
            Topics = Wire.ReadList<Topic>(ref reader, version, flexible),
            TimeoutMs = reader.ReadInt32(),
            ValidateOnly = reader.ReadBoolean(),
        };
        Wire.EndStruct(ref reader, flexible);
        return request;
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        bool flexible = Wire.CheckWrite(ApiKey, version);
        Wire.WriteList(ref writer, Topics, version, flexible);
        writer.WriteInt32(TimeoutMs);
        writer.WriteBoolean(ValidateOnly);
        Wire.EndStruct(ref writer, flexible);
    }

    public sealed class Topic : IWireElement<Topic>
    {
        public string Name { get; set; } = "";

        /// <summary>The partition count the topic should have afterwards.</summary>
        public int Count { get; set; }

        /// <summary>Replicas of each new partition; null lets the broker place them.</summary>
        public List<Assignment>? Assignments { get; set; }

        static Topic IWireReadable<Topic>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var topic = new Topic
            {
                Name = reader.ReadString(flexible),
                Count = reader.ReadInt32(),
                Assignments = Wire.ReadNullableList<Assignment>(ref reader, version, flexible),
            };
            Wire.EndStruct(ref reader, flexible);
            return topic;
        }

        void IWireElement<Topic>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteString(Name, flexible);
            writer.WriteInt32(Count);
            Wire.WriteList(ref writer, Assignments, version, flexible);
            Wire.EndStruct(ref writer, flexible);
        }
    }

    public sealed class Assignment : IWireElement<Assignment>
    {
        public List<int> BrokerIds { get; set; } = [];

        static Assignment IWireReadable<Assignment>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var assignment = new Assignment { BrokerIds = Wire.ReadInt32List(ref reader, flexible) };
            Wire.EndStruct(ref reader, flexible);
            return assignment;
        }

        void IWireElement<Assignment>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            Wire.WriteInt32List(ref writer, BrokerIds, flexible);
            Wire.EndStruct(ref writer, flexible);
        }
    }
}
