namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// DescribeGroups response (key 15), v0–v5.
/// <code>
/// throttle_time_ms INT32 (v1+)
/// groups [error_code INT16, group_id STRING, group_state STRING, protocol_type STRING,
///         protocol_data STRING,
///         members [member_id STRING, group_instance_id NULLABLE_STRING (v4+), client_id STRING,
///                  client_host STRING, member_metadata BYTES, member_assignment BYTES],
///         authorized_operations INT32 (v3+)]
/// (v5: compact strings/bytes/arrays, TAGGED_FIELDS after every struct)
/// </code>
/// protocol_data is the chosen protocol's name (the assignor); member metadata and assignments
/// are only filled in for a stable group.
/// </summary>
public sealed class DescribeGroupsResponse : IKafkaMessage<DescribeGroupsResponse>
{
    /// <summary>"Authorized operations not requested" (INT32 min value).</summary>
    public const int AuthorizedOperationsOmitted = int.MinValue;

    public static ApiKey ApiKey => ApiKey.DescribeGroups;

    /// <summary>v1+.</summary>
    public int ThrottleTimeMs { get; set; }

    public List<Group> Groups { get; set; } = [];

    public static DescribeGroupsResponse Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var response = new DescribeGroupsResponse();
        if (version >= 1)
        {
            response.ThrottleTimeMs = reader.ReadInt32();
        }

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

        Wire.WriteList(ref writer, Groups, version, flexible);
        Wire.EndStruct(ref writer, flexible);
    }

    /// <summary>One described group.</summary>
    public sealed class Group : IWireElement<Group>
    {
        public ErrorCode ErrorCode { get; set; }

        public string GroupId { get; set; } = "";

        /// <summary>"Stable", "PreparingRebalance", "CompletingRebalance", "Empty", "Dead", or "".</summary>
        public string GroupState { get; set; } = "";

        public string ProtocolType { get; set; } = "";

        /// <summary>The chosen protocol name, or "".</summary>
        public string ProtocolData { get; set; } = "";

        public List<Member> Members { get; set; } = [];

        /// <summary>v3+.</summary>
        public int AuthorizedOperations { get; set; } = AuthorizedOperationsOmitted;

        static Group IWireReadable<Group>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var group = new Group
            {
                ErrorCode = (ErrorCode)reader.ReadInt16(),
                GroupId = reader.ReadString(flexible),
                GroupState = reader.ReadString(flexible),
                ProtocolType = reader.ReadString(flexible),
                ProtocolData = reader.ReadString(flexible),
                Members = Wire.ReadList<Member>(ref reader, version, flexible),
            };
            if (version >= 3)
            {
                group.AuthorizedOperations = reader.ReadInt32();
            }

            Wire.EndStruct(ref reader, flexible);
            return group;
        }

        void IWireElement<Group>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteInt16((short)ErrorCode);
            writer.WriteString(GroupId, flexible);
            writer.WriteString(GroupState, flexible);
            writer.WriteString(ProtocolType, flexible);
            writer.WriteString(ProtocolData, flexible);
            Wire.WriteList(ref writer, Members, version, flexible);
            if (version >= 3)
            {
                writer.WriteInt32(AuthorizedOperations);
            }

            Wire.EndStruct(ref writer, flexible);
        }
    }

    /// <summary>One member of a described group.</summary>
    public sealed class Member : IWireElement<Member>
    {
        public string MemberId { get; set; } = "";

        /// <summary>v4+.</summary>
        public string? GroupInstanceId { get; set; }

        public string ClientId { get; set; } = "";

        public string ClientHost { get; set; } = "";

        public ReadOnlyMemory<byte> MemberMetadata { get; set; }

        public ReadOnlyMemory<byte> MemberAssignment { get; set; }

        static Member IWireReadable<Member>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var member = new Member { MemberId = reader.ReadString(flexible) };
            if (version >= 4)
            {
                member.GroupInstanceId = reader.ReadNullableString(flexible);
            }

            member.ClientId = reader.ReadString(flexible);
            member.ClientHost = reader.ReadString(flexible);
            member.MemberMetadata = reader.ReadBytes(flexible);
            member.MemberAssignment = reader.ReadBytes(flexible);
            Wire.EndStruct(ref reader, flexible);
            return member;
        }

        void IWireElement<Member>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteString(MemberId, flexible);
            if (version >= 4)
            {
                writer.WriteNullableString(GroupInstanceId, flexible);
            }

            writer.WriteString(ClientId, flexible);
            writer.WriteString(ClientHost, flexible);
            writer.WriteBytes(MemberMetadata.Span, flexible);
            writer.WriteBytes(MemberAssignment.Span, flexible);
            Wire.EndStruct(ref writer, flexible);
        }
    }
}
