using OrleansMQ.Storage.Tiering;

namespace OrleansMQ.Silo.Hosting;

/// <summary>
/// The bindable <c>OrleansMQ:Storage:Tiering</c> section (docs/tiering.md). Off by default, so the
/// embedded default needs no blob service. Total retention is <c>OrleansMQ:Storage:RetentionHours</c>
/// and <c>RetentionBytes</c>, which count both tiers when tiering is on.
/// </summary>
public sealed class TieringSettings
{
    public bool Enabled { get; set; }

    /// <summary>Blob connection string, e.g. <c>UseDevelopmentStorage=true</c> for a local Azurite. Exactly one of this and <see cref="AccountUrl"/>.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// The account's blob endpoint (<c>https://ACCOUNT.blob.core.windows.net</c>), reached with
    /// DefaultAzureCredential: the pod's or VM's managed identity in Azure. Exactly one of this and
    /// <see cref="ConnectionString"/>.
    /// </summary>
    public string? AccountUrl { get; set; }

    /// <summary>Another name for <see cref="AccountUrl"/> (the Azure SDK's configuration calls it serviceUri).</summary>
    public string? ServiceUri { get; set; }

    /// <summary>Client id of a user-assigned managed identity (with <see cref="AccountUrl"/>); unset for the system-assigned one.</summary>
    public string? ManagedIdentityClientId { get; set; }

    /// <summary>
    /// Blobs live under <c>&lt;OrleansMQ:Cluster:ClusterId&gt;/&lt;OrleansMQ:Broker:NodeId&gt;/</c>; with this on
    /// (the default), blobs an older version wrote at the container's root are still found (docs/tiering.md).
    /// </summary>
    public bool ReadUnprefixedBlobs { get; set; } = true;

    public string Container { get; set; } = "orleansmq";

    /// <summary>Age of a sealed segment before it is uploaded and its local file deleted. Default 1 hour.</summary>
    public long LocalRetentionMs { get; set; } = 3_600_000;

    /// <summary>Remote read cache size. Default 64 MiB.</summary>
    public long CacheBytes { get; set; } = 64L << 20;

    /// <summary>Ranged read and cache block size. Default 1 MiB.</summary>
    public int ReadBlockSize { get; set; } = 1 << 20;

    /// <summary>Blocks fetched ahead of a sequential remote reader (0 = off). Default 1; 4 read 1.4-1.8x faster in docs/benchmarks.md but hold more of the cache per reader.</summary>
    public int ReadAheadBlocks { get; set; } = 1;

    public int UploadConcurrency { get; set; } = 2;

    public int CheckIntervalMs { get; set; } = 10_000;

    /// <summary>Attempts per blob request before an upload round is given up (it is retried at the next check).</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>The options, or null when tiering is off. Throws <see cref="ArgumentException"/> naming the bad setting.</summary>
    public TieringOptions? ToOptions()
    {
        if (!Enabled)
        {
            return null;
        }

        bool hasUrl = !string.IsNullOrWhiteSpace(AccountUrl);
        bool hasServiceUri = !string.IsNullOrWhiteSpace(ServiceUri);
        if (hasUrl && hasServiceUri && !string.Equals(AccountUrl, ServiceUri, StringComparison.Ordinal))
        {
            throw new ArgumentException("OrleansMQ:Storage:Tiering:AccountUrl and OrleansMQ:Storage:Tiering:ServiceUri name the same setting and differ; give one.");
        }

        string? url = hasUrl ? AccountUrl : hasServiceUri ? ServiceUri : null;
        bool hasConnectionString = !string.IsNullOrWhiteSpace(ConnectionString);
        if (hasConnectionString == (url is not null))
        {
            throw new ArgumentException(hasConnectionString
                ? "OrleansMQ:Storage:Tiering:ConnectionString and OrleansMQ:Storage:Tiering:AccountUrl are both set; give exactly one (a connection string with a key, or the account URL used with the managed identity)."
                : "OrleansMQ:Storage:Tiering:ConnectionString or OrleansMQ:Storage:Tiering:AccountUrl must be set when tiering is enabled (e.g. 'UseDevelopmentStorage=true' for Azurite, or 'https://ACCOUNT.blob.core.windows.net' with a managed identity).");
        }

        Uri? accountUrl = null;
        if (url is not null && !Uri.TryCreate(url, UriKind.Absolute, out accountUrl))
        {
            throw new ArgumentException($"OrleansMQ:Storage:Tiering:AccountUrl must be an absolute URL such as https://ACCOUNT.blob.core.windows.net; got '{url}'.");
        }

        if (LocalRetentionMs < 0 || CheckIntervalMs < 1)
        {
            throw new ArgumentException($"OrleansMQ:Storage:Tiering:LocalRetentionMs must be >= 0 and CheckIntervalMs >= 1; got {LocalRetentionMs} and {CheckIntervalMs}.");
        }

        if (MaxAttempts < 1)
        {
            throw new ArgumentException($"OrleansMQ:Storage:Tiering:MaxAttempts must be >= 1; got {MaxAttempts}.");
        }

        var options = new TieringOptions
        {
            ConnectionString = hasConnectionString ? ConnectionString : null,
            AccountUrl = accountUrl,
            ManagedIdentityClientId = string.IsNullOrWhiteSpace(ManagedIdentityClientId) ? null : ManagedIdentityClientId,
            ReadUnprefixedBlobs = ReadUnprefixedBlobs,
            Container = Container,
            LocalRetention = TimeSpan.FromMilliseconds(LocalRetentionMs),
            CacheBytes = CacheBytes,
            ReadBlockSize = ReadBlockSize,
            ReadAheadBlocks = ReadAheadBlocks,
            UploadConcurrency = UploadConcurrency,
            CheckInterval = TimeSpan.FromMilliseconds(CheckIntervalMs),
            BlobStore = new BlobStoreOptions { MaxAttempts = MaxAttempts },
        };
        try
        {
            options.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException("OrleansMQ:Storage:" + ex.Message, ex);
        }

        return options;
    }

    /// <summary>Where a silo's blobs live in a shared container: <c>&lt;cluster id&gt;/&lt;node id&gt;/</c>.</summary>
    public static string BlobPrefix(string clusterId, int nodeId) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{clusterId.Trim('/')}/{nodeId}/");
}
