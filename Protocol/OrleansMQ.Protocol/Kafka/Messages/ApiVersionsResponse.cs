namespace OrleansMQ.Protocol.Kafka;

/// <remarks>The fields are in <c>ApiVersionsResponse.msg</c>.</remarks>
public sealed partial class ApiVersionsResponse
{
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
}
