namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// Heartbeat response (key 12), v0–v4.
/// <code>
/// throttle_time_ms INT32 (v1+) | error_code INT16
/// (v4: TAGGED_FIELDS)
/// </code>
/// REBALANCE_IN_PROGRESS tells the member to rejoin.
/// </summary>
public sealed class HeartbeatResponse : IKafkaMessage<HeartbeatResponse>
{
    public static ApiKey ApiKey => ApiKey.Heartbeat;

    /// <summary>v1+.</summary>
    public int ThrottleTimeMs { get; set; }

    public ErrorCode ErrorCode { get; set; }

    public static HeartbeatResponse Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var response = new HeartbeatResponse();
        if (version >= 1)
        {
            response.ThrottleTimeMs = reader.ReadInt32();
        }

        response.ErrorCode = (ErrorCode)reader.ReadInt16();
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
        Wire.EndStruct(ref writer, flexible);
    }
}
