namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// DescribeConfigs request (key 32), v0–v4.
/// <code>
/// resources [resource_type INT8, resource_name STRING, configuration_keys NULLABLE [STRING]]
/// include_synonyms BOOLEAN (v1+) | include_documentation BOOLEAN (v3+)
/// (v4: compact strings/arrays, TAGGED_FIELDS after every struct)
/// </code>
/// </summary>
public sealed class DescribeConfigsRequest : IKafkaMessage<DescribeConfigsRequest>
{
    public static ApiKey ApiKey => ApiKey.DescribeConfigs;

    public List<Resource> Resources { get; set; } = [];

    /// <summary>v1+.</summary>
    public bool IncludeSynonyms { get; set; }

    /// <summary>v3+.</summary>
    public bool IncludeDocumentation { get; set; }

    public static DescribeConfigsRequest Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var request = new DescribeConfigsRequest { Resources = Wire.ReadList<Resource>(ref reader, version, flexible) };
        if (version >= 1)
        {
            request.IncludeSynonyms = reader.ReadBoolean();
        }

        if (version >= 3)
        {
            request.IncludeDocumentation = reader.ReadBoolean();
        }

        Wire.EndStruct(ref reader, flexible);
        return request;
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        bool flexible = Wire.CheckWrite(ApiKey, version);
        Wire.WriteList(ref writer, Resources, version, flexible);
        if (version >= 1)
        {
            writer.WriteBoolean(IncludeSynonyms);
        }

        if (version >= 3)
        {
            writer.WriteBoolean(IncludeDocumentation);
        }

        Wire.EndStruct(ref writer, flexible);
    }

    public sealed class Resource : IWireElement<Resource>
    {
        public ConfigResourceType ResourceType { get; set; }

        public string ResourceName { get; set; } = "";

        /// <summary>Null asks for every config.</summary>
        public List<string>? ConfigurationKeys { get; set; }

        static Resource IWireReadable<Resource>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var resource = new Resource
            {
                ResourceType = (ConfigResourceType)reader.ReadInt8(),
                ResourceName = reader.ReadString(flexible),
                ConfigurationKeys = Wire.ReadNullableStringList(ref reader, flexible),
            };
            Wire.EndStruct(ref reader, flexible);
            return resource;
        }

        void IWireElement<Resource>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteInt8((sbyte)ResourceType);
            writer.WriteString(ResourceName, flexible);
            Wire.WriteStringList(ref writer, ConfigurationKeys, flexible);
            Wire.EndStruct(ref writer, flexible);
        }
    }
}
