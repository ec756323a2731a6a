namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// SyncGroup request (key 14), v0–v5.
/// <code>
/// group_id STRING | generation_id INT32 | member_id STRING
/// group_instance_id NULLABLE_STRING (v3+)
/// protocol_type NULLABLE_STRING (v5+) | protocol_name NULLABLE_STRING (v5+)
/// assignments [member_id STRING, assignment BYTES]
/// (v4: compact strings/bytes/arrays, TAGGED_FIELDS after every struct)
/// </code>
/// Only the leader sends assignments; followers send an empty list.
/// </summary>
public sealed class SyncGroupRequest : IKafkaMessage<SyncGroupRequest>
{
    public static ApiKey ApiKey => ApiKey.SyncGroup;

    public string GroupId { get; set; } = "";

    public int GenerationId { get; set; }

    public string MemberId { get; set; } = "";

    /// <summary>v3+.</summary>
    public string? GroupInstanceId { get; set; }

    /// <summary>v5+.</summary>
    public string? ProtocolType { get; set; }

    /// <summary>v5+.</summary>
    public string? ProtocolName { get; set; }

    public List<Assignment> Assignments { get; set; } = [];

    public static SyncGroupRequest Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var request = new SyncGroupRequest
        {
            GroupId = reader.ReadString(flexible),
            GenerationId = reader.ReadInt32(),
            MemberId = reader.ReadString(flexible),
        };
        if (version >= 3)
        {
            request.GroupInstanceId = reader.ReadNullableString(flexible);
        }

        if (version >= 5)
        {
            request.ProtocolType = reader.ReadNullableString(flexible);
            request.ProtocolName = reader.ReadNullableString(flexible);
        }

        request.Assignments = Wire.ReadList<Assignment>(ref reader, version, flexible);
        Wire.EndStruct(ref reader, flexible);
        return request;
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        bool flexible = Wire.CheckWrite(ApiKey, version);
        writer.WriteString(GroupId, flexible);
        writer.WriteInt32(GenerationId);
        writer.WriteString(MemberId, flexible);
        if (version >= 3)
        {
            writer.WriteNullableString(GroupInstanceId, flexible);
        }

        if (version >= 5)
        {
            writer.WriteNullableString(ProtocolType, flexible);
            writer.WriteNullableString(ProtocolName, flexible);
        }

        Wire.WriteList(ref writer, Assignments, version, flexible);
        Wire.EndStruct(ref writer, flexible);
    }

    /// <summary>The leader's assignment for one member.</summary>
    public sealed class Assignment : IWireElement<Assignment>
    {
        public string MemberId { get; set; } = "";

        /// <summary>The assignment bytes (a slice of the frame; opaque to the broker).</summary>
        public ReadOnlyMemory<byte> AssignmentBytes { get; set; }

        static Assignment IWireReadable<Assignment>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var assignment = new Assignment
            {
                MemberId = reader.ReadString(flexible),
                AssignmentBytes = reader.ReadBytes(flexible),
            };
            Wire.EndStruct(ref reader, flexible);
            return assignment;
        }

        void IWireElement<Assignment>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteString(MemberId, flexible);
            writer.WriteBytes(AssignmentBytes.Span, flexible);
            Wire.EndStruct(ref writer, flexible);
        }
    }
}
