namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// DescribeGroups request (key 15), v0–v5.
/// <code>
/// groups [STRING] | include_authorized_operations BOOLEAN (v3+)
/// (v5: compact strings/arrays, TAGGED_FIELDS)
/// </code>
/// </summary>
public sealed class DescribeGroupsRequest : IKafkaMessage<DescribeGroupsRequest>
{
    public static ApiKey ApiKey => ApiKey.DescribeGroups;

    public List<string> Groups { get; set; } = [];

    /// <summary>v3+.</summary>
    public bool IncludeAuthorizedOperations { get; set; }

    public static DescribeGroupsRequest Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var request = new DescribeGroupsRequest { Groups = Wire.ReadStringList(ref reader, flexible) };
        if (version >= 3)
        {
            request.IncludeAuthorizedOperations = reader.ReadBoolean();
        }

        Wire.EndStruct(ref reader, flexible);
        return request;
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        bool flexible = Wire.CheckWrite(ApiKey, version);
        Wire.WriteStringList(ref writer, Groups, flexible);
        if (version >= 3)
        {
            writer.WriteBoolean(IncludeAuthorizedOperations);
        }

        Wire.EndStruct(ref writer, flexible);
    }
}
