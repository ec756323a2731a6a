using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Win32.SafeHandles;

namespace OrleansMQ.Storage.Tiering;

/// <summary>
/// <see cref="IBlobStore"/> over the Azure Blob REST API with Shared Key authentication, for one
/// container. Works against Azure Storage (host-style endpoint) and Azurite (path-style endpoint).
/// </summary>
/// <remarks>
/// Ours because Azure.Storage.Blobs cannot be restored here; only the calls the tier makes are
/// implemented. Every request is retried with exponential backoff and jitter on 5xx, 408, 429,
/// per-attempt timeouts and connection failures, never on other 4xx. Each attempt is built from
/// scratch out of a buffer we own, so a retry never depends on re-reading a consumed stream.
/// </remarks>
public sealed class AzureBlobStore : IBlobStore, IDisposable
{
    /// <summary>The REST API version we speak; Azurite 3.x accepts it without --skipApiVersionCheck.</summary>
    internal const string ApiVersion = "2021-08-06";

    /// <summary>The service refuses a block list longer than this.</summary>
    private const int MaxBlocks = 50_000;

    private static readonly int[] NoExtraStatuses = [];

    private readonly BlobConnectionString _account;
    private readonly BlobStoreOptions _options;
    private readonly HttpClient _http;
    private readonly ILogger _logger;
    private readonly string _containerPath;

    public AzureBlobStore(BlobConnectionString account, string container, BlobStoreOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(account);
        ValidateContainerName(container);
        _account = account;
        Container = container;
        _options = options ?? new BlobStoreOptions();
        _options.Validate();
        _logger = logger ?? NullLogger.Instance;
        _containerPath = account.BlobEndpoint.AbsolutePath.TrimEnd('/') + "/" + container;
        _http = new HttpClient(new SocketsHttpHandler
        {
            // Connect is bounded separately so a black-holed endpoint fails fast inside the attempt.
            ConnectTimeout = _options.AttemptTimeout < TimeSpan.FromSeconds(15) ? _options.AttemptTimeout : TimeSpan.FromSeconds(15),
            // Recycle connections so DNS changes (storage failover) are picked up.
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
        })
        {
            // Time limits are ours, per attempt (see SendAsync); HttpClient's would cut retries short.
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    /// <summary>The container every operation works in.</summary>
    public string Container { get; }

    public void Dispose() => _http.Dispose();

    public async Task EnsureContainerAsync(CancellationToken cancellationToken = default)
    {
        var spec = new RequestSpec(HttpMethod.Put, null, $"Create Container '{Container}'") { Query = { new("restype", "container") } };
        await SendAsync(spec, [(int)HttpStatusCode.Conflict], async (response, _) =>
        {
            if (response.StatusCode == HttpStatusCode.Conflict && ErrorCodeHeader(response) != "ContainerAlreadyExists")
            {
                throw await ErrorAsync(spec, response, attempts: 1).ConfigureAwait(false);
            }

            return true;
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<BlobProperties> UploadAsync(string name, ReadOnlyMemory<byte> content, IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default)
    {
        ValidateBlobName(name);
        ValidateMetadata(metadata);
        if (content.Length <= _options.SingleUploadMaxBytes)
        {
            return await PutBlobAsync(name, content, metadata, cancellationToken).ConfigureAwait(false);
        }

        return await UploadBlocksAsync(name, (index, buffer, _) =>
        {
            long start = (long)index * _options.BlockSize;
            int n = (int)Math.Min(buffer.Length, content.Length - start);
            content.Slice((int)start, n).CopyTo(buffer);
            return ValueTask.FromResult(n);
        }, metadata, cancellationToken).ConfigureAwait(false);
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

        if (length <= _options.SingleUploadMaxBytes)
        {
            var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Max(length, 1));
            try
            {
                await ReadExactlyAsync(file, offset, buffer.AsMemory(0, (int)length), path, cancellationToken).ConfigureAwait(false);
                return await PutBlobAsync(name, buffer.AsMemory(0, (int)length), metadata, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        return await UploadBlocksAsync(name, async (index, buffer, ct) =>
        {
            long start = (long)index * _options.BlockSize;
            int n = (int)Math.Min(buffer.Length, Math.Max(0, length - start));
            await ReadExactlyAsync(file, offset + start, buffer[..n], path, ct).ConfigureAwait(false);
            return n;
        }, metadata, cancellationToken).ConfigureAwait(false);
    }

    public async Task<BlobProperties> UploadAsync(string name, Stream content, IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        ValidateBlobName(name);
        ValidateMetadata(metadata);

        // The length may be unknown, so peek one block: a stream that ends within it (and within
        // the single-upload limit) goes as one Put Blob, anything longer is staged in blocks.
        int peekSize = Math.Max(_options.BlockSize, 1);
        var first = ArrayPool<byte>.Shared.Rent(peekSize);
        try
        {
            int firstLength = await content.ReadAtLeastAsync(first.AsMemory(0, peekSize), peekSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            if (firstLength < peekSize && firstLength <= _options.SingleUploadMaxBytes)
            {
                return await PutBlobAsync(name, first.AsMemory(0, firstLength), metadata, cancellationToken).ConfigureAwait(false);
            }

            // Blocks are filled strictly in order (the pipeline asks for index 0, 1, 2, …).
            return await UploadBlocksAsync(name, async (index, buffer, ct) =>
            {
                if (index == 0)
                {
                    first.AsMemory(0, firstLength).CopyTo(buffer);
                    return firstLength;
                }

                return await content.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, ct).ConfigureAwait(false);
            }, metadata, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(first);
        }
    }

    public async Task<int> ReadRangeAsync(string name, long offset, Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        ValidateBlobName(name);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (destination.IsEmpty)
        {
            return 0;
        }

        long last = offset + destination.Length - 1;
        var spec = new RequestSpec(HttpMethod.Get, name, $"Get Blob '{name}' range {offset}-{last}")
        {
            // x-ms-range rather than Range: it is signed as a canonicalized header and needs no
            // special handling by HttpClient's typed Range header.
            Headers = { new("x-ms-range", $"bytes={offset.ToString(CultureInfo.InvariantCulture)}-{last.ToString(CultureInfo.InvariantCulture)}") },
        };
        return await SendAsync(spec, [(int)HttpStatusCode.RequestedRangeNotSatisfiable], async (response, ct) =>
        {
            if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
            {
                return 0; // offset at or past the end: EOF, as documented on IBlobStore
            }

            // Stream the body straight into the caller's buffer; a cut connection surfaces as an
            // IOException and the whole range is requested again.
            long expected = response.Content.Headers.ContentLength ?? -1;
            using var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
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

            if (expected >= 0 && total != expected)
            {
                throw new IOException($"Get Blob '{name}' returned {total} bytes, expected {expected}.");
            }

            return total;
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<BlobProperties?> GetPropertiesAsync(string name, CancellationToken cancellationToken = default)
    {
        ValidateBlobName(name);
        var spec = new RequestSpec(HttpMethod.Head, name, $"Get Blob Properties '{name}'");
        return await SendAsync(spec, [(int)HttpStatusCode.NotFound], async (response, _) =>
        {
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                // A missing container is a configuration error, not "no such blob".
                if (ErrorCodeHeader(response) == "ContainerNotFound")
                {
                    throw await ErrorAsync(spec, response, attempts: 1).ConfigureAwait(false);
                }

                return null;
            }

            var metadata = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var header in response.Headers)
            {
                if (header.Key.StartsWith("x-ms-meta-", StringComparison.OrdinalIgnoreCase))
                {
                    metadata[header.Key["x-ms-meta-".Length..]] = string.Join(',', header.Value);
                }
            }

            return new BlobProperties(
                name,
                response.Content.Headers.ContentLength ?? 0,
                NormalizeETag(response.Headers.ETag?.ToString() ?? ""),
                response.Content.Headers.LastModified ?? DateTimeOffset.MinValue,
                metadata);
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<BlobListPage> ListPageAsync(string prefix, string? marker = null, int? maxResults = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var spec = new RequestSpec(HttpMethod.Get, null, $"List Blobs '{Container}' prefix '{prefix}'")
        {
            Query = { new("restype", "container"), new("comp", "list") },
        };
        if (prefix.Length > 0)
        {
            spec.Query.Add(new("prefix", prefix));
        }

        if (!string.IsNullOrEmpty(marker))
        {
            spec.Query.Add(new("marker", marker));
        }

        if (maxResults is { } max)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(max, 1, nameof(maxResults));
            spec.Query.Add(new("maxresults", max.ToString(CultureInfo.InvariantCulture)));
        }

        return await SendAsync(spec, NoExtraStatuses, async (response, ct) =>
        {
            using var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            var doc = await XDocument.LoadAsync(body, LoadOptions.None, ct).ConfigureAwait(false);
            var root = doc.Root ?? throw new XmlException("List Blobs returned an empty document.");
            var items = new List<BlobItem>();
            foreach (var blob in root.Element("Blobs")?.Elements("Blob") ?? [])
            {
                var props = blob.Element("Properties");
                items.Add(new BlobItem(
                    (string?)blob.Element("Name") ?? "",
                    long.Parse((string?)props?.Element("Content-Length") ?? "0", CultureInfo.InvariantCulture),
                    NormalizeETag((string?)props?.Element("Etag") ?? ""),
                    ParseHttpDate((string?)props?.Element("Last-Modified"))));
            }

            var next = (string?)root.Element("NextMarker");
            return new BlobListPage(items, string.IsNullOrEmpty(next) ? null : next);
        }, cancellationToken).ConfigureAwait(false);
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

    public async Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        ValidateBlobName(name);
        var spec = new RequestSpec(HttpMethod.Delete, name, $"Delete Blob '{name}'");
        return await SendAsync(spec, [(int)HttpStatusCode.NotFound], async (response, _) =>
        {
            if (response.StatusCode != HttpStatusCode.NotFound)
            {
                return true;
            }

            // Deleting twice is fine (a retried delete whose first reply was lost lands here too);
            // deleting in a container that does not exist is a configuration error.
            if (ErrorCodeHeader(response) == "ContainerNotFound")
            {
                throw await ErrorAsync(spec, response, attempts: 1).ConfigureAwait(false);
            }

            return false;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Put Block: stages one block, invisible until a block list commits it. Internal so tests can leave blocks uncommitted.</summary>
    internal async Task StageBlockAsync(string name, string blockId, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var spec = new RequestSpec(HttpMethod.Put, name, $"Put Block '{name}' {blockId}")
        {
            Query = { new("comp", "block"), new("blockid", blockId) },
            Body = data,
            ContentMd5 = ContentMd5(data.Span),
        };
        await SendAsync(spec, NoExtraStatuses, (_, _) => Task.FromResult(true), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Get Block List: the sizes of the committed blocks and of the staged, uncommitted ones.
    /// Internal: tests use it to see how an upload was split and what a failed one left behind.
    /// </summary>
    internal async Task<(IReadOnlyList<long> Committed, IReadOnlyList<long> Uncommitted)> GetBlockListAsync(string name, CancellationToken cancellationToken = default)
    {
        var spec = new RequestSpec(HttpMethod.Get, name, $"Get Block List '{name}'")
        {
            Query = { new("comp", "blocklist"), new("blocklisttype", "all") },
        };
        return await SendAsync(spec, NoExtraStatuses, async (response, ct) =>
        {
            using var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            var root = (await XDocument.LoadAsync(body, LoadOptions.None, ct).ConfigureAwait(false)).Root;
            static List<long> Sizes(XElement? blocks) =>
                [.. (blocks?.Elements("Block") ?? []).Select(b => long.Parse((string?)b.Element("Size") ?? "0", CultureInfo.InvariantCulture))];
            return ((IReadOnlyList<long>)Sizes(root?.Element("CommittedBlocks")), (IReadOnlyList<long>)Sizes(root?.Element("UncommittedBlocks")));
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Block IDs must all have the same length within a blob. A per-upload random part keeps a
    /// retried upload's blocks apart from blocks a crashed earlier attempt left uncommitted.
    /// </summary>
    internal static string BlockId(string uploadId, int index) =>
        Convert.ToBase64String(Encoding.ASCII.GetBytes(uploadId + "-" + index.ToString("D6", CultureInfo.InvariantCulture)));

    private async Task<BlobProperties> PutBlobAsync(string name, ReadOnlyMemory<byte> content, IReadOnlyDictionary<string, string>? metadata, CancellationToken cancellationToken)
    {
        var spec = new RequestSpec(HttpMethod.Put, name, $"Put Blob '{name}' ({content.Length} bytes)")
        {
            Headers = { new("x-ms-blob-type", "BlockBlob") },
            Body = content,
            ContentType = "application/octet-stream",
            // The service recomputes the MD5 and refuses the upload if the bytes changed in transit.
            ContentMd5 = ContentMd5(content.Span),
        };
        AddMetadata(spec, metadata);
        return await SendAsync(spec, NoExtraStatuses, (response, _) => Task.FromResult(Committed(name, content.Length, response, metadata)), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Stages the blocks <paramref name="fill"/> yields (index 0, 1, … in order, until a short or
    /// empty block), at most <see cref="BlobStoreOptions.MaxParallelBlocks"/> in flight, then
    /// commits them with one Put Block List. Nothing is visible under <paramref name="name"/>
    /// (and an older blob of that name stays intact) until that commit succeeds.
    /// </summary>
    private async Task<BlobProperties> UploadBlocksAsync(
        string name,
        Func<int, Memory<byte>, CancellationToken, ValueTask<int>> fill,
        IReadOnlyDictionary<string, string>? metadata,
        CancellationToken cancellationToken)
    {
        int blockSize = _options.BlockSize;
        string uploadId = Guid.NewGuid().ToString("N");
        var ids = new List<string>();
        var staged = new List<Task>();
        long total = 0;
        using var gate = new SemaphoreSlim(_options.MaxParallelBlocks);
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            for (int index = 0; ; index++)
            {
                // One buffer per block in flight: memory stays bounded by MaxParallelBlocks × BlockSize,
                // and each block keeps its bytes until accepted, so its retries re-send the same data.
                await gate.WaitAsync(failed.Token).ConfigureAwait(false);
                var buffer = ArrayPool<byte>.Shared.Rent(blockSize);
                int n;
                try
                {
                    n = await fill(index, buffer.AsMemory(0, blockSize), failed.Token).ConfigureAwait(false);
                }
                catch
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    gate.Release();
                    throw;
                }

                if (n == 0)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    gate.Release();
                    break;
                }

                if (index >= MaxBlocks)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    gate.Release();
                    throw new ArgumentException($"'{name}' needs more than {MaxBlocks} blocks of {blockSize} bytes; raise BlockSize.", nameof(fill));
                }

                var id = BlockId(uploadId, index);
                ids.Add(id);
                total += n;
                staged.Add(StageOwnedBlockAsync(name, id, buffer, n, gate, failed));
                if (n < blockSize)
                {
                    break;
                }
            }

            await Task.WhenAll(staged).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Stop the other blocks and wait for them (they hold the gate and pooled buffers),
            // then report the first real failure, not the cancellations it caused.
            await failed.CancelAsync().ConfigureAwait(false);
            try
            {
                await Task.WhenAll(staged).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Collected below.
            }

            var cause = cancellationToken.IsCancellationRequested ? null : staged.Where(t => t.IsFaulted).Select(t => t.Exception!.InnerException!).FirstOrDefault(e => e is not OperationCanceledException);
            if (cause is not null)
            {
                ExceptionDispatchInfo.Throw(cause);
            }

            throw;
        }

        return await PutBlockListAsync(name, ids, total, metadata, cancellationToken).ConfigureAwait(false);
    }

    private async Task StageOwnedBlockAsync(string name, string id, byte[] buffer, int length, SemaphoreSlim gate, CancellationTokenSource failed)
    {
        try
        {
            await StageBlockAsync(name, id, buffer.AsMemory(0, length), failed.Token).ConfigureAwait(false);
        }
        catch
        {
            await failed.CancelAsync().ConfigureAwait(false);
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            gate.Release();
        }
    }

    private async Task<BlobProperties> PutBlockListAsync(string name, List<string> ids, long total, IReadOnlyDictionary<string, string>? metadata, CancellationToken cancellationToken)
    {
        var xml = new StringBuilder(64 + (ids.Count * 80));
        xml.Append("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
        foreach (var id in ids)
        {
            xml.Append("<Latest>").Append(id).Append("</Latest>"); // base64: no XML escaping needed
        }

        xml.Append("</BlockList>");
        var body = Encoding.UTF8.GetBytes(xml.ToString());
        var spec = new RequestSpec(HttpMethod.Put, name, $"Put Block List '{name}' ({ids.Count} blocks, {total} bytes)")
        {
            Query = { new("comp", "blocklist") },
            Headers = { new("x-ms-blob-content-type", "application/octet-stream") },
            Body = body,
            ContentType = "application/xml",
            ContentMd5 = ContentMd5(body),
        };
        AddMetadata(spec, metadata);
        return await SendAsync(spec, NoExtraStatuses, (response, _) => Task.FromResult(Committed(name, total, response, metadata)), cancellationToken).ConfigureAwait(false);
    }

    private static BlobProperties Committed(string name, long length, HttpResponseMessage response, IReadOnlyDictionary<string, string>? metadata) =>
        new(
            name,
            length,
            NormalizeETag(response.Headers.ETag?.ToString() ?? ""),
            response.Content.Headers.LastModified ?? DateTimeOffset.UtcNow,
            metadata is null ? new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) : new Dictionary<string, string>(metadata, StringComparer.OrdinalIgnoreCase));

    private static void AddMetadata(RequestSpec spec, IReadOnlyDictionary<string, string>? metadata)
    {
        if (metadata is null)
        {
            return;
        }

        foreach (var (key, value) in metadata)
        {
            spec.Headers.Add(new("x-ms-meta-" + key, value));
        }
    }

    /// <summary>
    /// Sends <paramref name="spec"/> until it succeeds, fails for good, or runs out of attempts.
    /// <paramref name="handle"/> sees 2xx responses and the <paramref name="extraStatuses"/>; it runs
    /// inside the attempt, so a body cut short (IOException) or too slow (attempt timeout) is retried too.
    /// </summary>
    private async Task<T> SendAsync<T>(RequestSpec spec, int[] extraStatuses, Func<HttpResponseMessage, CancellationToken, Task<T>> handle, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        string lastFailure = "";
        string lastCode = BlobStoreException.ConnectionFailedCode;
        Exception? lastException = null;
        for (int attempt = 1; ; attempt++)
        {
            using (var attemptCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                attemptCts.CancelAfter(_options.AttemptTimeout);
                try
                {
                    using var request = BuildRequest(spec);
                    using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, attemptCts.Token).ConfigureAwait(false);
                    int status = (int)response.StatusCode;
                    if (response.IsSuccessStatusCode || extraStatuses.Contains(status))
                    {
                        return await handle(response, attemptCts.Token).ConfigureAwait(false);
                    }

                    if (!IsRetryable(status) || attempt >= _options.MaxAttempts)
                    {
                        throw await ErrorAsync(spec, response, attempt).ConfigureAwait(false);
                    }

                    lastFailure = $"HTTP {status} {ErrorCodeHeader(response) ?? response.ReasonPhrase}";
                    lastException = null;
                }
                catch (XmlException ex)
                {
                    // A 2xx whose XML we cannot read will not parse better on a retry.
                    throw new BlobStoreException(0, "InvalidResponse", $"{spec.Operation} failed: the service's XML answer could not be parsed ({ex.Message}).", ex);
                }
                catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
                {
                    lastFailure = $"no complete answer within {_options.AttemptTimeout.TotalSeconds:0.###} s";
                    lastCode = BlobStoreException.TimeoutCode;
                    lastException = ex;
                }
                catch (HttpRequestException ex)
                {
                    lastFailure = ex.InnerException?.Message ?? ex.Message;
                    lastCode = BlobStoreException.ConnectionFailedCode;
                    lastException = ex;
                }
                catch (IOException ex)
                {
                    lastFailure = ex.Message;
                    lastCode = BlobStoreException.ConnectionFailedCode;
                    lastException = ex;
                }
            }

            if (attempt >= _options.MaxAttempts)
            {
                if (lastException is null)
                {
                    // Unreachable: a retryable status on the last attempt throws above.
                    throw new BlobStoreException(0, "Unknown", $"{spec.Operation} failed after {attempt} attempts: {lastFailure}.");
                }

                throw new BlobStoreException(
                    0,
                    lastCode,
                    $"{spec.Operation} failed: could not get an answer from the blob endpoint {_account.BlobEndpoint} after {attempt} attempts in {clock.Elapsed.TotalSeconds:0.0} s (last: {lastFailure}). Check that the storage service is running and reachable from this machine.",
                    lastException);
            }

            var delay = Backoff(attempt);
            TieringLog.Retrying(_logger, spec.Operation, attempt, _options.MaxAttempts, lastFailure, (long)delay.TotalMilliseconds);
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Exponential backoff with "equal jitter": half the step fixed, half random, so clients that failed together do not retry together.</summary>
    private TimeSpan Backoff(int attempt)
    {
        double step = Math.Min(_options.MaxRetryDelay.TotalMilliseconds, _options.InitialRetryDelay.TotalMilliseconds * Math.Pow(2, attempt - 1));
        return TimeSpan.FromMilliseconds((step / 2) + (Random.Shared.NextDouble() * step / 2));
    }

    /// <summary>5xx, 408 (request timeout) and 429 (throttled) are transient; every other 4xx will fail the same way again.</summary>
    private static bool IsRetryable(int status) => status >= 500 || status == 408 || status == 429;

    private HttpRequestMessage BuildRequest(RequestSpec spec)
    {
        string path = _containerPath + (spec.Blob is null ? "" : "/" + EscapeBlobName(spec.Blob));
        var query = string.Join('&', spec.Query.Select(q => Uri.EscapeDataString(q.Key) + "=" + Uri.EscapeDataString(q.Value)));
        var endpoint = _account.BlobEndpoint;
        var uri = new UriBuilder(endpoint.Scheme, endpoint.Host, endpoint.Port, path) { Query = query }.Uri;
        var request = new HttpRequestMessage(spec.Method, uri) { Version = HttpVersion.Version11 };
        if (spec.Body is { } body)
        {
            // A fresh content object over the same bytes for every attempt: nothing is consumed.
            var content = new ReadOnlyMemoryContent(body);
            content.Headers.ContentLength = body.Length;
            if (spec.ContentType is not null)
            {
                content.Headers.ContentType = new MediaTypeHeaderValue(spec.ContentType);
            }

            if (spec.ContentMd5 is not null)
            {
                content.Headers.ContentMD5 = spec.ContentMd5;
            }

            request.Content = content;
        }

        var msHeaders = new List<KeyValuePair<string, string>>(spec.Headers)
        {
            new("x-ms-date", DateTimeOffset.UtcNow.ToString("R", CultureInfo.InvariantCulture)),
            new("x-ms-version", ApiVersion),
            new("x-ms-client-request-id", Guid.NewGuid().ToString()),
        };
        foreach (var (key, value) in msHeaders)
        {
            request.Headers.TryAddWithoutValidation(key, value);
        }

        var c = request.Content?.Headers;
        string stringToSign = SharedKeySigner.StringToSign(
            spec.Method.Method,
            header => header switch
            {
                "Content-Length" => c?.ContentLength?.ToString(CultureInfo.InvariantCulture),
                "Content-MD5" => c?.ContentMD5 is { } md5 ? Convert.ToBase64String(md5) : null,
                "Content-Type" => c?.ContentType?.ToString(),
                _ => null, // the other standard headers are never sent by this client
            },
            msHeaders,
            _account.AccountName,
            uri.AbsolutePath,
            spec.Query);
        request.Headers.TryAddWithoutValidation("Authorization", SharedKeySigner.Authorization(_account.AccountName, _account.Key, stringToSign));
        return request;
    }

    /// <summary>Turns a failed response into a <see cref="BlobStoreException"/> whose message says what to check.</summary>
    private async Task<BlobStoreException> ErrorAsync(RequestSpec spec, HttpResponseMessage response, int attempts)
    {
        int status = (int)response.StatusCode;
        string? code = ErrorCodeHeader(response);
        string? serviceMessage = null;
        if (spec.Method != HttpMethod.Head)
        {
            try
            {
                // Error bodies are small XML documents: <Error><Code/><Message/></Error>.
                var xml = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
                if (xml.Length > 0)
                {
                    var root = XDocument.Parse(xml).Root;
                    code ??= (string?)root?.Element("Code");
                    serviceMessage = ((string?)root?.Element("Message"))?.Split('\n')[0].Trim();
                }
            }
            catch (Exception ex) when (ex is XmlException or IOException or HttpRequestException)
            {
                // The status and header code are enough; a garbled body must not hide them.
            }
        }

        code ??= response.StatusCode.ToString();

        // Azure answers a bad signature with AuthenticationFailed; Azurite answers it with
        // AuthorizationFailure and Azure's authentication message. Same cause, one code for callers.
        if (status == 403 && code == "AuthorizationFailure" && serviceMessage?.StartsWith("Server failed to authenticate", StringComparison.Ordinal) == true)
        {
            code = "AuthenticationFailed";
        }

        string hint = code switch
        {
            "AuthenticationFailed" => $"The service rejected the Shared Key signature for account '{_account.AccountName}': check the account key (AccountKey in the connection string) and that this machine's clock is correct.",
            "AuthorizationFailure" or "AuthorizationPermissionMismatch" => $"Account '{_account.AccountName}' may not do this: check the key's permissions and the storage firewall.",
            "ContainerNotFound" => $"Container '{Container}' does not exist: create it (EnsureContainerAsync) or check the container name.",
            "BlobNotFound" => $"Blob '{spec.Blob}' does not exist in container '{Container}'.",
            "Md5Mismatch" or "InvalidMd5" => "The bytes were changed in transit (Content-MD5 mismatch); the upload was refused.",
            "InvalidBlockList" or "InvalidBlobOrBlock" => "A block of the block list was not staged (or expired); upload the blob again.",
            _ => "",
        };
        string after = attempts > 1 ? $" after {attempts} attempts" : "";
        string text = $"{spec.Operation} failed{after}: HTTP {status} {code}" + (serviceMessage is null ? "." : $": {serviceMessage}") + (hint.Length > 0 ? " " + hint : "");
        return new BlobStoreException(status, code, text);
    }

    /// <summary>
    /// Content-MD5 is the integrity check the Blob protocol defines for request bodies (the service
    /// recomputes it and refuses mismatches); it is a checksum here, not a security measure.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5351:Do Not Use Broken Cryptographic Algorithms", Justification = "Content-MD5 is the protocol's transfer checksum, not used for security.")]
    private static byte[] ContentMd5(ReadOnlySpan<byte> data) => MD5.HashData(data);

    private static string? ErrorCodeHeader(HttpResponseMessage response) =>
        response.Headers.TryGetValues("x-ms-error-code", out var values) ? values.FirstOrDefault() : null;

    /// <summary>Listings give the ETag bare, headers give it quoted; callers compare them, so always quote.</summary>
    private static string NormalizeETag(string etag) =>
        etag.Length == 0 || etag.StartsWith('"') || etag.StartsWith("W/", StringComparison.Ordinal) ? etag : "\"" + etag + "\"";

    private static DateTimeOffset ParseHttpDate(string? value) =>
        DateTimeOffset.TryParseExact(value, "R", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed) ? parsed : DateTimeOffset.MinValue;

    /// <summary>Each path segment percent-encoded; '/' kept so names can look like folders.</summary>
    private static string EscapeBlobName(string name) => string.Join('/', name.Split('/').Select(Uri.EscapeDataString));

    private static async Task ReadExactlyAsync(SafeFileHandle file, long offset, Memory<byte> buffer, string path, CancellationToken cancellationToken)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            int n = await RandomAccess.ReadAsync(file, buffer[done..], offset + done, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                throw new EndOfStreamException($"'{path}' ended at {offset + done} while uploading it; it must not shrink during an upload.");
            }

            done += n;
        }
    }

    private static void ValidateContainerName(string container)
    {
        ArgumentNullException.ThrowIfNull(container);

        // The service's rule: 3-63 characters, lowercase letters, digits and single hyphens, starting and ending with a letter or digit.
        bool ok = container.Length is >= 3 and <= 63
            && container.All(ch => ch is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-')
            && container[0] != '-' && container[^1] != '-'
            && !container.Contains("--", StringComparison.Ordinal);
        if (!ok)
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

    /// <summary>Everything needed to build one attempt of a request from scratch.</summary>
    private sealed class RequestSpec(HttpMethod method, string? blob, string operation)
    {
        public HttpMethod Method { get; } = method;

        /// <summary>The blob name, or null for a container-level request.</summary>
        public string? Blob { get; } = blob;

        /// <summary>What the request does, for messages and logs ("Put Block List 'x' (3 blocks)").</summary>
        public string Operation { get; } = operation;

        public List<KeyValuePair<string, string>> Query { get; } = [];

        /// <summary>x-ms-* headers besides x-ms-date and x-ms-version, which every attempt sets fresh.</summary>
        public List<KeyValuePair<string, string>> Headers { get; } = [];

        public ReadOnlyMemory<byte>? Body { get; init; }

        public string? ContentType { get; init; }

        public byte[]? ContentMd5 { get; init; }
    }
}
