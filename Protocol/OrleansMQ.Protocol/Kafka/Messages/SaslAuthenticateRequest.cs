namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// SaslAuthenticate request (key 36), v0–v1.
/// <code>
/// auth_bytes BYTES
/// </code>
/// </summary>
public sealed class SaslAuthenticateRequest : IKafkaMessage<SaslAuthenticateRequest>
{
    public static ApiKey ApiKey => ApiKey.SaslAuthenticate;

    /// <summary>The mechanism's bytes (a slice of the frame).</summary>
    public ReadOnlyMemory<byte> AuthBytes { get; set; }

    public static SaslAuthenticateRequest Read(ref KafkaReader reader, short version)
    {
        Wire.CheckRead(ApiKey, version);
        return new SaslAuthenticateRequest { AuthBytes = reader.ReadBytes() };
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        Wire.CheckWrite(ApiKey, version);
        writer.WriteBytes(AuthBytes.Span);
    }
}
