using Microsoft.Extensions.Logging;

namespace OrleansMQ.Storage.Queues;

/// <summary>ConsumeQueue log messages (event ids 3100-3199), source-generated so nothing formats unless enabled.</summary>
internal static partial class ConsumeQueueLog
{
    [LoggerMessage(EventId = 3100, Level = LogLevel.Warning, Message = "ConsumeQueue: ignoring '{Path}': not a 20-digit file name.")]
    public static partial void UnknownFileIgnored(ILogger logger, string path);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning, Message = "ConsumeQueue: gap before '{Path}' (expected a file starting at entry {ExpectedIndex}); the queue ends before it.")]
    public static partial void FileSequenceGap(ILogger logger, string path, long expectedIndex);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "ConsumeQueue: '{Path}' is unusable (wrong size or unreadable); the queue ends before it.")]
    public static partial void FileUnusable(ILogger logger, string path, Exception exception);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Warning, Message = "ConsumeQueue: damaged entry {Index} in '{Path}'; the queue ends there and the rest of the file is zeroed.")]
    public static partial void DamagedEntry(ILogger logger, string path, long index);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Warning, Message = "ConsumeQueue: deleting '{Path}', which lies past the last valid entry (entry count {EntryCount}); the engine re-dispatches from the CommitLog.")]
    public static partial void FileAfterEndDropped(ILogger logger, string path, long entryCount);

    [LoggerMessage(EventId = 3105, Level = LogLevel.Warning, Message = "ConsumeQueue: replacing stale file '{Path}' while rolling.")]
    public static partial void StaleFileReplaced(ILogger logger, string path);
}
