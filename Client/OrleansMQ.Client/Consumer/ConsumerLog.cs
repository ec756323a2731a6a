using Microsoft.Extensions.Logging;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Client.Consumer;

internal static partial class ConsumerLog
{
    [LoggerMessage(1, LogLevel.Information, "Group {GroupId}: joined generation {Generation} as {MemberId} (leader {IsLeader}, protocol {Protocol}); assigned {Assigned}")]
    public static partial void Joined(ILogger logger, string groupId, int generation, string memberId, bool isLeader, string? protocol, string assigned);

    [LoggerMessage(2, LogLevel.Information, "Group {GroupId}: revoking {Partitions}")]
    public static partial void Revoking(ILogger logger, string groupId, string partitions);

    [LoggerMessage(3, LogLevel.Warning, "Group {GroupId}: partitions lost ({Reason}): {Partitions}")]
    public static partial void Lost(ILogger logger, string groupId, ErrorCode reason, string partitions);

    [LoggerMessage(4, LogLevel.Information, "Group {GroupId}: rejoining ({Reason})")]
    public static partial void Rejoin(ILogger logger, string groupId, string reason);

    [LoggerMessage(5, LogLevel.Warning, "Group {GroupId}: {Operation} failed, retrying: {Message}")]
    public static partial void GroupRetry(ILogger logger, string groupId, string operation, string message);

    [LoggerMessage(6, LogLevel.Error, "Consumer stopped by a fatal error: {Message}")]
    public static partial void Fatal(ILogger logger, Exception exception, string message);

    [LoggerMessage(7, LogLevel.Warning, "Fetch from broker {NodeId} failed, retrying: {Message}")]
    public static partial void FetchRetry(ILogger logger, int nodeId, string message);

    [LoggerMessage(8, LogLevel.Debug, "{Partition}: {Error}, refreshing metadata")]
    public static partial void PartitionRetry(ILogger logger, string partition, ErrorCode error);

    [LoggerMessage(9, LogLevel.Information, "{Partition}: position reset to {Offset} ({Reason})")]
    public static partial void Reset(ILogger logger, string partition, long offset, string reason);

    [LoggerMessage(10, LogLevel.Warning, "Auto commit failed: {Message}")]
    public static partial void AutoCommitFailed(ILogger logger, string message);

    [LoggerMessage(11, LogLevel.Warning, "Offset lookup failed, retrying: {Message}")]
    public static partial void LookupRetry(ILogger logger, string message);

    [LoggerMessage(12, LogLevel.Error, "The {Callback} callback failed")]
    public static partial void CallbackFailed(ILogger logger, Exception exception, string callback);

    [LoggerMessage(13, LogLevel.Warning, "Leaving group {GroupId} failed: {Message}")]
    public static partial void LeaveFailed(ILogger logger, string groupId, string message);
}
