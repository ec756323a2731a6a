namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// SyncGroup response (key 14), v0–v5.
/// <code>
/// throttle_time_ms INT32 (v1+) | error_code INT16
/// protocol_type NULLABLE_STRING (v5+) | protocol_name NULLABLE_STRING (v5+)
/// assignment BYTES
/// (v4: compact strings/bytes, TAGGED_FIELDS)
/// </code>
/// </summary>
public sealed class SyncGroupResponse : IKafkaMessage<SyncGroupResponse>
{
    public static ApiKey ApiKey => ApiKey.SyncGroup;

    /// <summary>v1+.</summary>
    public int ThrottleTimeMs { get; set; }

    public ErrorCode ErrorCode { get; set; }

    /// <summary>v5+.</summary>
    public string? ProtocolType { get; set; }

    /// <summary>v5+.</summary>
    public string? ProtocolName { get; set; }

    /// <summary>This member's assignment, as the leader sent it.</summary>
    public ReadOnlyMemory<byte> Assignment { get; set; }

    public static SyncGroupResponse Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var response = new SyncGroupResponse();
        if (version >= 1)
        {
            response.ThrottleTimeMs = reader.ReadInt32();
        }

        response.ErrorCode = (ErrorCode)reader.ReadInt16();
        if (version >= 5)
        {
            response.ProtocolType = reader.ReadNullableString(flexible);
            response.ProtocolName = reader.ReadNullableString(flexible);
        }

        response.Assignment = reader.ReadBytes(flexible);
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
        if (version >= 5)
        {
            writer.WriteNullableString(ProtocolType, flexible);
            writer.WriteNullableString(ProtocolName, flexible);
        }

        writer.WriteBytes(Assignment.Span, flexible);
        Wire.EndStruct(ref writer, flexible);
    }
}
