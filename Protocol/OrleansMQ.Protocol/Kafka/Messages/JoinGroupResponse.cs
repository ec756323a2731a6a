namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// JoinGroup response (key 11), v0–v7.
/// <code>
/// throttle_time_ms INT32 (v2+) | error_code INT16 | generation_id INT32
/// protocol_type NULLABLE_STRING (v7+)
/// protocol_name STRING (NULLABLE_STRING from v7)
/// leader STRING | member_id STRING
/// members [member_id STRING, group_instance_id NULLABLE_STRING (v5+), metadata BYTES]
/// (v6: compact strings/bytes/arrays, TAGGED_FIELDS after every struct)
/// </code>
/// Only the leader gets the member list; the others get an empty one.
/// </summary>
public sealed class JoinGroupResponse : IKafkaMessage<JoinGroupResponse>
{
    public static ApiKey ApiKey => ApiKey.JoinGroup;

    /// <summary>v2+.</summary>
    public int ThrottleTimeMs { get; set; }

    public ErrorCode ErrorCode { get; set; }

    public int GenerationId { get; set; } = -1;

    /// <summary>v7+.</summary>
    public string? ProtocolType { get; set; }

    /// <summary>The chosen protocol. Nullable from v7; before that null is written as "".</summary>
    public string? ProtocolName { get; set; }

    /// <summary>The member id of the group leader.</summary>
    public string Leader { get; set; } = "";

    /// <summary>The member id of the member that joined.</summary>
    public string MemberId { get; set; } = "";

    public List<Member> Members { get; set; } = [];

    public static JoinGroupResponse Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var response = new JoinGroupResponse();
        if (version >= 2)
        {
            response.ThrottleTimeMs = reader.ReadInt32();
        }

        response.ErrorCode = (ErrorCode)reader.ReadInt16();
        response.GenerationId = reader.ReadInt32();
        if (version >= 7)
        {
            response.ProtocolType = reader.ReadNullableString(flexible);
            response.ProtocolName = reader.ReadNullableString(flexible);
        }
        else
        {
            response.ProtocolName = reader.ReadString(flexible);
        }

        response.Leader = reader.ReadString(flexible);
        response.MemberId = reader.ReadString(flexible);
        response.Members = Wire.ReadList<Member>(ref reader, version, flexible);
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

        writer.WriteInt16((short)ErrorCode);
        writer.WriteInt32(GenerationId);
        if (version >= 7)
        {
            writer.WriteNullableString(ProtocolType, flexible);
            writer.WriteNullableString(ProtocolName, flexible);
        }
        else
        {
            writer.WriteString(ProtocolName ?? "", flexible);
        }

        writer.WriteString(Leader, flexible);
        writer.WriteString(MemberId, flexible);
        Wire.WriteList(ref writer, Members, version, flexible);
        Wire.EndStruct(ref writer, flexible);
    }

    /// <summary>A group member as the leader sees it, with its metadata for the chosen protocol.</summary>
    public sealed class Member : IWireElement<Member>
    {
        public string MemberId { get; set; } = "";

        /// <summary>v5+.</summary>
        public string? GroupInstanceId { get; set; }

        public ReadOnlyMemory<byte> Metadata { get; set; }

        static Member IWireReadable<Member>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var member = new Member { MemberId = reader.ReadString(flexible) };
            if (version >= 5)
            {
                member.GroupInstanceId = reader.ReadNullableString(flexible);
            }

            member.Metadata = reader.ReadBytes(flexible);
            Wire.EndStruct(ref reader, flexible);
            return member;
        }

        void IWireElement<Member>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteString(MemberId, flexible);
            if (version >= 5)
            {
                writer.WriteNullableString(GroupInstanceId, flexible);
            }

            writer.WriteBytes(Metadata.Span, flexible);
            Wire.EndStruct(ref writer, flexible);
        }
    }
}
