namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// SaslHandshake response (key 17), v0–v1.
/// <code>
/// error_code INT16 | mechanisms [STRING]
/// </code>
/// </summary>
public sealed class SaslHandshakeResponse : IKafkaMessage<SaslHandshakeResponse>
{
    public static ApiKey ApiKey => ApiKey.SaslHandshake;

    public ErrorCode ErrorCode { get; set; }

    /// <summary>The mechanisms the broker enables.</summary>
    public List<string> Mechanisms { get; set; } = [];

    public static SaslHandshakeResponse Read(ref KafkaReader reader, short version)
    {
        Wire.CheckRead(ApiKey, version);
        return new SaslHandshakeResponse
        {
            ErrorCode = (ErrorCode)reader.ReadInt16(),
            Mechanisms = Wire.ReadStringList(ref reader, flexible: false),
        };
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        Wire.CheckWrite(ApiKey, version);
        writer.WriteInt16((short)ErrorCode);
        Wire.WriteStringList(ref writer, Mechanisms, flexible: false);
    }
}
