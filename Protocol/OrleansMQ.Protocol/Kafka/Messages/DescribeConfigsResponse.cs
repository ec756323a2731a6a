namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// DescribeConfigs response (key 32), v0–v4.
/// <code>
/// throttle_time_ms INT32
/// results [error_code INT16, error_message NULLABLE_STRING, resource_type INT8, resource_name STRING,
///          configs [name STRING, value NULLABLE_STRING, read_only BOOLEAN,
///                   is_default BOOLEAN (v0 only), config_source INT8 (v1+), is_sensitive BOOLEAN,
///                   synonyms [name STRING, value NULLABLE_STRING, source INT8] (v1+),
///                   config_type INT8 (v3+), documentation NULLABLE_STRING (v3+)]]
/// (v4: compact strings/arrays, TAGGED_FIELDS after every struct)
/// </code>
/// </summary>
public sealed class DescribeConfigsResponse : IKafkaMessage<DescribeConfigsResponse>
{
    public static ApiKey ApiKey => ApiKey.DescribeConfigs;

    public int ThrottleTimeMs { get; set; }

    public List<Result> Results { get; set; } = [];

    public static DescribeConfigsResponse Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var response = new DescribeConfigsResponse
        {
            ThrottleTimeMs = reader.ReadInt32(),
            Results = Wire.ReadList<Result>(ref reader, version, flexible),
        };
        Wire.EndStruct(ref reader, flexible);
        return response;
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        bool flexible = Wire.CheckWrite(ApiKey, version);
        writer.WriteInt32(ThrottleTimeMs);
        Wire.WriteList(ref writer, Results, version, flexible);
        Wire.EndStruct(ref writer, flexible);
    }

    public sealed class Result : IWireElement<Result>
    {
        public ErrorCode ErrorCode { get; set; }

        public string? ErrorMessage { get; set; }

        public ConfigResourceType ResourceType { get; set; }

        public string ResourceName { get; set; } = "";

        public List<Config> Configs { get; set; } = [];

        static Result IWireReadable<Result>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var result = new Result
            {
                ErrorCode = (ErrorCode)reader.ReadInt16(),
                ErrorMessage = reader.ReadNullableString(flexible),
                ResourceType = (ConfigResourceType)reader.ReadInt8(),
                ResourceName = reader.ReadString(flexible),
                Configs = Wire.ReadList<Config>(ref reader, version, flexible),
            };
            Wire.EndStruct(ref reader, flexible);
            return result;
        }

        void IWireElement<Result>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteInt16((short)ErrorCode);
            writer.WriteNullableString(ErrorMessage, flexible);
            writer.WriteInt8((sbyte)ResourceType);
            writer.WriteString(ResourceName, flexible);
            Wire.WriteList(ref writer, Configs, version, flexible);
            Wire.EndStruct(ref writer, flexible);
        }
    }

    public sealed class Config : IWireElement<Config>
    {
        public string Name { get; set; } = "";

        public string? Value { get; set; }

        public bool ReadOnly { get; set; }

        /// <summary>v0 only (v1+ derive it from <see cref="ConfigSource"/>).</summary>
        public bool IsDefault { get; set; }

        /// <summary>v1+.</summary>
        public ConfigSource ConfigSource { get; set; }

        public bool IsSensitive { get; set; }

        /// <summary>v1+.</summary>
        public List<Synonym> Synonyms { get; set; } = [];

        /// <summary>v3+.</summary>
        public ConfigType ConfigType { get; set; }

        /// <summary>v3+.</summary>
        public string? Documentation { get; set; }

        static Config IWireReadable<Config>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var config = new Config
            {
                Name = reader.ReadString(flexible),
                Value = reader.ReadNullableString(flexible),
                ReadOnly = reader.ReadBoolean(),
            };
            if (version == 0)
            {
                config.IsDefault = reader.ReadBoolean();
            }
            else
            {
                config.ConfigSource = (ConfigSource)reader.ReadInt8();
            }

            config.IsSensitive = reader.ReadBoolean();
            if (version >= 1)
            {
                config.Synonyms = Wire.ReadList<Synonym>(ref reader, version, flexible);
            }

            if (version >= 3)
            {
                config.ConfigType = (ConfigType)reader.ReadInt8();
                config.Documentation = reader.ReadNullableString(flexible);
            }

            Wire.EndStruct(ref reader, flexible);
            return config;
        }

        void IWireElement<Config>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteString(Name, flexible);
            writer.WriteNullableString(Value, flexible);
            writer.WriteBoolean(ReadOnly);
            if (version == 0)
            {
                writer.WriteBoolean(IsDefault);
            }
            else
            {
                writer.WriteInt8((sbyte)ConfigSource);
            }

            writer.WriteBoolean(IsSensitive);
            if (version >= 1)
            {
                Wire.WriteList(ref writer, Synonyms, version, flexible);
            }

            if (version >= 3)
            {
                writer.WriteInt8((sbyte)ConfigType);
                writer.WriteNullableString(Documentation, flexible);
            }

            Wire.EndStruct(ref writer, flexible);
        }
    }

    /// <summary>Another source of the same config, in order of precedence (v1+).</summary>
    public sealed class Synonym : IWireElement<Synonym>
    {
        public string Name { get; set; } = "";

        public string? Value { get; set; }

        public ConfigSource Source { get; set; }

        static Synonym IWireReadable<Synonym>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var synonym = new Synonym
            {
                Name = reader.ReadString(flexible),
                Value = reader.ReadNullableString(flexible),
                Source = (ConfigSource)reader.ReadInt8(),
            };
            Wire.EndStruct(ref reader, flexible);
            return synonym;
        }

        void IWireElement<Synonym>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteString(Name, flexible);
            writer.WriteNullableString(Value, flexible);
            writer.WriteInt8((sbyte)Source);
            Wire.EndStruct(ref writer, flexible);
        }
    }
}
