namespace OrleansMQ.Protocol.Kafka;

/// <remarks>The fields are in <c>ListOffsetsRequest.msg</c>.</remarks>
public sealed partial class ListOffsetsRequest
{
    /// <summary>A <see cref="Partition.Timestamp"/> asking for the latest offset.</summary>
    public const long LatestTimestamp = -1;

    /// <summary>A <see cref="Partition.Timestamp"/> asking for the earliest offset.</summary>
    public const long EarliestTimestamp = -2;
}
