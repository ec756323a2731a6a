namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// OffsetDelete request (key 47), v0 (never flexible).
/// <code>
/// group_id STRING
/// topics [name STRING, partitions [partition_index INT32]]
/// </code>
/// Each partition is a one-field struct on the wire; the model keeps just the indexes.
/// </summary>
public sealed class OffsetDeleteRequest : IKafkaMessage<OffsetDeleteRequest>
{
    public static ApiKey ApiKey => ApiKey.OffsetDelete;

    public string GroupId { get; set; } = "";

    public List<Topic> Topics { get; set; } = [];

    public static OffsetDeleteRequest Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var request = new OffsetDeleteRequest
        {
            GroupId = reader.ReadString(flexible),
            Topics = Wire.ReadList<Topic>(ref reader, version, flexible),
        };
        Wire.EndStruct(ref reader, flexible);
        return request;
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        bool flexible = Wire.CheckWrite(ApiKey, version);
        writer.WriteString(GroupId, flexible);
        Wire.WriteList(ref writer, Topics, version, flexible);
        Wire.EndStruct(ref writer, flexible);
    }

    /// <summary>A topic and the partitions whose committed offsets to delete.</summary>
    public sealed class Topic : IWireElement<Topic>
    {
        public string Name { get; set; } = "";

        /// <summary>Partition indexes (each a <c>[partition_index INT32]</c> struct on the wire).</summary>
        public List<int> Partitions { get; set; } = [];

        static Topic IWireReadable<Topic>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var topic = new Topic { Name = reader.ReadString(flexible) };
            int count = reader.ReadNonNullArrayLength(flexible, sizeof(int));
            var partitions = new List<int>(count);
            for (int i = 0; i < count; i++)
            {
                partitions.Add(reader.ReadInt32());
                Wire.EndStruct(ref reader, flexible);
            }

            topic.Partitions = partitions;
            Wire.EndStruct(ref reader, flexible);
            return topic;
        }

        void IWireElement<Topic>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteString(Name, flexible);
            writer.WriteArrayLength(Partitions.Count, flexible);
            foreach (int partition in Partitions)
            {
                writer.WriteInt32(partition);
                Wire.EndStruct(ref writer, flexible);
            }

            Wire.EndStruct(ref writer, flexible);
        }
    }
}
