namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// LeaveGroup response (key 13), v0–v5.
/// <code>
/// throttle_time_ms INT32 (v1+) | error_code INT16
/// members [member_id STRING, group_instance_id NULLABLE_STRING, error_code INT16]   v3+
/// (v4: compact strings/arrays, TAGGED_FIELDS after every struct)
/// </code>
/// </summary>
public sealed class LeaveGroupResponse : IKafkaMessage<LeaveGroupResponse>
{
    public static ApiKey ApiKey => ApiKey.LeaveGroup;

    /// <summary>v1+.</summary>
    public int ThrottleTimeMs { get; set; }

    public ErrorCode ErrorCode { get; set; }

    /// <summary>v3+: one result per member in the request.</summary>
    public List<Member> Members { get; set; } = [];

    public static LeaveGroupResponse Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var response = new LeaveGroupResponse();
        if (version >= 1)
        {
            response.ThrottleTimeMs = reader.ReadInt32();
        }

        response.ErrorCode = (ErrorCode)reader.ReadInt16();
        if (version >= 3)
        {
            response.Members = Wire.ReadList<Member>(ref reader, version, flexible);
        }

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
        if (version >= 3)
        {
            Wire.WriteList(ref writer, Members, version, flexible);
        }

        Wire.EndStruct(ref writer, flexible);
    }

    /// <summary>The outcome for one leaving member (v3+).</summary>
    public sealed class Member : IWireElement<Member>
    {
        public string MemberId { get; set; } = "";

        public string? GroupInstanceId { get; set; }

        public ErrorCode ErrorCode { get; set; }

        static Member IWireReadable<Member>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var member = new Member
            {
                MemberId = reader.ReadString(flexible),
                GroupInstanceId = reader.ReadNullableString(flexible),
                ErrorCode = (ErrorCode)reader.ReadInt16(),
            };
            Wire.EndStruct(ref reader, flexible);
            return member;
        }

        void IWireElement<Member>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteString(MemberId, flexible);
            writer.WriteNullableString(GroupInstanceId, flexible);
            writer.WriteInt16((short)ErrorCode);
            Wire.EndStruct(ref writer, flexible);
        }
    }
}
