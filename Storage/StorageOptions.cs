using System.Diagnostics.Metrics;
using System.Text;
using OrleansMQ.Storage.Log;

namespace OrleansMQ.Storage;

/// <summary>
/// Settings of one silo's storage engine. Every default serves a single embedded node.
/// <see cref="Validate"/> runs when the engine opens; <see cref="ToString"/> prints the
/// effective configuration for the startup log.
/// </summary>
public sealed class StorageOptions
{
    public const long MinSegmentSize = 1L << 20;
    public const long MaxSegmentSize = 1L << 40;

    /// <summary>
    /// The meter the engine records its own instruments on (the host's, from its IMeterFactory);
    /// null: none. Today the CommitLog's flush latency, a histogram recorded once per flush pass.
    /// </summary>
    public Meter? Meter { get; set; }

    /// <summary>Root of the data directory. Default <c>./data</c>.</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>CommitLog segment file size. Default 1 GiB; at least 1 MiB; a multiple of the page size.</summary>
    public long SegmentSize { get; set; } = 1L << 30;

    /// <summary>When appends count as done. Default async (200 ms / 16 pages).</summary>
    public FlushPolicy FlushPolicy { get; set; } = FlushPolicy.Async();

    /// <summary>Put-lock strategy. Default blocking.</summary>
    public PutLockKind PutLock { get; set; } = PutLockKind.Blocking;

    /// <summary>Largest RecordBatch accepted, bytes (Kafka's message.max.bytes default 1048588). Per-partition limits may be lower.</summary>
    public int MaxBatchBytes { get; set; } = 1_048_588;

    /// <summary>
    /// Entries per ConsumeQueue file (32 bytes each). Default 32,768 = 1 MiB: files are
    /// preallocated per partition, so 10,000 partitions reserve 10 GiB at this size (80 GiB at 8 MiB).
    /// </summary>
    public int ConsumeQueueEntriesPerFile { get; set; } = 32_768;

    /// <summary>Hash slots per IndexFile. Default 1,000,000.</summary>
    public int IndexSlotCount { get; set; } = 1_000_000;

    /// <summary>Entries per IndexFile. Default 4,000,000.</summary>
    public int IndexEntriesPerFile { get; set; } = 4_000_000;

    /// <summary>
    /// Segments older than this are deleted. Default 7 days (Kafka's log.retention.hours=168). Null:
    /// keep forever. A segment's age is measured from its largest record timestamp on the engine's
    /// TimeProvider, as Kafka measures it (docs/storage.md), not from its file's modification time.
    /// </summary>
    public TimeSpan? RetentionTime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Oldest segments are deleted while the CommitLog is larger than this. Null (default): no size budget.</summary>
    public long? RetentionBytes { get; set; }

    /// <summary>How often retention and disk usage are checked. Default 10 s.</summary>
    public TimeSpan CleanupInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Appends fail with <see cref="StorageError.StorageFull"/> while the data disk is fuller than this fraction. Default 0.95.</summary>
    public double DiskFullThreshold { get; set; } = 0.95;

    /// <summary>How often the checkpoint file is rewritten. Default 1 s.</summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Prepare (preallocate and pre-fault) the next segment ahead of the writer. Default on.</summary>
    public bool PrepareNextSegment { get; set; } = true;

    /// <summary>
    /// Tiered storage (docs/tiering.md): sealed segments move to a blob container and are read back
    /// on demand; <see cref="RetentionTime"/> and <see cref="RetentionBytes"/> then count both tiers.
    /// Null (default): off, nothing leaves the local disk.
    /// </summary>
    public Tiering.TieringOptions? Tiering { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(DataDirectory))
        {
            throw new ArgumentException("DataDirectory must be set.", nameof(DataDirectory));
        }

        if (SegmentSize < MinSegmentSize || SegmentSize > MaxSegmentSize || SegmentSize % Environment.SystemPageSize != 0)
        {
            throw new ArgumentException($"SegmentSize must be between {MinSegmentSize} and {MaxSegmentSize} bytes and a multiple of the page size ({Environment.SystemPageSize}); got {SegmentSize}.", nameof(SegmentSize));
        }

        if (MaxBatchBytes < 64 || MaxBatchBytes > SegmentSize - EntryFormat.HeaderSize - EntryFormat.MinBlankSize)
        {
            throw new ArgumentException($"MaxBatchBytes must be between 64 and SegmentSize - {EntryFormat.HeaderSize + EntryFormat.MinBlankSize} ({SegmentSize - EntryFormat.HeaderSize - EntryFormat.MinBlankSize}); got {MaxBatchBytes}.", nameof(MaxBatchBytes));
        }

        if (ConsumeQueueEntriesPerFile < 2)
        {
            throw new ArgumentException("ConsumeQueueEntriesPerFile must be at least 2.", nameof(ConsumeQueueEntriesPerFile));
        }

        if (IndexSlotCount < 1 || IndexEntriesPerFile < 1)
        {
            throw new ArgumentException("IndexSlotCount and IndexEntriesPerFile must be positive.", nameof(IndexSlotCount));
        }

        if (RetentionTime is { } rt && rt <= TimeSpan.Zero)
        {
            throw new ArgumentException("RetentionTime must be positive (or null for no time limit).", nameof(RetentionTime));
        }

        if (RetentionBytes is { } rb && rb < SegmentSize)
        {
            throw new ArgumentException($"RetentionBytes must be at least one segment ({SegmentSize}); got {rb}.", nameof(RetentionBytes));
        }

        if (DiskFullThreshold is <= 0 or > 1)
        {
            throw new ArgumentException($"DiskFullThreshold must be in (0, 1]; got {DiskFullThreshold}.", nameof(DiskFullThreshold));
        }

        if (CleanupInterval <= TimeSpan.Zero || CheckpointInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException("CleanupInterval and CheckpointInterval must be positive.", nameof(CleanupInterval));
        }

        ArgumentNullException.ThrowIfNull(FlushPolicy);
        Tiering?.Validate();
    }

    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append("data=").Append(Path.GetFullPath(DataDirectory));
        sb.Append(" segment=").Append(SegmentSize);
        sb.Append(" flush=").Append(FlushPolicy);
        sb.Append(" putLock=").Append(PutLock);
        sb.Append(" maxBatch=").Append(MaxBatchBytes);
        sb.Append(" cqEntriesPerFile=").Append(ConsumeQueueEntriesPerFile);
        sb.Append(" index=").Append(IndexSlotCount).Append('/').Append(IndexEntriesPerFile);
        sb.Append(" retention=").Append(RetentionTime?.ToString() ?? "none").Append('/').Append(RetentionBytes?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none");
        sb.Append(" diskFull=").Append(DiskFullThreshold.ToString(System.Globalization.CultureInfo.InvariantCulture));
        sb.Append(" tiering=").Append(Tiering?.ToString() ?? "off");
        return sb.ToString();
    }
}
