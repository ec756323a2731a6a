namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// LeaveGroup request (key 13), v0–v5.
/// <code>
/// group_id STRING
/// member_id STRING                                                       v0–v2 only
/// members [member_id STRING, group_instance_id NULLABLE_STRING,
///          reason NULLABLE_STRING (v5+)]                                  v3+
/// (v4: compact strings/arrays, TAGGED_FIELDS after every struct)
/// </code>
/// From v3 one request can remove several members (a batch, by member id or instance id).
/// </summary>
public sealed class LeaveGroupRequest : IKafkaMessage<LeaveGroupRequest>
{
    public static ApiKey ApiKey => ApiKey.LeaveGroup;

    public string GroupId { get; set; } = "";

    /// <summary>v0–v2: the one member leaving.</summary>
    public string MemberId { get; set; } = "";

    /// <summary>v3+: the members leaving.</summary>
    public List<Member> Members { get; set; } = [];

    public static LeaveGroupRequest Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var request = new LeaveGroupRequest { GroupId = reader.ReadString(flexible) };
        if (version <= 2)
        {
            request.MemberId = reader.ReadString(flexible);
        }
        else
        {
            request.Members = Wire.ReadList<Member>(ref reader, version, flexible);
        }

        Wire.EndStruct(ref reader, flexible);
        return request;
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        bool flexible = Wire.CheckWrite(ApiKey, version);
        writer.WriteString(GroupId, flexible);
        if (version <= 2)
        {
            writer.WriteString(MemberId, flexible);
        }
        else
        {
            Wire.WriteList(ref writer, Members, version, flexible);
        }

        Wire.EndStruct(ref writer, flexible);
    }

    /// <summary>A leaving member (v3+).</summary>
    public sealed class Member : IWireElement<Member>
    {
        public string MemberId { get; set; } = "";

        public string? GroupInstanceId { get; set; }

        /// <summary>v5+: why the member leaves, for the broker's log.</summary>
        public string? Reason { get; set; }

        static Member IWireReadable<Member>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var member = new Member
            {
                MemberId = reader.ReadString(flexible),
                GroupInstanceId = reader.ReadNullableString(flexible),
            };
            if (version >= 5)
            {
                member.Reason = reader.ReadNullableString(flexible);
            }

            Wire.EndStruct(ref reader, flexible);
            return member;
        }

        void IWireElement<Member>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteString(MemberId, flexible);
            writer.WriteNullableString(GroupInstanceId, flexible);
            if (version >= 5)
            {
                writer.WriteNullableString(Reason, flexible);
            }

            Wire.EndStruct(ref writer, flexible);
        }
    }
}
