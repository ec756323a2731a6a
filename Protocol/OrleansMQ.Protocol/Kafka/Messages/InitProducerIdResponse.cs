namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// InitProducerId response (key 22), v0–v2.
/// <code>
/// throttle_time_ms INT32 | error_code INT16 | producer_id INT64 | producer_epoch INT16
/// (v2: TAGGED_FIELDS)
/// </code>
/// </summary>
public sealed class InitProducerIdResponse : IKafkaMessage<InitProducerIdResponse>
{
    public static ApiKey ApiKey => ApiKey.InitProducerId;

    public int ThrottleTimeMs { get; set; }

    public ErrorCode ErrorCode { get; set; }

    public long ProducerId { get; set; } = -1;

    public short ProducerEpoch { get; set; }

    public static InitProducerIdResponse Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var response = new InitProducerIdResponse
        {
            ThrottleTimeMs = reader.ReadInt32(),
            ErrorCode = (ErrorCode)reader.ReadInt16(),
            ProducerId = reader.ReadInt64(),
            ProducerEpoch = reader.ReadInt16(),
        };
        Wire.EndStruct(ref reader, flexible);
        return response;
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        bool flexible = Wire.CheckWrite(ApiKey, version);
        writer.WriteInt32(ThrottleTimeMs);
        writer.WriteInt16((short)ErrorCode);
        writer.WriteInt64(ProducerId);
        writer.WriteInt16(ProducerEpoch);
        Wire.EndStruct(ref writer, flexible);
    }
}
