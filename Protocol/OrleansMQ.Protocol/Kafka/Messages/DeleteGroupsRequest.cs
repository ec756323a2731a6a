namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// DeleteGroups request (key 42), v0–v2.
/// <code>
/// groups_names [STRING]
/// (v2: compact strings/arrays, TAGGED_FIELDS)
/// </code>
/// </summary>
public sealed class DeleteGroupsRequest : IKafkaMessage<DeleteGroupsRequest>
{
    public static ApiKey ApiKey => ApiKey.DeleteGroups;

    /// <summary>The groups to delete (Kafka's field name is "groups_names").</summary>
    public List<string> GroupsNames { get; set; } = [];

    public static DeleteGroupsRequest Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var request = new DeleteGroupsRequest { GroupsNames = Wire.ReadStringList(ref reader, flexible) };
        Wire.EndStruct(ref reader, flexible);
        return request;
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        bool flexible = Wire.CheckWrite(ApiKey, version);
        Wire.WriteStringList(ref writer, GroupsNames, flexible);
        Wire.EndStruct(ref writer, flexible);
    }
}
