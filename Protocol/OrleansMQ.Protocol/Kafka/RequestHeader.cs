namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// The header that starts every request frame (after the 4-byte size the connection strips).
/// </summary>
/// <remarks>
/// <code>
/// v1 (classic):  api_key int16 | api_version int16 | correlation_id int32 | client_id NULLABLE_STRING (int16 length)
/// v2 (flexible): v1 | TAGGED_FIELDS   (client_id stays an int16-length string even here)
/// </code>
/// The version follows <see cref="ApiVersionsTable.RequestHeaderVersion"/>. For an API this
/// broker does not know, the header is read as v1: enough to answer or close, the body is
/// never parsed.
/// </remarks>
public readonly record struct RequestHeader(ApiKey ApiKey, short ApiVersion, int CorrelationId, string? ClientId)
{
    /// <summary>1 or 2.</summary>
    public short HeaderVersion => ApiVersionsTable.RequestHeaderVersion(ApiKey, ApiVersion);

    /// <summary>True if this broker answers this API in this version.</summary>
    public bool IsSupported => ApiVersionsTable.IsSupported(ApiKey, ApiVersion);

    /// <summary>Reads a header; the reader is left at the start of the body.</summary>
    public static RequestHeader Read(ref KafkaReader reader)
    {
        if (reader.Remaining < 8)
        {
            throw new KafkaProtocolException($"Request frame of {reader.Remaining} bytes is too short for a request header.");
        }

        var apiKey = (ApiKey)reader.ReadInt16();
        short apiVersion = reader.ReadInt16();
        int correlationId = reader.ReadInt32();
        string? clientId = reader.ReadNullableString();
        if (ApiVersionsTable.IsFlexible(apiKey, apiVersion))
        {
            reader.SkipTaggedFields();
        }

        return new RequestHeader(apiKey, apiVersion, correlationId, clientId);
    }

    /// <summary>Writes this header in the version its API and version call for.</summary>
    public void Write(ref KafkaWriter writer)
    {
        writer.WriteInt16((short)ApiKey);
        writer.WriteInt16(ApiVersion);
        writer.WriteInt32(CorrelationId);
        writer.WriteNullableString(ClientId);
        if (ApiVersionsTable.IsFlexible(ApiKey, ApiVersion))
        {
            writer.WriteEmptyTaggedFields();
        }
    }
}
