namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// OffsetFetch request (key 9), v0–v7 (the single-group form; v8's group list is not spoken).
/// <code>
/// group_id STRING
/// topics [name STRING, partition_indexes [INT32]]   nullable from v2: null = every topic with a committed offset
/// require_stable BOOLEAN (v7+)
/// (v6: compact strings/arrays, TAGGED_FIELDS after every struct)
/// </code>
/// </summary>
public sealed class OffsetFetchRequest : IKafkaMessage<OffsetFetchRequest>
{
    public static ApiKey ApiKey => ApiKey.OffsetFetch;

    public string GroupId { get; set; } = "";

    /// <summary>The partitions to look up; null (v2+ only) asks for all of the group's offsets.</summary>
    public List<Topic>? Topics { get; set; } = [];

    /// <summary>v7+: answer UNSTABLE_OFFSET_COMMIT rather than an offset a pending transaction may change.</summary>
    public bool RequireStable { get; set; }

    public static OffsetFetchRequest Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var request = new OffsetFetchRequest
        {
            GroupId = reader.ReadString(flexible),
            Topics = version >= 2
                ? Wire.ReadNullableList<Topic>(ref reader, version, flexible)
                : Wire.ReadList<Topic>(ref reader, version, flexible),
        };
        if (version >= 7)
        {
            request.RequireStable = reader.ReadBoolean();
        }

        Wire.EndStruct(ref reader, flexible);
        return request;
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        bool flexible = Wire.CheckWrite(ApiKey, version);
        if (Topics is null && version < 2)
        {
            throw new ArgumentException("OffsetFetch v0-v1 cannot ask for all topics: the topics array is not nullable there.", nameof(version));
        }

        writer.WriteString(GroupId, flexible);
        Wire.WriteList(ref writer, Topics, version, flexible);
        if (version >= 7)
        {
            writer.WriteBoolean(RequireStable);
        }

        Wire.EndStruct(ref writer, flexible);
    }

    /// <summary>A topic and the partitions to look up in it.</summary>
    public sealed class Topic : IWireElement<Topic>
    {
        public string Name { get; set; } = "";

        public List<int> PartitionIndexes { get; set; } = [];

        static Topic IWireReadable<Topic>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var topic = new Topic
            {
                Name = reader.ReadString(flexible),
                PartitionIndexes = Wire.ReadInt32List(ref reader, flexible),
            };
            Wire.EndStruct(ref reader, flexible);
            return topic;
        }

        void IWireElement<Topic>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteString(Name, flexible);
            Wire.WriteInt32List(ref writer, PartitionIndexes, flexible);
            Wire.EndStruct(ref writer, flexible);
        }
    }
}
