namespace OrleansMQ.Storage.Tiering;

/// <summary>Sizes, parallelism, checksums and the retry policy of <see cref="AzureBlobStore"/> (handed to the Azure SDK's transfer and retry options).</summary>
public sealed class BlobStoreOptions
{
    /// <summary>Uploads up to this size go as one Put Blob; larger ones are staged in blocks. The service limit for one Put Blob is far higher; this keeps a retry cheap.</summary>
    public int SingleUploadMaxBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>Size of each staged block (the last one may be shorter). At most 50,000 blocks make a blob, so this also bounds the largest upload.</summary>
    public int BlockSize { get; set; } = 8 * 1024 * 1024;

    /// <summary>Blocks of one upload in flight at once; each holds one <see cref="BlockSize"/> buffer.</summary>
    public int MaxParallelBlocks { get; set; } = 4;

    /// <summary>Send an MD5 of every request body (Content-MD5), which the service checks before it accepts the bytes. Default on.</summary>
    public bool Checksum { get; set; } = true;

    /// <summary>Attempts per request, the first included, for retryable failures (5xx, 408, 429, timeouts, connection errors).</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>Delay before the first retry; doubled each retry, capped by <see cref="MaxRetryDelay"/>, with jitter.</summary>
    public TimeSpan InitialRetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Upper bound of one backoff delay.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Time one attempt may wait for the service (the SDK's network timeout: the response, and each read of its body) before it is abandoned and retried.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(60);

    internal void Validate()
    {
        if (BlockSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(BlockSize), BlockSize, "BlockSize must be at least 1 byte.");
        }

        if (SingleUploadMaxBytes < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(SingleUploadMaxBytes), SingleUploadMaxBytes, "SingleUploadMaxBytes must not be negative.");
        }

        if (MaxParallelBlocks <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxParallelBlocks), MaxParallelBlocks, "MaxParallelBlocks must be at least 1.");
        }

        if (MaxAttempts <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxAttempts), MaxAttempts, "MaxAttempts must be at least 1.");
        }

        if (AttemptTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(AttemptTimeout), AttemptTimeout, "AttemptTimeout must be positive.");
        }
    }
}
