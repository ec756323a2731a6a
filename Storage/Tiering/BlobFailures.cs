using Azure;

namespace OrleansMQ.Storage.Tiering;

/// <summary>
/// Turns what the Azure SDK throws into one <see cref="BlobStoreException"/> with the HTTP status,
/// the service's error code and a message that says what to check. The SDK's own messages are not
/// passed on whole: they carry response headers and content, and ours must stay one readable line.
/// Nothing here ever sees the account key (the SDK keeps it in its credential).
/// </summary>
internal static class BlobFailures
{
    /// <summary>A service answer that is an error (status 1xx-5xx).</summary>
    public static BlobStoreException FromResponse(RequestFailedException ex, BlobAttempts call, string accountName, string container, string? blob)
    {
        string code = string.IsNullOrEmpty(ex.ErrorCode) ? ((System.Net.HttpStatusCode)ex.Status).ToString() : ex.ErrorCode;

        // The first line of the SDK's message is the service's own message ("Server failed to authenticate …").
        string serviceMessage = ex.Message.Split('\n')[0].Trim();

        // Azure answers a bad signature with AuthenticationFailed; Azurite answers it with
        // AuthorizationFailure and Azure's authentication message. Same cause, one code for callers.
        if (ex.Status == 403 && code == "AuthorizationFailure" && serviceMessage.StartsWith("Server failed to authenticate", StringComparison.Ordinal))
        {
            code = "AuthenticationFailed";
        }

        string hint = code switch
        {
            "AuthenticationFailed" => $"The service rejected the credentials for account '{accountName}': check the account key (AccountKey in the connection string) or the identity's token, and that this machine's clock is correct.",
            "AuthorizationFailure" or "AuthorizationPermissionMismatch" => $"Account '{accountName}' may not do this: check the key's or the identity's permissions (Storage Blob Data Contributor) and the storage firewall.",
            "ContainerNotFound" => $"Container '{container}' does not exist: create it (EnsureContainerAsync) or check the container name.",
            "BlobNotFound" => $"Blob '{blob}' does not exist in container '{container}'.",
            "Md5Mismatch" or "InvalidMd5" or "Crc64Mismatch" => "The bytes were changed in transit (checksum mismatch); the upload was refused.",
            "InvalidBlockList" or "InvalidBlobOrBlock" => "A block of the block list was not staged (or expired); upload the blob again.",
            "InvalidHeaderValue" when serviceMessage.Contains("x-ms-version", StringComparison.OrdinalIgnoreCase) => "The service does not know the API version this client speaks: update Azurite (3.35 or later).",
            _ => "",
        };
        string after = call.Attempts > 1 ? $" after {call.Attempts} attempts" : "";
        string text = $"{call.Operation} failed{after}: HTTP {ex.Status} {code}" + (serviceMessage.Length == 0 ? "." : $": {serviceMessage}") + (hint.Length > 0 ? " " + hint : "");
        return new BlobStoreException(ex.Status, code, text, ex);
    }

    /// <summary>
    /// No answer at all: the SDK's retries ran out on connection failures or per-attempt timeouts
    /// (an <see cref="AggregateException"/> of each attempt's failure), or its only attempt failed.
    /// Null when <paramref name="ex"/> is not a transport failure.
    /// </summary>
    public static BlobStoreException? FromTransport(Exception ex, BlobAttempts call, Uri endpoint, TimeSpan elapsed)
    {
        var last = ex is AggregateException aggregate && aggregate.InnerExceptions.Count > 0 ? aggregate.InnerExceptions[^1] : ex;
        string code;
        string reason;
        switch (last)
        {
            case OperationCanceledException:
                // The SDK's per-attempt NetworkTimeout; the caller's own cancellation never gets here.
                code = BlobStoreException.TimeoutCode;
                reason = "no complete answer within the attempt timeout";
                break;
            case RequestFailedException { Status: 0 } rfe:
                code = BlobStoreException.ConnectionFailedCode;
                reason = rfe.InnerException?.Message ?? rfe.Message;
                break;
            case HttpRequestException or IOException or System.Net.Sockets.SocketException:
                code = BlobStoreException.ConnectionFailedCode;
                reason = last.InnerException?.Message ?? last.Message;
                break;
            default:
                return null;
        }

        int attempts = Math.Max(call.Attempts, ex is AggregateException a ? a.InnerExceptions.Count : 1);
        return new BlobStoreException(
            0,
            code,
            $"{call.Operation} failed: could not get an answer from the blob endpoint {endpoint} after {attempts} attempts in {elapsed.TotalSeconds:0.0} s (last: {reason}). Check that the storage service is running and reachable from this machine.",
            ex);
    }
}
