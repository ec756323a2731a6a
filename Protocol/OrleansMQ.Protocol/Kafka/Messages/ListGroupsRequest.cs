namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// ListGroups request (key 16), v0–v4.
/// <code>
/// states_filter [STRING] (v4+)
/// (v0–v2: an empty body; v3: TAGGED_FIELDS only; v4: compact array, TAGGED_FIELDS)
/// </code>
/// </summary>
public sealed class ListGroupsRequest : IKafkaMessage<ListGroupsRequest>
{
    public static ApiKey ApiKey => ApiKey.ListGroups;

    /// <summary>v4+: only groups in these states; empty lists every group.</summary>
    public List<string> StatesFilter { get; set; } = [];

    public static ListGroupsRequest Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var request = new ListGroupsRequest();
        if (version >= 4)
        {
            request.StatesFilter = Wire.ReadStringList(ref reader, flexible);
        }

        Wire.EndStruct(ref reader, flexible);
        return request;
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        bool flexible = Wire.CheckWrite(ApiKey, version);
        if (version >= 4)
        {
            Wire.WriteStringList(ref writer, StatesFilter, flexible);
        }

        Wire.EndStruct(ref writer, flexible);
    }
}
