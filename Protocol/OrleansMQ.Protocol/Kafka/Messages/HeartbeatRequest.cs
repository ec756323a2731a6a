namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// Heartbeat request (key 12), v0–v4.
/// <code>
/// group_id STRING | generation_id INT32 | member_id STRING
/// group_instance_id NULLABLE_STRING (v3+)
/// (v4: compact strings, TAGGED_FIELDS)
/// </code>
/// </summary>
public sealed class HeartbeatRequest : IKafkaMessage<HeartbeatRequest>
{
    public static ApiKey ApiKey => ApiKey.Heartbeat;

    public string GroupId { get; set; } = "";

    public int GenerationId { get; set; }

    public string MemberId { get; set; } = "";

    /// <summary>v3+.</summary>
    public string? GroupInstanceId { get; set; }

    public static HeartbeatRequest Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var request = new HeartbeatRequest
        {
            GroupId = reader.ReadString(flexible),
            GenerationId = reader.ReadInt32(),
            MemberId = reader.ReadString(flexible),
        };
        if (version >= 3)
        {
            request.GroupInstanceId = reader.ReadNullableString(flexible);
        }

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

        Wire.EndStruct(ref writer, flexible);
    }
}
