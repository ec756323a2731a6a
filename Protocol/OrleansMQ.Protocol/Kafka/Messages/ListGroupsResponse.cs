namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// ListGroups response (key 16), v0–v4.
/// <code>
/// throttle_time_ms INT32 (v1+) | error_code INT16
/// groups [group_id STRING, protocol_type STRING, group_state STRING (v4+)]
/// (v3: compact strings/arrays, TAGGED_FIELDS after every struct)
/// </code>
/// </summary>
public sealed class ListGroupsResponse : IKafkaMessage<ListGroupsResponse>
{
    public static ApiKey ApiKey => ApiKey.ListGroups;

    /// <summary>v1+.</summary>
    public int ThrottleTimeMs { get; set; }

    public ErrorCode ErrorCode { get; set; }

    public List<Group> Groups { get; set; } = [];

    public static ListGroupsResponse Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var response = new ListGroupsResponse();
        if (version >= 1)
        {
            response.ThrottleTimeMs = reader.ReadInt32();
        }

        response.ErrorCode = (ErrorCode)reader.ReadInt16();
        response.Groups = Wire.ReadList<Group>(ref reader, version, flexible);
        Wire.EndStruct(ref reader, flexible);
        return response;
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        bool flexible = Wire.CheckWrite(ApiKey, version);
        if (version >= 1)
        {
            writer.WriteInt32(ThrottleTimeMs);
        }

        writer.WriteInt16((short)ErrorCode);
        Wire.WriteList(ref writer, Groups, version, flexible);
        Wire.EndStruct(ref writer, flexible);
    }

    /// <summary>One listed group.</summary>
    public sealed class Group : IWireElement<Group>
    {
        public string GroupId { get; set; } = "";

        /// <summary>"consumer" for consumer groups; "" for a group that only stores offsets.</summary>
        public string ProtocolType { get; set; } = "";

        /// <summary>v4+.</summary>
        public string GroupState { get; set; } = "";

        static Group IWireReadable<Group>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var group = new Group
            {
                GroupId = reader.ReadString(flexible),
                ProtocolType = reader.ReadString(flexible),
            };
            if (version >= 4)
            {
                group.GroupState = reader.ReadString(flexible);
            }

            Wire.EndStruct(ref reader, flexible);
            return group;
        }

        void IWireElement<Group>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteString(GroupId, flexible);
            writer.WriteString(ProtocolType, flexible);
            if (version >= 4)
            {
                writer.WriteString(GroupState, flexible);
            }

            Wire.EndStruct(ref writer, flexible);
        }
    }
}
