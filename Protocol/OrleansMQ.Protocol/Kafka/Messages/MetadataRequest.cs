namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// Metadata request (key 3), v0–v9.
/// <code>
/// topics ARRAY of [name STRING (TAGGED_FIELDS v9)]   v0: not nullable, empty = all topics; v1+: null = all, empty = none
/// allow_auto_topic_creation BOOLEAN                    v4+
/// include_cluster_authorized_operations BOOLEAN        v8+
/// include_topic_authorized_operations BOOLEAN          v8+
/// TAGGED_FIELDS                                        v9+ (compact strings and arrays)
/// </code>
/// </summary>
public sealed class MetadataRequest : IKafkaMessage<MetadataRequest>
{
    public static ApiKey ApiKey => ApiKey.Metadata;

    /// <summary>
    /// Topics to describe; null means all topics in every version (a v0 empty array is read as
    /// null, and null is written to v0 as an empty array).
    /// </summary>
    public List<string>? Topics { get; set; }

    /// <summary>v4+; before v4 the broker's own auto-create setting applies (read as true).</summary>
    public bool AllowAutoTopicCreation { get; set; } = true;

    /// <summary>v8+.</summary>
    public bool IncludeClusterAuthorizedOperations { get; set; }

    /// <summary>v8+.</summary>
    public bool IncludeTopicAuthorizedOperations { get; set; }

    public static MetadataRequest Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var request = new MetadataRequest();
        int count = reader.ReadArrayLength(flexible, minElementSize: 2);
        if (count < 0 && version == 0)
        {
            throw new KafkaProtocolException("Metadata v0 topics array is null.");
        }

        if (count > 0 || (count == 0 && version > 0))
        {
            var topics = new List<string>(count);
            for (int i = 0; i < count; i++)
            {
                topics.Add(reader.ReadString(flexible));
                Wire.EndStruct(ref reader, flexible);
            }

            request.Topics = topics;
        }

        if (version >= 4)
        {
            request.AllowAutoTopicCreation = reader.ReadBoolean();
        }

        if (version >= 8)
        {
            request.IncludeClusterAuthorizedOperations = reader.ReadBoolean();
            request.IncludeTopicAuthorizedOperations = reader.ReadBoolean();
        }

        Wire.EndStruct(ref reader, flexible);
        return request;
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        bool flexible = Wire.CheckWrite(ApiKey, version);
        if (Topics is null)
        {
            writer.WriteArrayLength(version == 0 ? 0 : -1, flexible);
        }
        else
        {
            if (version == 0 && Topics.Count == 0)
            {
                throw new ArgumentException("Metadata v0 cannot ask for no topics: its empty array means all topics.", nameof(version));
            }

            writer.WriteArrayLength(Topics.Count, flexible);
            foreach (string topic in Topics)
            {
                writer.WriteString(topic, flexible);
                Wire.EndStruct(ref writer, flexible);
            }
        }

        if (version >= 4)
        {
            writer.WriteBoolean(AllowAutoTopicCreation);
        }

        if (version >= 8)
        {
            writer.WriteBoolean(IncludeClusterAuthorizedOperations);
            writer.WriteBoolean(IncludeTopicAuthorizedOperations);
        }

        Wire.EndStruct(ref writer, flexible);
    }
}
