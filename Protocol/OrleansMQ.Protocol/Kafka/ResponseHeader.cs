namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// The header that starts every response frame.
/// <code>
/// v0: correlation_id int32
/// v1: correlation_id int32 | TAGGED_FIELDS
/// </code>
/// v1 for flexible versions, v0 otherwise and always v0 for ApiVersions
/// (<see cref="ApiVersionsTable.ResponseHeaderVersion"/>).
/// </summary>
public static class ResponseHeader
{
    /// <summary>Writes the response header for a request of <paramref name="apiKey"/> at <paramref name="apiVersion"/>.</summary>
    public static void Write(ref KafkaWriter writer, ApiKey apiKey, short apiVersion, int correlationId)
    {
        writer.WriteInt32(correlationId);
        if (ApiVersionsTable.ResponseHeaderVersion(apiKey, apiVersion) == 1)
        {
            writer.WriteEmptyTaggedFields();
        }
    }

    /// <summary>Writes the response header answering <paramref name="request"/>.</summary>
    public static void Write(ref KafkaWriter writer, in RequestHeader request) =>
        Write(ref writer, request.ApiKey, request.ApiVersion, request.CorrelationId);

    /// <summary>Reads a response header (client side) and returns its correlation id.</summary>
    public static int Read(ref KafkaReader reader, ApiKey apiKey, short apiVersion)
    {
        int correlationId = reader.ReadInt32();
        if (ApiVersionsTable.ResponseHeaderVersion(apiKey, apiVersion) == 1)
        {
            reader.SkipTaggedFields();
        }

        return correlationId;
    }
}
