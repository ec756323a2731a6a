using System.Globalization;
using OrleansMQ.Storage;
using OrleansMQ.Storage.Log;

namespace OrleansMQ.Silo.Hosting;

/// <summary>
/// The bindable shape of the <c>OrleansMQ:Storage</c> configuration section. Plain values only,
/// so appsettings.json, <c>OrleansMQ__Storage__Flush=sync</c> and <c>--flush sync</c> all work;
/// <see cref="ToOptions"/> turns it into validated <see cref="StorageOptions"/>.
/// </summary>
public sealed class StorageSettings
{
    public string DataDirectory { get; set; } = "data";

    /// <summary>"async" (default) or "sync" (group commit).</summary>
    public string Flush { get; set; } = "async";

    public int FlushIntervalMs { get; set; } = 200;

    /// <summary>
    /// Async flush also runs once this many pages are dirty (default 1024 = 4 MiB). The interval
    /// bounds what a power loss can take; a small count only made the flusher wake (and msync)
    /// every 64 KiB — thousands of times a second under load, per silo.
    /// </summary>
    public int FlushDirtyPages { get; set; } = 1024;

    /// <summary>"blocking" (default) or "spin".</summary>
    public string PutLock { get; set; } = "blocking";

    public long SegmentSize { get; set; } = 1L << 30;

    public int MaxBatchBytes { get; set; } = 1_048_588;

    public double RetentionHours { get; set; } = 168;

    public long? RetentionBytes { get; set; }

    public double DiskFullThreshold { get; set; } = 0.95;

    /// <summary>How often retention runs. Default 10 s.</summary>
    public int CleanupIntervalMs { get; set; } = 10_000;

    /// <summary>The <c>Tiering</c> subsection: blob tier, off by default.</summary>
    public TieringSettings Tiering { get; set; } = new();

    public StorageOptions ToOptions()
    {
        var flush = Flush.Trim().ToLowerInvariant() switch
        {
            "async" => FlushPolicy.Async(TimeSpan.FromMilliseconds(FlushIntervalMs), FlushDirtyPages),
            "sync" => FlushPolicy.Sync(),
            _ => throw new ArgumentException($"OrleansMQ:Storage:Flush must be 'async' or 'sync'; got '{Flush}'."),
        };
        var putLock = PutLock.Trim().ToLowerInvariant() switch
        {
            "blocking" => PutLockKind.Blocking,
            "spin" => PutLockKind.Spin,
            _ => throw new ArgumentException($"OrleansMQ:Storage:PutLock must be 'blocking' or 'spin'; got '{PutLock}'."),
        };
        var options = new StorageOptions
        {
            DataDirectory = DataDirectory,
            FlushPolicy = flush,
            PutLock = putLock,
            SegmentSize = SegmentSize,
            MaxBatchBytes = MaxBatchBytes,
            RetentionTime = RetentionHours > 0 ? TimeSpan.FromHours(RetentionHours) : null,
            RetentionBytes = RetentionBytes,
            DiskFullThreshold = DiskFullThreshold,
            CleanupInterval = TimeSpan.FromMilliseconds(CleanupIntervalMs),
            Tiering = Tiering.ToOptions(),
        };
        options.Validate();
        return options;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"data={DataDirectory} flush={Flush} tiering={(Tiering.Enabled ? "on" : "off")}");
}
