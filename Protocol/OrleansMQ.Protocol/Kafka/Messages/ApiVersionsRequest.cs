namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// ApiVersions request (key 18), v0–v3. v0–v2 have an empty body; v3 (flexible) carries the
/// client's software name and version (KIP-511).
/// <code>
/// v3: client_software_name COMPACT_STRING | client_software_version COMPACT_STRING | TAGGED_FIELDS
/// </code>
/// </summary>
public sealed class ApiVersionsRequest : IKafkaMessage<ApiVersionsRequest>
{
    public static ApiKey ApiKey => ApiKey.ApiVersions;

    /// <summary>v3+.</summary>
    public string ClientSoftwareName { get; set; } = "";

    /// <summary>v3+.</summary>
    public string ClientSoftwareVersion { get; set; } = "";

    public static ApiVersionsRequest Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var request = new ApiVersionsRequest();
        if (version >= 3)
        {
            request.ClientSoftwareName = reader.ReadCompactString();
            request.ClientSoftwareVersion = reader.ReadCompactString();
        }

        Wire.EndStruct(ref reader, flexible);
        return request;
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        bool flexible = Wire.CheckWrite(ApiKey, version);
        if (version >= 3)
        {
            writer.WriteCompactString(ClientSoftwareName);
            writer.WriteCompactString(ClientSoftwareVersion);
        }

        Wire.EndStruct(ref writer, flexible);
    }
}
