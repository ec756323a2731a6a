namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// JoinGroup request (key 11), v0–v7.
/// <code>
/// group_id STRING | session_timeout_ms INT32 | rebalance_timeout_ms INT32 (v1+)
/// member_id STRING | group_instance_id NULLABLE_STRING (v5+) | protocol_type STRING
/// protocols [name STRING, metadata BYTES]
/// (v6: compact strings/bytes/arrays, TAGGED_FIELDS after every struct)
/// </code>
/// Before v1 the session timeout doubles as the rebalance timeout; from v4 a member joining
/// with an empty member id is told its id (MEMBER_ID_REQUIRED) and joins again with it.
/// </summary>
public sealed class JoinGroupRequest : IKafkaMessage<JoinGroupRequest>
{
    public static ApiKey ApiKey => ApiKey.JoinGroup;

    public string GroupId { get; set; } = "";

    public int SessionTimeoutMs { get; set; }

    /// <summary>v1+; -1 when absent (use <see cref="SessionTimeoutMs"/>).</summary>
    public int RebalanceTimeoutMs { get; set; } = -1;

    /// <summary>Empty on a member's first join.</summary>
    public string MemberId { get; set; } = "";

    /// <summary>v5+: the static member id (group.instance.id), or null.</summary>
    public string? GroupInstanceId { get; set; }

    /// <summary>"consumer" for consumer groups.</summary>
    public string ProtocolType { get; set; } = "";

    /// <summary>The protocols (assignors) the member supports, in preference order.</summary>
    public List<Protocol> Protocols { get; set; } = [];

    public static JoinGroupRequest Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var request = new JoinGroupRequest
        {
            GroupId = reader.ReadString(flexible),
            SessionTimeoutMs = reader.ReadInt32(),
        };
        if (version >= 1)
        {
            request.RebalanceTimeoutMs = reader.ReadInt32();
        }

        request.MemberId = reader.ReadString(flexible);
        if (version >= 5)
        {
            request.GroupInstanceId = reader.ReadNullableString(flexible);
        }

        request.ProtocolType = reader.ReadString(flexible);
        request.Protocols = Wire.ReadList<Protocol>(ref reader, version, flexible);
        Wire.EndStruct(ref reader, flexible);
        return request;
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        bool flexible = Wire.CheckWrite(ApiKey, version);
        writer.WriteString(GroupId, flexible);
        writer.WriteInt32(SessionTimeoutMs);
        if (version >= 1)
        {
            writer.WriteInt32(RebalanceTimeoutMs);
        }

        writer.WriteString(MemberId, flexible);
        if (version >= 5)
        {
            writer.WriteNullableString(GroupInstanceId, flexible);
        }

        writer.WriteString(ProtocolType, flexible);
        Wire.WriteList(ref writer, Protocols, version, flexible);
        Wire.EndStruct(ref writer, flexible);
    }

    /// <summary>A protocol the member supports and its metadata (for consumers: the subscription).</summary>
    public sealed class Protocol : IWireElement<Protocol>
    {
        public string Name { get; set; } = "";

        /// <summary>Opaque to the broker (a slice of the frame).</summary>
        public ReadOnlyMemory<byte> Metadata { get; set; }

        static Protocol IWireReadable<Protocol>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var protocol = new Protocol
            {
                Name = reader.ReadString(flexible),
                Metadata = reader.ReadBytes(flexible),
            };
            Wire.EndStruct(ref reader, flexible);
            return protocol;
        }

        void IWireElement<Protocol>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteString(Name, flexible);
            writer.WriteBytes(Metadata.Span, flexible);
            Wire.EndStruct(ref writer, flexible);
        }
    }
}
