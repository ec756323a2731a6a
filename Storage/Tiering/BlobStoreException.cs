namespace OrleansMQ.Storage.Tiering;

/// <summary>
/// A blob operation that failed for good (after retries where retrying made sense). Carries the
/// HTTP status and the service's error code so callers can branch without parsing messages, and a
/// message that says what to check. Never contains the account key or a request signature.
/// </summary>
public sealed class BlobStoreException : Exception
{
    /// <summary>Error code used when no HTTP response arrived (refused, reset, DNS).</summary>
    public const string ConnectionFailedCode = "ConnectionFailed";

    /// <summary>Error code used when every attempt ran out of its per-attempt time.</summary>
    public const string TimeoutCode = "Timeout";

    public BlobStoreException(int status, string errorCode, string message, Exception? inner = null)
        : base(message, inner)
    {
        Status = status;
        ErrorCode = errorCode;
    }

    public BlobStoreException()
        : this(0, "Unknown", "Blob store failure.")
    {
    }

    public BlobStoreException(string message)
        : this(0, "Unknown", message)
    {
    }

    public BlobStoreException(string message, Exception innerException)
        : this(0, "Unknown", message, innerException)
    {
    }

    /// <summary>The HTTP status, or 0 when no response arrived.</summary>
    public int Status { get; }

    /// <summary>The service's x-ms-error-code (AuthenticationFailed, BlobNotFound, ContainerNotFound, …), or one of ours.</summary>
    public string ErrorCode { get; }
}
