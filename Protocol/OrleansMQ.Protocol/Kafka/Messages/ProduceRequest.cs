namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// Produce request (key 0), v0–v9.
/// <code>
/// transactional_id NULLABLE_STRING (v3+) | acks INT16 | timeout_ms INT32
/// topic_data [name STRING, partition_data [index INT32, records RECORDS (NULLABLE_BYTES)]]
/// (v9: compact strings/arrays, records COMPACT_RECORDS, TAGGED_FIELDS after every struct)
/// </code>
/// <see cref="Partition.Records"/> is a slice of the request frame, not a copy: it is valid
/// only while the frame buffer is, and is appended to storage as is. v0–v2 have the same layout
/// without transactional_id; their records are legacy message sets (magic 0/1) by definition,
/// but the codec does not look inside them: the broker decides what it accepts.
/// </summary>
public sealed class ProduceRequest : IKafkaMessage<ProduceRequest>
{
    public static ApiKey ApiKey => ApiKey.Produce;

    /// <summary>v3+; null (and not on the wire) before.</summary>
    public string? TransactionalId { get; set; }

    /// <summary>0 (no response), 1 (leader), -1 (all in-sync replicas).</summary>
    public short Acks { get; set; } = -1;

    public int TimeoutMs { get; set; }

    public List<Topic> Topics { get; set; } = [];

    public static ProduceRequest Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var request = new ProduceRequest();
        if (version >= 3)
        {
            request.TransactionalId = reader.ReadNullableString(flexible);
        }

        request.Acks = reader.ReadInt16();
        request.TimeoutMs = reader.ReadInt32();
        request.Topics = Wire.ReadList<Topic>(ref reader, version, flexible);
        Wire.EndStruct(ref reader, flexible);
        return request;
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        bool flexible = Wire.CheckWrite(ApiKey, version);
        if (version >= 3)
        {
            writer.WriteNullableString(TransactionalId, flexible);
        }

        writer.WriteInt16(Acks);
        writer.WriteInt32(TimeoutMs);
        Wire.WriteList(ref writer, Topics, version, flexible);
        Wire.EndStruct(ref writer, flexible);
    }

    /// <summary>A topic and its partitions.</summary>
    public sealed class Topic : TopicPartitions<Topic, Partition>
    {
    }

    public sealed class Partition : IWireElement<Partition>
    {
        public int Index { get; set; }

        /// <summary>The record batches, a slice of the request frame; null if the client sent null.</summary>
        public ReadOnlyMemory<byte>? Records { get; set; }

        static Partition IWireReadable<Partition>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var partition = new Partition
            {
                Index = reader.ReadInt32(),
                Records = reader.ReadNullableBytes(flexible),
            };
            Wire.EndStruct(ref reader, flexible);
            return partition;
        }

        void IWireElement<Partition>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteInt32(Index);
            writer.WriteNullableBytes(Records, flexible);
            Wire.EndStruct(ref writer, flexible);
        }
    }
}
