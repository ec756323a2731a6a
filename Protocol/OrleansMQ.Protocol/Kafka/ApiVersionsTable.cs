namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// The one place that says which APIs and versions this broker speaks (what ApiVersions
/// advertises) and where each API's flexible encoding starts.
/// </summary>
/// <remarks>
/// Flexible boundaries are Kafka's ("flexibleVersions" of each message): they decide the
/// request header version (v1 classic, v2 flexible) and the response header version (v0 / v1),
/// except that ApiVersions responses always use response header v0 so a client can read the
/// answer whatever version it asked in. To add an API: implement its messages, then add a row
/// to <see cref="Supported"/> (a message without a handler yet goes to <see cref="DescribedOnlyRows"/>).
/// </remarks>
public static class ApiVersionsTable
{
    private static readonly ApiVersionRange[] SupportedRows =
    [
        // Produce from v0 and Fetch from v2 although only RecordBatch (magic 2) data is taken and
        // served: librdkafka < 2.10 only compresses gzip/snappy/lz4 if Produce v0 is in the
        // advertised range, and only enables its MsgVer1/ThrottleTime features if Produce v2 and
        // Fetch v2 are (Kafka 4.0 advertises Produce v0+ for the same reason, KAFKA-18659).
        new(ApiKey.Produce, 0, 9, 9),
        new(ApiKey.Fetch, 2, 12, 12),
        new(ApiKey.ListOffsets, 0, 6, 6),
        new(ApiKey.Metadata, 0, 9, 9),
        new(ApiKey.OffsetCommit, 0, 8, 8),
        new(ApiKey.OffsetFetch, 0, 7, 6),
        new(ApiKey.FindCoordinator, 0, 3, 3),
        new(ApiKey.JoinGroup, 0, 7, 6),
        new(ApiKey.Heartbeat, 0, 4, 4),
        new(ApiKey.LeaveGroup, 0, 5, 4),
        new(ApiKey.SyncGroup, 0, 5, 4),
        new(ApiKey.DescribeGroups, 0, 5, 5),
        new(ApiKey.ListGroups, 0, 4, 3),
        new(ApiKey.SaslHandshake, 0, 1, ApiVersionRange.NeverFlexible),
        new(ApiKey.ApiVersions, 0, 3, 3),
        new(ApiKey.CreateTopics, 0, 5, 5),
        new(ApiKey.DeleteTopics, 0, 4, 4),
        new(ApiKey.DeleteRecords, 0, 2, 2),
        new(ApiKey.InitProducerId, 0, 2, 2),
        new(ApiKey.OffsetForLeaderEpoch, 2, 4, 4),
        new(ApiKey.DescribeConfigs, 0, 4, 4),
        new(ApiKey.AlterConfigs, 0, 2, 2),
        new(ApiKey.DescribeLogDirs, 1, 4, 2),
        new(ApiKey.SaslAuthenticate, 0, 1, 2),
        new(ApiKey.CreatePartitions, 0, 2, 2),
        new(ApiKey.DeleteGroups, 0, 2, 2),
        new(ApiKey.ElectLeaders, 0, 2, 2),
        new(ApiKey.IncrementalAlterConfigs, 0, 1, 1),
        new(ApiKey.AlterPartitionReassignments, 0, 0, 0),
        new(ApiKey.ListPartitionReassignments, 0, 0, 0),
        new(ApiKey.OffsetDelete, 0, 0, ApiVersionRange.NeverFlexible),
        new(ApiKey.DescribeCluster, 0, 1, 0),
        new(ApiKey.DescribeProducers, 0, 0, 0),
        new(ApiKey.DescribeTopicPartitions, 0, 0, 0),
    ];

    /// <summary>
    /// APIs whose messages this codec reads and writes but the broker does not answer yet (no
    /// handler, so ApiVersions leaves them out): a client of ours can still speak them, headers
    /// parse (correlation id) and the flexible boundary is written down once. When a handler
    /// lands, its row moves to <see cref="SupportedRows"/>.
    /// </summary>
    /// <remarks>
    /// The ranges are what librdkafka 2.x and Kafka's Java AdminClient 3.x+ send: OffsetForLeaderEpoch
    /// from v2 (the first with CurrentLeaderEpoch, for fencing), DescribeCluster v0–v1 (v1 adds the
    /// endpoint type), the others from their first version.
    /// </remarks>
    private static readonly ApiVersionRange[] DescribedOnlyRows = [];

    /// <summary>Every API this broker answers, by ascending key: the ApiVersions answer.</summary>
    public static IReadOnlyList<ApiVersionRange> Supported { get; } = Array.AsReadOnly(SupportedRows);

    /// <summary>The supported range of <paramref name="apiKey"/>, if this broker answers it.</summary>
    public static bool TryGetSupported(ApiKey apiKey, out ApiVersionRange range)
    {
        foreach (var row in SupportedRows)
        {
            if (row.ApiKey == apiKey)
            {
                range = row;
                return true;
            }
        }

        range = default;
        return false;
    }

    /// <summary>True if this broker answers <paramref name="apiKey"/> in <paramref name="version"/>.</summary>
    public static bool IsSupported(ApiKey apiKey, short version) =>
        TryGetSupported(apiKey, out var range) && range.Contains(version);

    /// <summary>
    /// The range this codec reads and writes for <paramref name="apiKey"/>: the supported one, or a
    /// described-only one (messages ready, no handler yet).
    /// </summary>
    public static bool TryGetDescribed(ApiKey apiKey, out ApiVersionRange range)
    {
        if (TryGetSupported(apiKey, out range))
        {
            return true;
        }

        foreach (var row in DescribedOnlyRows)
        {
            if (row.ApiKey == apiKey)
            {
                range = row;
                return true;
            }
        }

        range = default;
        return false;
    }

    /// <summary>True if the message classes of <paramref name="apiKey"/> read and write <paramref name="version"/> (answered or not).</summary>
    public static bool IsDescribed(ApiKey apiKey, short version) =>
        TryGetDescribed(apiKey, out var range) && range.Contains(version);

    /// <summary>First flexible version of <paramref name="apiKey"/>, or <see cref="ApiVersionRange.NeverFlexible"/> (also for APIs unknown here).</summary>
    public static short FirstFlexibleVersion(ApiKey apiKey) =>
        TryGetDescribed(apiKey, out var range) ? range.FirstFlexibleVersion : ApiVersionRange.NeverFlexible;

    /// <summary>True if <paramref name="version"/> of <paramref name="apiKey"/> uses the flexible encoding.</summary>
    public static bool IsFlexible(ApiKey apiKey, short version)
    {
        short first = FirstFlexibleVersion(apiKey);
        return first != ApiVersionRange.NeverFlexible && version >= first;
    }

    /// <summary>Request header version: 2 for flexible versions, else 1.</summary>
    public static short RequestHeaderVersion(ApiKey apiKey, short version) => IsFlexible(apiKey, version) ? (short)2 : (short)1;

    /// <summary>Response header version: 1 for flexible versions, else 0; always 0 for ApiVersions.</summary>
    public static short ResponseHeaderVersion(ApiKey apiKey, short version) =>
        apiKey != ApiKey.ApiVersions && IsFlexible(apiKey, version) ? (short)1 : (short)0;
}
