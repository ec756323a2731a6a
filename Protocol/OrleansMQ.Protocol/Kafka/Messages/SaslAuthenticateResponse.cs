namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// SaslAuthenticate response (key 36), v0–v1.
/// <code>
/// error_code INT16 | error_message NULLABLE_STRING | auth_bytes BYTES | session_lifetime_ms INT64 (v1+)
/// </code>
/// </summary>
public sealed class SaslAuthenticateResponse : IKafkaMessage<SaslAuthenticateResponse>
{
    public static ApiKey ApiKey => ApiKey.SaslAuthenticate;

    public ErrorCode ErrorCode { get; set; }

    public string? ErrorMessage { get; set; }

    public ReadOnlyMemory<byte> AuthBytes { get; set; }

    /// <summary>v1+: how long the session stays valid (0 = no limit).</summary>
    public long SessionLifetimeMs { get; set; }

    public static SaslAuthenticateResponse Read(ref KafkaReader reader, short version)
    {
        Wire.CheckRead(ApiKey, version);
        var response = new SaslAuthenticateResponse
        {
            ErrorCode = (ErrorCode)reader.ReadInt16(),
            ErrorMessage = reader.ReadNullableString(),
            AuthBytes = reader.ReadBytes(),
        };
        if (version >= 1)
        {
            response.SessionLifetimeMs = reader.ReadInt64();
        }

        return response;
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        Wire.CheckWrite(ApiKey, version);
        writer.WriteInt16((short)ErrorCode);
        writer.WriteNullableString(ErrorMessage);
        writer.WriteBytes(AuthBytes.Span);
        if (version >= 1)
        {
            writer.WriteInt64(SessionLifetimeMs);
        }
    }
}
