using System.Globalization;
using System.Text;

namespace OrleansMQ.Storage.Tiering;

/// <summary>
/// Tiered storage settings (docs/tiering.md). Tiering is on when <see cref="StorageOptions.Tiering"/>
/// is set; it is null by default, so an embedded node needs no blob service. Total retention is the
/// engine's own <see cref="StorageOptions.RetentionTime"/> / <see cref="StorageOptions.RetentionBytes"/>,
/// applied across both tiers.
/// </summary>
public sealed class TieringOptions
{
    /// <summary>
    /// Blob service connection string (Shared Key): <c>UseDevelopmentStorage=true</c> for a local
    /// Azurite, or <c>DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…</c>. Exactly one of
    /// this and <see cref="AccountUrl"/>.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// The account's blob endpoint, <c>https://ACCOUNT.blob.core.windows.net</c>, reached with
    /// DefaultAzureCredential (managed identity in Azure; environment, workload identity or the
    /// Azure CLI elsewhere). Exactly one of this and <see cref="ConnectionString"/>.
    /// </summary>
    public Uri? AccountUrl { get; set; }

    /// <summary>Client id of the user-assigned managed identity to use with <see cref="AccountUrl"/>; null for the system-assigned one.</summary>
    public string? ManagedIdentityClientId { get; set; }

    /// <summary>
    /// Where this silo's blobs live in the container, <c>&lt;cluster id&gt;/&lt;node id&gt;/</c>, so
    /// silos can share one container; null or empty puts them at the root (the layout before the prefix).
    /// </summary>
    public string? BlobPrefix { get; set; }

    /// <summary>
    /// With <see cref="BlobPrefix"/>: also list, read and delete blobs at the container's root that
    /// have no prefixed twin (data written before the prefix existed). Default on; turn it off when
    /// the root holds blobs that are not this silo's.
    /// </summary>
    public bool ReadUnprefixedBlobs { get; set; } = true;

    /// <summary>Container holding this silo's segments and manifests. One container per silo: blob names are positions of this silo's CommitLog.</summary>
    public string Container { get; set; } = "orleansmq";

    /// <summary>
    /// A sealed segment is uploaded once it is older than this, and its local file is deleted once the
    /// upload is verified. Its age is measured as local retention measures it: from its largest record
    /// timestamp, on the engine's TimeProvider. Zero offloads at the first check after a roll.
    /// </summary>
    public TimeSpan LocalRetention { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Bytes of remote data kept in memory for remote reads (blocks of <see cref="ReadBlockSize"/>). Default 64 MiB.</summary>
    public long CacheBytes { get; set; } = 64L << 20;

    /// <summary>Size of one ranged read and one cache block. Default 1 MiB.</summary>
    public int ReadBlockSize { get; set; } = 1 << 20;

    /// <summary>
    /// Blocks downloaded ahead of the last one a read touched, so a sequential consumer finds them
    /// arriving. Default 1; 0 turns read-ahead off (random readers, or measuring what it buys).
    /// </summary>
    public int ReadAheadBlocks { get; set; } = 1;

    /// <summary>Segments uploaded at once. Default 2.</summary>
    public int UploadConcurrency { get; set; } = 2;

    /// <summary>How often the offloader looks for segments to upload and retries failed work. Default 10 s.</summary>
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Retry and block settings of the blob client; null for its defaults.</summary>
    public BlobStoreOptions? BlobStore { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting (never repeating the connection string).</summary>
    public void Validate()
    {
        bool hasConnectionString = !string.IsNullOrWhiteSpace(ConnectionString);
        if (hasConnectionString == (AccountUrl is not null))
        {
            throw new ArgumentException(
                hasConnectionString
                    ? "Tiering.ConnectionString and Tiering.AccountUrl are both set; give exactly one (a connection string with a key, or an account URL used with DefaultAzureCredential)."
                    : "Tiering.ConnectionString or Tiering.AccountUrl must be set (e.g. 'UseDevelopmentStorage=true' for Azurite, or 'https://ACCOUNT.blob.core.windows.net' with a managed identity).",
                hasConnectionString ? nameof(AccountUrl) : nameof(ConnectionString));
        }

        if (hasConnectionString)
        {
            try
            {
                // Parsed once here so a bad string fails at start, not at the first upload.
                AzureBlobStore.FromConnectionString(ConnectionString!, IsValidContainerName(Container) ? Container : "check");
            }
            catch (FormatException ex)
            {
                // No inner exception: the SDK's might quote the string, key included.
                throw new ArgumentException($"Tiering.ConnectionString is invalid: {ex.Message}", nameof(ConnectionString));
            }
        }
        else if (!AccountUrl!.IsAbsoluteUri || (AccountUrl.Scheme != Uri.UriSchemeHttps && AccountUrl.Scheme != Uri.UriSchemeHttp) || !string.IsNullOrEmpty(AccountUrl.Query))
        {
            throw new ArgumentException($"Tiering.AccountUrl must be the account's blob endpoint, an absolute https URL without a query (e.g. https://ACCOUNT.blob.core.windows.net); got '{AccountUrl}'.", nameof(AccountUrl));
        }

        if (!string.IsNullOrEmpty(ManagedIdentityClientId) && AccountUrl is null)
        {
            throw new ArgumentException("Tiering.ManagedIdentityClientId is only used with Tiering.AccountUrl (a connection string carries its own key).", nameof(ManagedIdentityClientId));
        }

        if (!string.IsNullOrEmpty(BlobPrefix) && (!BlobPrefix.EndsWith('/') || BlobPrefix.StartsWith('/') || BlobPrefix.Contains("//", StringComparison.Ordinal)))
        {
            throw new ArgumentException($"Tiering.BlobPrefix must look like 'cluster/node/' (ending with one '/', not starting with one); got '{BlobPrefix}'.", nameof(BlobPrefix));
        }

        if (!IsValidContainerName(Container))
        {
            throw new ArgumentException($"Tiering.Container must be 3-63 characters of lowercase letters, digits and single hyphens, starting and ending with a letter or digit; got '{Container}'.", nameof(Container));
        }

        if (LocalRetention < TimeSpan.Zero)
        {
            throw new ArgumentException("Tiering.LocalRetention must not be negative.", nameof(LocalRetention));
        }

        if (ReadBlockSize < 4096 || ReadBlockSize > 64 << 20)
        {
            throw new ArgumentException($"Tiering.ReadBlockSize must be between 4096 and {64 << 20} bytes; got {ReadBlockSize}.", nameof(ReadBlockSize));
        }

        if (CacheBytes < 2L * ReadBlockSize)
        {
            throw new ArgumentException($"Tiering.CacheBytes must hold at least two read blocks ({2L * ReadBlockSize} bytes); got {CacheBytes}.", nameof(CacheBytes));
        }

        // Blocks read ahead must fit in the cache beside the one being read, or they would evict it.
        if (ReadAheadBlocks < 0 || (ReadAheadBlocks + 1L) * ReadBlockSize > CacheBytes)
        {
            throw new ArgumentException($"Tiering.ReadAheadBlocks must be between 0 and CacheBytes / ReadBlockSize - 1 ({(CacheBytes / ReadBlockSize) - 1}); got {ReadAheadBlocks}.", nameof(ReadAheadBlocks));
        }

        if (UploadConcurrency is < 1 or > 64)
        {
            throw new ArgumentException($"Tiering.UploadConcurrency must be between 1 and 64; got {UploadConcurrency}.", nameof(UploadConcurrency));
        }

        if (CheckInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException("Tiering.CheckInterval must be positive.", nameof(CheckInterval));
        }

        BlobStore?.Validate();
    }

    /// <summary>The Azure rule for container names.</summary>
    internal static bool IsValidContainerName(string? name)
    {
        if (name is null || name.Length is < 3 or > 63 || name[0] == '-' || name[^1] == '-' || name.Contains("--", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (char c in name)
        {
            if (!(c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"account={(AccountUrl is null ? "connection string" : AccountUrl.ToString())} container={Container} prefix={BlobPrefix} localRetention={LocalRetention} cache={CacheBytes} block={ReadBlockSize} readAhead={ReadAheadBlocks} uploads={UploadConcurrency} check={CheckInterval}");
        return sb.ToString();
    }
}
