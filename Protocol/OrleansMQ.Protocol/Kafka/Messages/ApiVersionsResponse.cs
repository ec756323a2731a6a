namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// ApiVersions response (key 18), v0–v3. Always sent with response header v0.
/// <code>
/// error_code INT16 | [api_key INT16, min_version INT16, max_version INT16 (TAGGED_FIELDS v3)]
///   | throttle_time_ms INT32 (v1+) | TAGGED_FIELDS (v3: 0 supported_features, 1 finalized epoch, 2 finalized features)
/// </code>
/// An UNSUPPORTED_VERSION answer is written in v0 with the supported list so the client can
/// retry at a version both sides know (<see cref="UnsupportedVersionResponse"/>).
/// </summary>
public sealed class ApiVersionsResponse : IKafkaMessage<ApiVersionsResponse>
{
    public static ApiKey ApiKey => ApiKey.ApiVersions;

    public ErrorCode ErrorCode { get; set; }

    public List<ApiKeyVersions> ApiKeys { get; set; } = [];

    /// <summary>v1+.</summary>
    public int ThrottleTimeMs { get; set; }

    /// <summary>This broker's answer: every row of <see cref="ApiVersionsTable.Supported"/>.</summary>
    public static ApiVersionsResponse FromTable(ErrorCode errorCode = ErrorCode.None)
    {
        var response = new ApiVersionsResponse { ErrorCode = errorCode };
        foreach (var row in ApiVersionsTable.Supported)
        {
            response.ApiKeys.Add(new ApiKeyVersions { ApiKey = row.ApiKey, MinVersion = row.MinVersion, MaxVersion = row.MaxVersion });
        }

        return response;
    }

    public static ApiVersionsResponse Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var response = new ApiVersionsResponse
        {
            ErrorCode = (ErrorCode)reader.ReadInt16(),
            ApiKeys = Wire.ReadList<ApiKeyVersions>(ref reader, version, flexible),
        };
        if (version >= 1)
        {
            response.ThrottleTimeMs = reader.ReadInt32();
        }

        Wire.EndStruct(ref reader, flexible);
        return response;
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        bool flexible = Wire.CheckWrite(ApiKey, version);
        writer.WriteInt16((short)ErrorCode);
        Wire.WriteList(ref writer, ApiKeys, version, flexible);
        if (version >= 1)
        {
            writer.WriteInt32(ThrottleTimeMs);
        }

        Wire.EndStruct(ref writer, flexible);
    }

    /// <summary>One API and the versions the broker supports for it.</summary>
    public sealed class ApiKeyVersions : IWireElement<ApiKeyVersions>
    {
        public ApiKey ApiKey { get; set; }

        public short MinVersion { get; set; }

        public short MaxVersion { get; set; }

        static ApiKeyVersions IWireReadable<ApiKeyVersions>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var item = new ApiKeyVersions
            {
                ApiKey = (ApiKey)reader.ReadInt16(),
                MinVersion = reader.ReadInt16(),
                MaxVersion = reader.ReadInt16(),
            };
            Wire.EndStruct(ref reader, flexible);
            return item;
        }

        void IWireElement<ApiKeyVersions>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteInt16((short)ApiKey);
            writer.WriteInt16(MinVersion);
            writer.WriteInt16(MaxVersion);
            Wire.EndStruct(ref writer, flexible);
        }
    }
}
