namespace OrleansMQ.Storage.Tiering;

/// <summary>
/// The object-store operations the tier needs, over one container. Kept this small so our own
/// REST client (<see cref="AzureBlobStore"/>) can be swapped for the Azure SDK where it restores.
/// </summary>
/// <remarks>
/// A blob becomes visible only when it is complete: small uploads are one Put Blob, large ones
/// stage blocks that stay invisible until the single, atomic Put Block List. A crash mid-upload
/// therefore never leaves a readable half segment, only uncommitted blocks the service discards.
/// </remarks>
public interface IBlobStore
{
    /// <summary>Creates the container if it does not exist; succeeds when it already does.</summary>
    Task EnsureContainerAsync(CancellationToken cancellationToken = default);

    /// <summary>Uploads <paramref name="content"/> as blob <paramref name="name"/>, replacing any blob of that name.</summary>
    Task<BlobProperties> UploadAsync(string name, ReadOnlyMemory<byte> content, IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Uploads <paramref name="length"/> bytes of the file at <paramref name="path"/> starting at
    /// <paramref name="offset"/> (a sealed segment). Each block is read from the file into its own
    /// buffer, so a retried block re-sends exactly the same bytes.
    /// </summary>
    Task<BlobProperties> UploadFileAsync(string name, string path, long offset, long length, IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Uploads everything <paramref name="content"/> yields until its end. The stream is read once,
    /// in block-sized buffers that are kept until their block is accepted (retries never re-read it).
    /// </summary>
    Task<BlobProperties> UploadAsync(string name, Stream content, IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads up to <c>destination.Length</c> bytes of blob <paramref name="name"/> starting at
    /// <paramref name="offset"/> straight into <paramref name="destination"/> (no whole-blob buffering).
    /// Returns how many bytes were read: fewer than asked when the range crosses the end of the blob,
    /// 0 when <paramref name="offset"/> is at or past the end (the same contract as <see cref="Stream.ReadAsync(Memory{byte}, CancellationToken)"/>).
    /// A missing blob throws <see cref="BlobStoreException"/> with code BlobNotFound.
    /// </summary>
    Task<int> ReadRangeAsync(string name, long offset, Memory<byte> destination, CancellationToken cancellationToken = default);

    /// <summary>Length, ETag, last-modified time and metadata of a committed blob; null when there is none.</summary>
    Task<BlobProperties?> GetPropertiesAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>One page of committed blobs whose names start with <paramref name="prefix"/>, in name order.</summary>
    Task<BlobListPage> ListPageAsync(string prefix, string? marker = null, int? maxResults = null, CancellationToken cancellationToken = default);

    /// <summary>Every committed blob whose name starts with <paramref name="prefix"/>, following continuation markers.</summary>
    IAsyncEnumerable<BlobItem> ListAsync(string prefix, CancellationToken cancellationToken = default);

    /// <summary>Deletes the blob; true when it existed, false when there was nothing to delete.</summary>
    Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default);
}

/// <summary>What the service says about one committed blob.</summary>
/// <param name="Name">The blob name inside the container.</param>
/// <param name="Length">Content length in bytes.</param>
/// <param name="ETag">The entity tag, quotes included as the service sends it.</param>
/// <param name="LastModified">When the blob was last written.</param>
/// <param name="Metadata">The x-ms-meta-* pairs, names compared case-insensitively.</param>
public sealed record BlobProperties(string Name, long Length, string ETag, DateTimeOffset LastModified, IReadOnlyDictionary<string, string> Metadata);

/// <summary>One entry of a listing.</summary>
public sealed record BlobItem(string Name, long Length, string ETag, DateTimeOffset LastModified);

/// <summary>One page of a listing; <see cref="NextMarker"/> is null on the last page.</summary>
public sealed record BlobListPage(IReadOnlyList<BlobItem> Items, string? NextMarker);
