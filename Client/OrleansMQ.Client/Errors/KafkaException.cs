using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Client;

/// <summary>
/// Every failure the client reports: the Kafka error code (<see cref="ErrorCode.None"/> for
/// failures that are not a broker's answer, such as a lost connection) and whether retrying may
/// succeed.
/// </summary>
public class KafkaException : Exception
{
    public KafkaException()
        : this(ErrorCode.UnknownServerError, "Kafka error.")
    {
    }

    public KafkaException(string message)
        : this(ErrorCode.UnknownServerError, message)
    {
    }

    public KafkaException(string message, Exception innerException)
        : this(ErrorCode.UnknownServerError, message, innerException)
    {
    }

    public KafkaException(ErrorCode errorCode, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        ErrorCode = errorCode;
    }

    /// <summary>The broker's error code, or <see cref="ErrorCode.None"/> for client-side failures.</summary>
    public ErrorCode ErrorCode { get; }

    /// <summary>True when the same request may succeed later (Kafka's retriable errors, timeouts, lost connections).</summary>
    public virtual bool IsRetriable => IsRetriableCode(ErrorCode);

    /// <summary>Kafka's retriable error codes.</summary>
    public static bool IsRetriableCode(ErrorCode code) => code is
        ErrorCode.CorruptMessage or ErrorCode.UnknownTopicOrPartition or ErrorCode.LeaderNotAvailable
        or ErrorCode.NotLeaderOrFollower or ErrorCode.RequestTimedOut or ErrorCode.NetworkException
        or ErrorCode.CoordinatorLoadInProgress or ErrorCode.CoordinatorNotAvailable or ErrorCode.NotCoordinator
        or ErrorCode.NotEnoughReplicas or ErrorCode.NotEnoughReplicasAfterAppend or ErrorCode.KafkaStorageError
        or ErrorCode.FetchSessionIdNotFound or ErrorCode.InvalidFetchSessionEpoch or ErrorCode.OffsetNotAvailable
        or ErrorCode.FencedLeaderEpoch or ErrorCode.UnknownLeaderEpoch or ErrorCode.ConcurrentTransactions
        or ErrorCode.RebalanceInProgress or ErrorCode.ThrottlingQuotaExceeded;

    /// <summary>Throws a <see cref="KafkaException"/> unless <paramref name="code"/> is <see cref="ErrorCode.None"/>.</summary>
    public static void ThrowIfError(ErrorCode code, string? message, string context)
    {
        if (code != ErrorCode.None)
        {
            throw new KafkaException(code, $"{context}: {code}{(string.IsNullOrEmpty(message) ? "" : " - " + message)}");
        }
    }
}

/// <summary>A request that got no answer in time (Kafka's TimeoutException).</summary>
public sealed class KafkaTimeoutException : KafkaException
{
    public KafkaTimeoutException()
        : base(ErrorCode.RequestTimedOut, "Timed out.")
    {
    }

    public KafkaTimeoutException(string message)
        : base(ErrorCode.RequestTimedOut, message)
    {
    }

    public KafkaTimeoutException(string message, Exception innerException)
        : base(ErrorCode.RequestTimedOut, message, innerException)
    {
    }

    public override bool IsRetriable => true;
}

/// <summary>A broker could not be reached or the connection broke.</summary>
public sealed class KafkaConnectionException : KafkaException
{
    public KafkaConnectionException()
        : base(ErrorCode.NetworkException, "Connection failed.")
    {
    }

    public KafkaConnectionException(string message)
        : base(ErrorCode.NetworkException, message)
    {
    }

    public KafkaConnectionException(string message, Exception innerException)
        : base(ErrorCode.NetworkException, message, innerException)
    {
    }

    public override bool IsRetriable => true;
}
