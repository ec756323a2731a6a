using Microsoft.Extensions.Logging;

namespace OrleansMQ.Storage.Tiering;

/// <summary>Source-generated log messages of the tiering code: no formatting or boxing when the level is off.</summary>
internal static partial class TieringLog
{
    [LoggerMessage(EventId = 7001, Level = LogLevel.Warning, Message = "Blob request {Operation} attempt {Attempt} of {MaxAttempts} failed ({Reason}); retrying.")]
    public static partial void Retrying(ILogger logger, string operation, int attempt, int maxAttempts, string reason);
}
