using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Azure;
using Azure.Core;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace OrleansMQ.Storage.Tiering;

/// <summary>
/// <see cref="IBlobStore"/> over Azure.Storage.Blobs, for one container. Authenticates with a
/// connection string (Shared Key; <c>UseDevelopmentStorage=true</c> for Azurite) or with an account
/// URL and a token credential (managed identity in Azure).
/// </summary>
/// <remarks>
/// The SDK does the REST protocol, signing, block splitting and retries. What stays ours: the
/// retry policy's settings (<see cref="BlobStoreOptions"/>; the SDK's policy is the only retry
/// layer and retries only transient failures: 408, 429, 5xx, timeouts, connection errors), errors
/// as one <see cref="BlobStoreException"/> that says what to check, ranged reads into the caller's
/// buffer, "missing" answered as null/false/0 where the contract says so, and metadata checks.
/// </remarks>
public sealed class AzureBlobStore : IBlobStore, IDisposable
{
    /// <summary>
    /// The REST API version we speak. Pinned below the SDK's default so Azurite 3.35 (which checks
    /// the version and knows up to 2025-11-05) accepts it without --skipApiVersionCheck.
    /// </summary>
    internal const BlobClientOptions.ServiceVersion ApiVersion = BlobClientOptions.ServiceVersion.V2025_11_05;

    private readonly BlobContainerClient _container;
    private readonly BlobStoreOptions _options;
    private readonly StorageTransferOptions _transfer;
    private readonly UploadTransferValidationOptions _validation;

    /// <summary>
    /// Ranged reads ask for no transactional checksum: every entry read from the tier is checked
    /// by TieredStorage against its own CRC-32C (and the batch's) before it is served, end to end,
    /// so a second, per-request checksum ("Auto" lets the SDK version pick one) would only cost CPU.
    /// </summary>
    private static readonly DownloadTransferValidationOptions NoDownloadValidation = new() { ChecksumAlgorithm = StorageChecksumAlgorithm.None };

    private AzureBlobStore(BlobServiceClient service, string container, BlobStoreOptions options)
    {
        _options = options;
        _container = service.GetBlobContainerClient(container);
        Container = container;
        _transfer = new StorageTransferOptions
        {
            // The SDK takes one Put Blob up to InitialTransferSize and stages MaximumTransferSize
            // blocks above it, MaximumConcurrency at once, each in a pooled buffer of its own.
            InitialTransferSize = Math.Max(1, options.SingleUploadMaxBytes),
            MaximumTransferSize = options.BlockSize,
            MaximumConcurrency = options.MaxParallelBlocks,
        };

        // The service recomputes the checksum of every request body and refuses a mismatch.
        _validation = new UploadTransferValidationOptions { ChecksumAlgorithm = options.Checksum ? StorageChecksumAlgorithm.MD5 : StorageChecksumAlgorithm.None };
    }

    /// <summary>The container every operation works in.</summary>
    public string Container { get; }

    /// <summary>The container's URL (never carries a key), for messages.</summary>
    public Uri Endpoint => _container.Uri;

    /// <summary>A store authenticated by a connection string (<c>UseDevelopmentStorage=true</c> or <c>AccountName=…;AccountKey=…</c>).</summary>
    /// <exception cref="FormatException">The connection string is malformed (the message never repeats it).</exception>
    public static AzureBlobStore FromConnectionString(string connectionString, string container, BlobStoreOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        ValidateContainerName(container);
        options ??= new BlobStoreOptions();
        options.Validate();
        BlobServiceClient service;
        try
        {
            service = new BlobServiceClient(connectionString, ClientOptions(options, logger));
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidOperationException)
        {
            // The SDK's parser messages do not repeat values, but its inner exceptions might; drop them.
            throw new FormatException($"Blob connection string is not valid ({ex.GetType().Name}: {FirstLine(ex.Message)}). Expected e.g. 'UseDevelopmentStorage=true' or 'DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…'.");
        }

        return new AzureBlobStore(service, container, options);
    }

    /// <summary>A store at <paramref name="accountUrl"/> (<c>https://ACCOUNT.blob.core.windows.net</c>) authenticated by <paramref name="credential"/> (DefaultAzureCredential: managed identity in Azure).</summary>
    public static AzureBlobStore FromAccountUrl(Uri accountUrl, TokenCredential credential, string container, BlobStoreOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(accountUrl);
        ArgumentNullException.ThrowIfNull(credential);
        ValidateContainerName(container);
        options ??= new BlobStoreOptions();
        options.Validate();
        return new AzureBlobStore(new BlobServiceClient(accountUrl, credential, ClientOptions(options, logger)), container, options);
    }

    /// <summary>Nothing to release: the SDK's clients share its pooled HTTP transport.</summary>
    public void Dispose()
    {
    }

    public Task EnsureContainerAsync(CancellationToken cancellationToken = default) =>
        RunAsync($"Create Container '{Container}'", null, async ct =>
        {
            await _container.CreateIfNotExistsAsync(cancellationToken: ct).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    public Task<BlobProperties> UploadAsync(string name, ReadOnlyMemory<byte> content, IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default)
    {
        ValidateBlobName(name);
        ValidateMetadata(metadata);
        return WithLeftoversClearedAsync(name, () => { }, () => RunAsync($"Upload '{name}' ({content.Length} bytes)", name, async ct =>
        {
            var info = await _container.GetBlobClient(name).UploadAsync(BinaryData.FromBytes(content), UploadOptions(metadata), ct).ConfigureAwait(false);
            return Committed(name, content.Length, info.Value, metadata);
        }, cancellationToken), cancellationToken);
    }

    public async Task<BlobProperties> UploadFileAsync(string name, string path, long offset, long length, IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default)
    {
        ValidateBlobName(name);
        ValidateMetadata(metadata);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.Asynchronous);
        if (RandomAccess.GetLength(file) < offset + length)
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"'{path}' has {RandomAccess.GetLength(file)} bytes, fewer than offset {offset} + length {length}.");
        }

        // Seekable with a known length: the SDK splits it into blocks and rewinds a block to retry it.
        await using var range = new FileRangeStream(file, offset, length, path);
        return await WithLeftoversClearedAsync(name, () => range.Position = 0, () => RunAsync($"Upload '{name}' from '{path}' ({length} bytes)", name, async ct =>
        {
            var info = await _container.GetBlobClient(name).UploadAsync(range, UploadOptions(metadata), ct).ConfigureAwait(false);
            return Committed(name, length, info.Value, metadata);
        }, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    public async Task<BlobProperties> UploadAsync(string name, Stream content, IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        ValidateBlobName(name);
        ValidateMetadata(metadata);

        // The SDK reads a stream of unknown length once, block by block, into pooled buffers it
        // keeps until the block is accepted, so a retry never re-reads the source.
        await using var counted = new CountingReadStream(content);
        return await RunAsync($"Upload '{name}' from a stream", name, async ct =>
        {
            var info = await _container.GetBlobClient(name).UploadAsync(counted, UploadOptions(metadata), ct).ConfigureAwait(false);
            return Committed(name, counted.BytesRead, info.Value, metadata);
        }, cancellationToken).ConfigureAwait(false);
    }

    public Task<int> ReadRangeAsync(string name, long offset, Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        ValidateBlobName(name);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (destination.IsEmpty)
        {
            return Task.FromResult(0);
        }

        return RunAsync($"Get Blob '{name}' range {offset}-{offset + destination.Length - 1}", name, async ct =>
        {
            Response<BlobDownloadStreamingResult> response;
            try
            {
                response = await _container.GetBlobClient(name).DownloadStreamingAsync(new BlobDownloadOptions { Range = new HttpRange(offset, destination.Length), TransferValidation = NoDownloadValidation }, ct).ConfigureAwait(false);
            }
            catch (RequestFailedException ex) when (ex.Status == 416)
            {
                return 0; // offset at or past the end: EOF, as documented on IBlobStore
            }

            // Stream the body straight into the caller's buffer; the SDK's stream resumes a cut
            // body with a ranged request of its own (pinned to the blob's ETag).
            using var result = response.Value;
            using var body = result.Content;
            int total = 0;
            while (total < destination.Length)
            {
                int n = await body.ReadAsync(destination[total..], ct).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                total += n;
            }

            return total;
        }, cancellationToken, rawIoIsTransport: true);
    }

    public Task<BlobProperties?> GetPropertiesAsync(string name, CancellationToken cancellationToken = default)
    {
        ValidateBlobName(name);
        return RunAsync($"Get Blob Properties '{name}'", name, async ct =>
        {
            Azure.Storage.Blobs.Models.BlobProperties props;
            try
            {
                props = (await _container.GetBlobClient(name).GetPropertiesAsync(cancellationToken: ct).ConfigureAwait(false)).Value;
            }
            catch (RequestFailedException ex) when (ex.ErrorCode == BlobErrorCode.BlobNotFound)
            {
                // Only "no such blob": a missing container is a configuration error and is thrown.
                return null;
            }

            return (BlobProperties?)new BlobProperties(name, props.ContentLength, NormalizeETag(props.ETag), props.LastModified, new Dictionary<string, string>(props.Metadata, StringComparer.OrdinalIgnoreCase));
        }, cancellationToken);
    }

    public Task<BlobListPage> ListPageAsync(string prefix, string? marker = null, int? maxResults = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (maxResults is { } max)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(max, 1, nameof(maxResults));
        }

        return RunAsync($"List Blobs '{Container}' prefix '{prefix}'", null, async ct =>
        {
            var pages = _container.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix.Length == 0 ? null : prefix, ct)
                .AsPages(string.IsNullOrEmpty(marker) ? null : marker, maxResults);
            await foreach (var page in pages.ConfigureAwait(false))
            {
                var items = new List<BlobItem>(page.Values.Count);
                foreach (var blob in page.Values)
                {
                    items.Add(new BlobItem(blob.Name, blob.Properties.ContentLength ?? 0, NormalizeETag(blob.Properties.ETag ?? default), blob.Properties.LastModified ?? DateTimeOffset.MinValue));
                }

                return new BlobListPage(items, string.IsNullOrEmpty(page.ContinuationToken) ? null : page.ContinuationToken);
            }

            return new BlobListPage([], null);
        }, cancellationToken);
    }

    public async IAsyncEnumerable<BlobItem> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string? marker = null;
        do
        {
            var page = await ListPageAsync(prefix, marker, null, cancellationToken).ConfigureAwait(false);
            foreach (var item in page.Items)
            {
                yield return item;
            }

            marker = page.NextMarker;
        }
        while (marker is not null);
    }

    public Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        ValidateBlobName(name);
        return RunAsync($"Delete Blob '{name}'", name, async ct =>
        {
            try
            {
                await _container.GetBlobClient(name).DeleteAsync(cancellationToken: ct).ConfigureAwait(false);
                return true;
            }
            catch (RequestFailedException ex) when (ex.ErrorCode == BlobErrorCode.BlobNotFound)
            {
                // Deleting twice is fine (a retried delete whose first reply was lost lands here too);
                // deleting in a container that does not exist is a configuration error (thrown).
                return false;
            }
        }, cancellationToken);
    }

    /// <summary>
    /// Runs a rewindable upload; if the service refuses its blocks because uncommitted blocks with
    /// IDs of another length are pending under the same name (all IDs of a blob must have one
    /// length: a crashed upload of the hand-written client left 52-character IDs, the SDK's are
    /// shorter), and no committed blob of that name exists, discards those blocks and uploads again.
    /// Without this the name would be unusable until the service expires the blocks (7 days).
    /// </summary>
    private async Task<BlobProperties> WithLeftoversClearedAsync(string name, Action rewind, Func<Task<BlobProperties>> upload, CancellationToken cancellationToken)
    {
        try
        {
            return await upload().ConfigureAwait(false);
        }
        catch (BlobStoreException ex) when (ex.ErrorCode == "InvalidBlobOrBlock")
        {
            if (await GetPropertiesAsync(name, cancellationToken).ConfigureAwait(false) is not null)
            {
                throw; // a committed blob is there: committing an empty list would replace it
            }

            await RunAsync($"Discard uncommitted blocks of '{name}'", name, async ct =>
            {
                // An empty block list commits nothing and drops every uncommitted block; the empty
                // blob it leaves is deleted at once (nothing refers to a blob before its manifest).
                var blob = _container.GetBlockBlobClient(name);
                await blob.CommitBlockListAsync([], cancellationToken: ct).ConfigureAwait(false);
                await blob.DeleteIfExistsAsync(cancellationToken: ct).ConfigureAwait(false);
                return true;
            }, cancellationToken).ConfigureAwait(false);
            rewind();
            return await upload().ConfigureAwait(false);
        }
    }

    /// <summary>Put Block: stages one block, invisible until a block list commits it. Internal so tests can leave blocks uncommitted.</summary>
    internal Task StageBlockAsync(string name, string blockId, ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
        RunAsync($"Put Block '{name}' {blockId}", name, async ct =>
        {
            await _container.GetBlockBlobClient(name).StageBlockAsync(blockId, BinaryData.FromBytes(data).ToStream(), cancellationToken: ct).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    /// <summary>
    /// Get Block List: the sizes of the committed blocks and of the staged, uncommitted ones.
    /// Internal: tests use it to see how an upload was split and what a failed one left behind.
    /// </summary>
    internal Task<(IReadOnlyList<long> Committed, IReadOnlyList<long> Uncommitted)> GetBlockListAsync(string name, CancellationToken cancellationToken = default) =>
        RunAsync($"Get Block List '{name}'", name, async ct =>
        {
            var list = (await _container.GetBlockBlobClient(name).GetBlockListAsync(BlockListTypes.All, cancellationToken: ct).ConfigureAwait(false)).Value;
            return ((IReadOnlyList<long>)[.. list.CommittedBlocks.Select(b => b.SizeLong)], (IReadOnlyList<long>)[.. list.UncommittedBlocks.Select(b => b.SizeLong)]);
        }, cancellationToken);

    /// <summary>Block IDs must all have the same length within a blob (tests stage blocks by hand with these).</summary>
    internal static string BlockId(string uploadId, int index) =>
        Convert.ToBase64String(Encoding.ASCII.GetBytes(uploadId + "-" + index.ToString("D6", CultureInfo.InvariantCulture)));

    private static BlobClientOptions ClientOptions(BlobStoreOptions options, ILogger? logger)
    {
        var client = new BlobClientOptions(ApiVersion);

        // The only retry layer. The SDK retries 408, 429, 500, 502, 503, 504, per-attempt timeouts
        // and connection failures with exponential backoff and jitter; never other 4xx.
        client.Retry.Mode = RetryMode.Exponential;
        client.Retry.MaxRetries = options.MaxAttempts - 1;
        client.Retry.Delay = options.InitialRetryDelay;
        client.Retry.MaxDelay = options.MaxRetryDelay;
        client.Retry.NetworkTimeout = options.AttemptTimeout;
        client.Diagnostics.ApplicationId = "OrleansMQ";
        client.AddPolicy(new BlobAttemptPolicy(logger ?? NullLogger.Instance, options.MaxAttempts), HttpPipelinePosition.PerRetry);
        return client;
    }

    private BlobUploadOptions UploadOptions(IReadOnlyDictionary<string, string>? metadata) => new()
    {
        Metadata = metadata?.ToDictionary(kv => kv.Key, kv => kv.Value),
        HttpHeaders = new BlobHttpHeaders { ContentType = "application/octet-stream" },
        TransferOptions = _transfer,
        TransferValidation = _validation,
    };

    /// <summary>
    /// Runs one SDK call with its <see cref="BlobAttempts"/> visible to the pipeline, and turns its
    /// failures into <see cref="BlobStoreException"/>. The caller's cancellation passes through as is.
    /// </summary>
    private async Task<T> RunAsync<T>(string operation, string? blob, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken, bool rawIoIsTransport = false)
    {
        var attempts = new BlobAttempts(operation);
        BlobAttempts.Current = attempts;
        long started = Stopwatch.GetTimestamp();
        try
        {
            return await call(cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status != 0)
        {
            throw BlobFailures.FromResponse(ex, attempts, _container.AccountName, Container, blob);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested
            && (rawIoIsTransport || ex is not (IOException or HttpRequestException))
            && BlobFailures.FromTransport(ex, attempts, _container.Uri, Stopwatch.GetElapsedTime(started)) is { } failure)
        {
            throw failure;
        }
    }

    private static BlobProperties Committed(string name, long length, BlobContentInfo info, IReadOnlyDictionary<string, string>? metadata) =>
        new(
            name,
            length,
            NormalizeETag(info.ETag),
            info.LastModified,
            metadata is null ? new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) : new Dictionary<string, string>(metadata, StringComparer.OrdinalIgnoreCase));

    /// <summary>Callers compare ETags from listings and from properties: always the quoted header form.</summary>
    private static string NormalizeETag(ETag etag)
    {
        string value = etag.ToString();
        return value.Length == 0 || value.StartsWith('"') || value.StartsWith("W/", StringComparison.Ordinal) ? value : "\"" + value + "\"";
    }

    private static string FirstLine(string text) => text.Split('\n')[0].Trim();

    private static void ValidateContainerName(string container)
    {
        ArgumentNullException.ThrowIfNull(container);
        if (!TieringOptions.IsValidContainerName(container))
        {
            throw new ArgumentException($"'{container}' is not a valid container name: 3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit.", nameof(container));
        }
    }

    private static void ValidateBlobName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Length > 1024)
        {
            throw new ArgumentException("A blob name has at most 1024 characters.", nameof(name));
        }
    }

    /// <summary>Metadata travels as x-ms-meta-NAME headers: names must be C# identifiers (the service's rule), values printable ASCII.</summary>
    private static void ValidateMetadata(IReadOnlyDictionary<string, string>? metadata)
    {
        if (metadata is null)
        {
            return;
        }

        foreach (var (key, value) in metadata)
        {
            bool nameOk = key.Length > 0 && (char.IsAsciiLetter(key[0]) || key[0] == '_') && key.All(ch => char.IsAsciiLetterOrDigit(ch) || ch == '_');
            if (!nameOk)
            {
                throw new ArgumentException($"Metadata name '{key}' is not valid: use ASCII letters, digits and '_', not starting with a digit.", nameof(metadata));
            }

            if (value is null || value.Any(ch => ch is < ' ' or > '~'))
            {
                throw new ArgumentException($"Metadata '{key}' must have a printable ASCII value (it is sent as an HTTP header).", nameof(metadata));
            }
        }
    }
}
