namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// CreateTopics response (key 19), v0–v5.
/// <code>
/// throttle_time_ms INT32 (v2+)
/// topics [name STRING, error_code INT16, error_message NULLABLE_STRING (v1+),
///         num_partitions INT32 (v5+), replication_factor INT16 (v5+),
///         configs NULLABLE [name STRING, value NULLABLE_STRING, read_only BOOLEAN,
///                           config_source INT8, is_sensitive BOOLEAN] (v5+),
///         TAGGED_FIELDS (v5+; tag 0 = topic_config_error_code INT16)]
/// (v5: compact strings/arrays, TAGGED_FIELDS after every struct)
/// </code>
/// </summary>
public sealed class CreateTopicsResponse : IKafkaMessage<CreateTopicsResponse>
{
    private const int TopicConfigErrorCodeTag = 0;

    public static ApiKey ApiKey => ApiKey.CreateTopics;

    /// <summary>v2+.</summary>
    public int ThrottleTimeMs { get; set; }

    public List<Topic> Topics { get; set; } = [];

    public static CreateTopicsResponse Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var response = new CreateTopicsResponse();
        if (version >= 2)
        {
            response.ThrottleTimeMs = reader.ReadInt32();
        }

        response.Topics = Wire.ReadList<Topic>(ref reader, version, flexible);
        Wire.EndStruct(ref reader, flexible);
        return response;
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        bool flexible = Wire.CheckWrite(ApiKey, version);
        if (version >= 2)
        {
            writer.WriteInt32(ThrottleTimeMs);
        }

        Wire.WriteList(ref writer, Topics, version, flexible);
        Wire.EndStruct(ref writer, flexible);
    }

    public sealed class Topic : IWireElement<Topic>
    {
        public string Name { get; set; } = "";

        public ErrorCode ErrorCode { get; set; }

        /// <summary>v1+.</summary>
        public string? ErrorMessage { get; set; }

        /// <summary>v5+, sent as tagged field 0 when not <see cref="ErrorCode.None"/>.</summary>
        public ErrorCode TopicConfigErrorCode { get; set; }

        /// <summary>v5+.</summary>
        public int NumPartitions { get; set; } = -1;

        /// <summary>v5+.</summary>
        public short ReplicationFactor { get; set; } = -1;

        /// <summary>v5+.</summary>
        public List<Config>? Configs { get; set; }

        static Topic IWireReadable<Topic>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var topic = new Topic
            {
                Name = reader.ReadString(flexible),
                ErrorCode = (ErrorCode)reader.ReadInt16(),
            };
            if (version >= 1)
            {
                topic.ErrorMessage = reader.ReadNullableString(flexible);
            }

            if (version >= 5)
            {
                topic.NumPartitions = reader.ReadInt32();
                topic.ReplicationFactor = reader.ReadInt16();
                topic.Configs = Wire.ReadNullableList<Config>(ref reader, version, flexible);
            }

            if (flexible)
            {
                int count = reader.ReadTaggedFieldCount();
                int previous = -1;
                for (int i = 0; i < count; i++)
                {
                    var field = reader.ReadTaggedField(ref previous);
                    if (field.Tag == TopicConfigErrorCodeTag)
                    {
                        var fieldReader = field.CreateReader();
                        topic.TopicConfigErrorCode = (ErrorCode)fieldReader.ReadInt16();
                        fieldReader.EnsureEnd("CreateTopics topic_config_error_code tag");
                    }
                }
            }

            return topic;
        }

        void IWireElement<Topic>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteString(Name, flexible);
            writer.WriteInt16((short)ErrorCode);
            if (version >= 1)
            {
                writer.WriteNullableString(ErrorMessage, flexible);
            }

            if (version >= 5)
            {
                writer.WriteInt32(NumPartitions);
                writer.WriteInt16(ReplicationFactor);
                Wire.WriteList(ref writer, Configs, version, flexible);
            }

            if (flexible)
            {
                if (TopicConfigErrorCode != ErrorCode.None)
                {
                    writer.WriteUnsignedVarInt(1);
                    writer.WriteTaggedFieldHeader(TopicConfigErrorCodeTag, sizeof(short));
                    writer.WriteInt16((short)TopicConfigErrorCode);
                }
                else
                {
                    writer.WriteEmptyTaggedFields();
                }
            }
        }
    }

    /// <summary>A config of the created topic (v5+).</summary>
    public sealed class Config : IWireElement<Config>
    {
        public string Name { get; set; } = "";

        public string? Value { get; set; }

        public bool ReadOnly { get; set; }

        public ConfigSource ConfigSource { get; set; }

        public bool IsSensitive { get; set; }

        static Config IWireReadable<Config>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var config = new Config
            {
                Name = reader.ReadString(flexible),
                Value = reader.ReadNullableString(flexible),
                ReadOnly = reader.ReadBoolean(),
                ConfigSource = (ConfigSource)reader.ReadInt8(),
                IsSensitive = reader.ReadBoolean(),
            };
            Wire.EndStruct(ref reader, flexible);
            return config;
        }

        void IWireElement<Config>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteString(Name, flexible);
            writer.WriteNullableString(Value, flexible);
            writer.WriteBoolean(ReadOnly);
            writer.WriteInt8((sbyte)ConfigSource);
            writer.WriteBoolean(IsSensitive);
            Wire.EndStruct(ref writer, flexible);
        }
    }
}
