using Azure.Core;
using Azure.Core.Pipeline;
using Microsoft.Extensions.Logging;

namespace OrleansMQ.Storage.Tiering;

/// <summary>
/// What the SDK's retry policy did for one <see cref="AzureBlobStore"/> call: how many attempts the
/// last request took and why its previous attempt failed. The SDK retries inside its pipeline and
/// reports neither, yet our errors say "after N attempts" and our logs say why a retry happened.
/// One instance per store call, found by the pipeline through <see cref="Current"/>.
/// </summary>
internal sealed class BlobAttempts(string operation)
{
    private static readonly AsyncLocal<BlobAttempts?> CurrentCall = new();

    /// <summary>The store call running on this async flow; the pipeline sees it because the SDK awaits inside the call.</summary>
    public static BlobAttempts? Current
    {
        get => CurrentCall.Value;
        set => CurrentCall.Value = value;
    }

    public string Operation { get; } = operation;

    /// <summary>Attempts made by the request that finished last (parallel block uploads overwrite each other; any is representative).</summary>
    public int Attempts { get; set; }

    /// <summary>Why the last failed attempt failed ("HTTP 503 ServerBusy", "Connection refused"), for the final message.</summary>
    public string LastFailure { get; set; } = "";
}

/// <summary>
/// A per-retry pipeline policy (it runs once per attempt, inside the SDK's retry loop): counts the
/// attempts of each request, logs the reason before each retry, and leaves the count and the last
/// reason on the current <see cref="BlobAttempts"/>. It never retries anything itself, so there is
/// one retry layer: the SDK's, configured from <see cref="BlobStoreOptions"/>.
/// </summary>
internal sealed class BlobAttemptPolicy(ILogger logger, int maxAttempts) : HttpPipelinePolicy
{
    private const string AttemptKey = "omq.attempt";
    private const string FailureKey = "omq.failure";

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        int attempt = Before(message);
        try
        {
            ProcessNext(message, pipeline);
        }
        catch (Exception ex)
        {
            After(message, attempt, ex);
            throw;
        }

        After(message, attempt, null);
    }

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        int attempt = Before(message);
        try
        {
            await ProcessNextAsync(message, pipeline).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            After(message, attempt, ex);
            throw;
        }

        After(message, attempt, null);
    }

    private int Before(HttpMessage message)
    {
        int attempt = message.TryGetProperty(AttemptKey, out var previous) && previous is int n ? n + 1 : 1;
        message.SetProperty(AttemptKey, attempt);
        if (attempt > 1 && logger.IsEnabled(LogLevel.Warning))
        {
            string reason = message.TryGetProperty(FailureKey, out var failure) ? failure as string ?? "" : "";
            string operation = BlobAttempts.Current?.Operation ?? message.Request.Method + " " + message.Request.Uri.Path;
            TieringLog.Retrying(logger, operation, attempt - 1, maxAttempts, reason);
        }

        return attempt;
    }

    private static void After(HttpMessage message, int attempt, Exception? ex)
    {
        string? failure = null;
        if (ex is not null)
        {
            failure = ex.InnerException?.Message ?? ex.Message;
        }
        else if (message.HasResponse && message.Response.Status >= 400)
        {
            var code = message.Response.Headers.TryGetValue("x-ms-error-code", out var c) ? c : message.Response.ReasonPhrase;
            failure = $"HTTP {message.Response.Status} {code}";
        }

        if (failure is not null)
        {
            message.SetProperty(FailureKey, failure);
        }

        if (BlobAttempts.Current is { } call)
        {
            call.Attempts = attempt;
            if (failure is not null)
            {
                call.LastFailure = failure;
            }
        }
    }
}
