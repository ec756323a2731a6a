using Microsoft.Extensions.Logging;

namespace OrleansMQ.Storage.Index;

/// <summary>Source-generated log messages: no formatting or boxing when the level is off.</summary>
internal static partial class IndexLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Index file '{Path}' deleted: {Reason}. Its keys are no longer findable through the index.")]
    public static partial void BadFileDeleted(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Ignoring '{Path}' in the index directory: its name is not an index file name.")]
    public static partial void ForeignFileIgnored(ILogger logger, string path);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Index file '{Path}' could not be opened and was deleted.")]
    public static partial void OpenFailedDeleted(ILogger logger, string path, Exception exception);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "Stale index file '{Path}' was in the way of a new file and was deleted.")]
    public static partial void StaleFileDeleted(ILogger logger, string path);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Information, Message = "Opened index in '{Directory}': {Files} files, last position {LastPosition}.")]
    public static partial void Opened(ILogger logger, string directory, int files, long lastPosition);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Information, Message = "Index truncated from position {Position}: {Deleted} files deleted, last position now {LastPosition}.")]
    public static partial void Truncated(ILogger logger, long position, int deleted, long lastPosition);
}
