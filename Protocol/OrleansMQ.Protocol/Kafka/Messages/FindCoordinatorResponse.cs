namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// FindCoordinator response (key 10), v0–v3.
/// <code>
/// throttle_time_ms INT32 (v1+) | error_code INT16 | error_message NULLABLE_STRING (v1+)
/// node_id INT32 | host STRING | port INT32
/// (v3: compact strings, TAGGED_FIELDS)
/// </code>
/// </summary>
public sealed class FindCoordinatorResponse : IKafkaMessage<FindCoordinatorResponse>
{
    public static ApiKey ApiKey => ApiKey.FindCoordinator;

    /// <summary>v1+.</summary>
    public int ThrottleTimeMs { get; set; }

    public ErrorCode ErrorCode { get; set; }

    /// <summary>v1+.</summary>
    public string? ErrorMessage { get; set; }

    public int NodeId { get; set; } = -1;

    public string Host { get; set; } = "";

    public int Port { get; set; } = -1;

    public static FindCoordinatorResponse Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var response = new FindCoordinatorResponse();
        if (version >= 1)
        {
            response.ThrottleTimeMs = reader.ReadInt32();
        }

        response.ErrorCode = (ErrorCode)reader.ReadInt16();
        if (version >= 1)
        {
            response.ErrorMessage = reader.ReadNullableString(flexible);
        }

        response.NodeId = reader.ReadInt32();
        response.Host = reader.ReadString(flexible);
        response.Port = reader.ReadInt32();
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
        if (version >= 1)
        {
            writer.WriteNullableString(ErrorMessage, flexible);
        }

        writer.WriteInt32(NodeId);
        writer.WriteString(Host, flexible);
        writer.WriteInt32(Port);
        Wire.EndStruct(ref writer, flexible);
    }
}
