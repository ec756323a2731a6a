namespace OrleansMQ.Protocol.Kafka;

/// <remarks>The fields are in <c>DescribeGroupsResponse.msg</c>.</remarks>
public sealed partial class DescribeGroupsResponse
{
    /// <summary>"Authorized operations not requested" (INT32 min value).</summary>
    public const int AuthorizedOperationsOmitted = int.MinValue;
}
