namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// Produce response (key 0), v0–v9. Not sent at all for acks = 0.
/// <code>
/// responses [name STRING,
///            partition_responses [index INT32, error_code INT16, base_offset INT64,
///                                 log_append_time_ms INT64 (v2+), log_start_offset INT64 (v5+),
///                                 record_errors [batch_index INT32, batch_index_error_message NULLABLE_STRING] (v8+),
///                                 error_message NULLABLE_STRING (v8+)]]
/// throttle_time_ms INT32 (v1+)
/// (v9: compact strings/arrays, TAGGED_FIELDS after every struct)
/// </code>
/// </summary>
public sealed class ProduceResponse : IKafkaMessage<ProduceResponse>
{
    public static ApiKey ApiKey => ApiKey.Produce;

    public List<Topic> Topics { get; set; } = [];

    /// <summary>v1+.</summary>
    public int ThrottleTimeMs { get; set; }

    public static ProduceResponse Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var response = new ProduceResponse { Topics = Wire.ReadList<Topic>(ref reader, version, flexible) };
        if (version >= 1)
        {
            response.ThrottleTimeMs = reader.ReadInt32();
        }

        Wire.EndStruct(ref reader, flexible);
        return response;
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        bool flexible = Wire.CheckWrite(ApiKey, version);
        Wire.WriteList(ref writer, Topics, version, flexible);
        if (version >= 1)
        {
            writer.WriteInt32(ThrottleTimeMs);
        }

        Wire.EndStruct(ref writer, flexible);
    }

    /// <summary>A topic and its partitions.</summary>
    public sealed class Topic : TopicPartitions<Topic, Partition>
    {
    }

    public sealed class Partition : IWireElement<Partition>
    {
        public int Index { get; set; }

        public ErrorCode ErrorCode { get; set; }

        public long BaseOffset { get; set; } = -1;

        /// <summary>v2+; -1 unless the topic uses LogAppendTime.</summary>
        public long LogAppendTimeMs { get; set; } = -1;

        /// <summary>v5+.</summary>
        public long LogStartOffset { get; set; } = -1;

        /// <summary>v8+.</summary>
        public List<RecordError> RecordErrors { get; set; } = [];

        /// <summary>v8+.</summary>
        public string? ErrorMessage { get; set; }

        static Partition IWireReadable<Partition>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var partition = new Partition
            {
                Index = reader.ReadInt32(),
                ErrorCode = (ErrorCode)reader.ReadInt16(),
                BaseOffset = reader.ReadInt64(),
            };
            if (version >= 2)
            {
                partition.LogAppendTimeMs = reader.ReadInt64();
            }

            if (version >= 5)
            {
                partition.LogStartOffset = reader.ReadInt64();
            }

            if (version >= 8)
            {
                partition.RecordErrors = Wire.ReadList<RecordError>(ref reader, version, flexible);
                partition.ErrorMessage = reader.ReadNullableString(flexible);
            }

            Wire.EndStruct(ref reader, flexible);
            return partition;
        }

        void IWireElement<Partition>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteInt32(Index);
            writer.WriteInt16((short)ErrorCode);
            writer.WriteInt64(BaseOffset);
            if (version >= 2)
            {
                writer.WriteInt64(LogAppendTimeMs);
            }

            if (version >= 5)
            {
                writer.WriteInt64(LogStartOffset);
            }

            if (version >= 8)
            {
                Wire.WriteList(ref writer, RecordErrors, version, flexible);
                writer.WriteNullableString(ErrorMessage, flexible);
            }

            Wire.EndStruct(ref writer, flexible);
        }
    }

    /// <summary>A record of the batch that failed validation (v8+).</summary>
    public sealed class RecordError : IWireElement<RecordError>
    {
        public int BatchIndex { get; set; }

        public string? BatchIndexErrorMessage { get; set; }

        static RecordError IWireReadable<RecordError>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var error = new RecordError
            {
                BatchIndex = reader.ReadInt32(),
                BatchIndexErrorMessage = reader.ReadNullableString(flexible),
            };
            Wire.EndStruct(ref reader, flexible);
            return error;
        }

        void IWireElement<RecordError>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteInt32(BatchIndex);
            writer.WriteNullableString(BatchIndexErrorMessage, flexible);
            Wire.EndStruct(ref writer, flexible);
        }
    }
}
