namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// SaslHandshake request (key 17), v0–v1 (never flexible).
/// <code>
/// mechanism STRING
/// </code>
/// v0: raw SASL tokens follow on the socket; v1: tokens travel in SaslAuthenticate requests.
/// </summary>
public sealed class SaslHandshakeRequest : IKafkaMessage<SaslHandshakeRequest>
{
    public static ApiKey ApiKey => ApiKey.SaslHandshake;

    public string Mechanism { get; set; } = "";

    public static SaslHandshakeRequest Read(ref KafkaReader reader, short version)
    {
        Wire.CheckRead(ApiKey, version);
        return new SaslHandshakeRequest { Mechanism = reader.ReadString() };
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        Wire.CheckWrite(ApiKey, version);
        writer.WriteString(Mechanism);
    }
}
