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

    /// <summary>Blob connection string, e.g. <c>UseDevelopmentStorage=true</c> for a local Azurite.</summary>
    public string? ConnectionString { get; set; }

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

        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            throw new ArgumentException("OrleansMQ:Storage:Tiering:ConnectionString must be set when tiering is enabled.");
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
            ConnectionString = ConnectionString,
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
}
