namespace OrleansMQ.Protocol.Kafka;

/// <remarks>The fields are in <c>MetadataResponse.msg</c>.</remarks>
public sealed partial class MetadataResponse
{
    /// <summary>"Authorized operations not requested" (INT32 min value).</summary>
    public const int AuthorizedOperationsOmitted = int.MinValue;
}
