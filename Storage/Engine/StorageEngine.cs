using System.Buffers;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OrleansMQ.Protocol.Batches;
using OrleansMQ.Storage.Log;
using OrleansMQ.Storage.Engine.Appends;
using OrleansMQ.Storage.Engine.Dispatch;
using OrleansMQ.Storage.Engine.Housekeeping;
using OrleansMQ.Storage.Engine.Partitions;
using OrleansMQ.Storage.Engine.Queries;
using OrleansMQ.Storage.Engine.Reads;
using OrleansMQ.Storage.Engine.Recovery;
using OrleansMQ.Storage.Engine.Truncation;
using OrleansMQ.Storage.Index;
using OrleansMQ.Storage.Tiering;

namespace OrleansMQ.Storage.Engine;

/// <summary>
/// The storage service of one silo: the narrow API the broker uses. Appends go to the one
/// CommitLog; a dispatcher thread builds each partition's ConsumeQueue and the key index behind
/// the writer; reads resolve offsets through the ConsumeQueue to CommitLog spans.
/// </summary>
/// <remarks>
/// This type holds the append path and wires the jobs, each in its own folder:
/// <c>Recovery/</c> (<see cref="Open"/>: checkpoint, CommitLog validation, queue and index cut-back,
/// replay), <c>Partitions/</c> (the partition table and its durable registry), <c>Dispatch/</c>
/// (the dispatcher thread), <c>Reads/</c> (reads by offset through segment sources: the local files,
/// then the blob tier behind them), <c>Queries/</c> (by time, by key) and <c>Housekeeping/</c>
/// (the disk guard, retention, the checkpoint, and their thread), <c>Appends/</c> (batch
/// validation) and <c>Truncation/</c> (follower truncation and DeleteRecords). <see cref="Dispose"/> is the
/// clean shutdown: it drains the dispatcher, flushes everything, writes the checkpoint and the
/// clean-shutdown marker.
/// </remarks>
public sealed partial class StorageEngine : IDisposable
{
    private readonly StorageOptions _options;
    private readonly ILogger _logger;
    private readonly string _root;
    private readonly CommitLog _log;
    private readonly IndexStore _index;
    private readonly PartitionTable _partitions;
    private readonly CommitLogDispatcher _dispatcher;
    private readonly DiskGuard _disk;
    private readonly CheckpointWriter _checkpoints;
    private readonly RetentionEnforcer _retention;
    private readonly Housekeeper _housekeeper;
    private readonly PartitionReader _reader;
    private readonly IndexQueries _queries;
    private readonly LeaderEpochQueries _epochs;
    private readonly LogTruncator _truncator;
    private readonly TieredStorage? _tier;
    private int _disposed;

    private StorageEngine(StorageOptions options, ILogger logger, TimeProvider time, string root, RecoveredStore recovered, Func<string, (long Total, long Available)>? diskProbe)
    {
        _options = options;
        _logger = logger;
        _root = root;
        _log = recovered.Log;
        _index = recovered.Index;
        _partitions = recovered.Partitions;
        _dispatcher = recovered.Dispatcher;
        _tier = recovered.Tier;
        Recovery = recovered.Report;
        _disk = new DiskGuard(diskProbe, root, options.DiskFullThreshold, logger);
        _checkpoints = new CheckpointWriter(root, _log, _partitions, _index, _dispatcher);
        _retention = new RetentionEnforcer(options, _log, _partitions, _index, _dispatcher, _tier, time);
        _housekeeper = new Housekeeper(options, _disk, _checkpoints, _retention, logger);

        // Reads ask the local files first, then the source behind them (the blob tier, if any).
        var local = new LocalSegmentSource(_log);
        ISegmentSource? offloaded = _tier is null ? null : new TieredSegmentSource(_tier);
        _reader = new PartitionReader(local, offloaded, logger);
        _queries = new IndexQueries(_index, local, offloaded);
        _epochs = new LeaderEpochQueries(local, offloaded, _log, _dispatcher);
        _truncator = new LogTruncator(_log, _dispatcher, logger);
    }

    /// <summary>The options in force.</summary>
    public StorageOptions Options => _options;

    /// <summary>The CommitLog (for metrics and the delivery layer).</summary>
    public CommitLog CommitLog => _log;

    /// <summary>CommitLog position below which every entry is in the ConsumeQueues and index.</summary>
    public long DispatchedPosition => _dispatcher.Position;

    /// <summary>The blob tier, or null when tiering is off.</summary>
    public TieredStorage? Tier => _tier;

    /// <summary>What recovery found at the last open.</summary>
    public RecoveryReport Recovery { get; }

    /// <summary>True while appends are refused because the disk is above the threshold.</summary>
    public bool IsStorageFull => _disk.IsFull;

    /// <summary>Every partition known to the engine.</summary>
    public IReadOnlyList<PartitionLog> Partitions => _partitions.Snapshot();

    /// <summary>
    /// Opens (and recovers) the engine in <see cref="StorageOptions.DataDirectory"/>.
    /// </summary>
    /// <param name="diskProbe">Reports (total, available) bytes of the file system holding a path;
    /// defaults to the real file system (statvfs through DriveInfo).</param>
    public static StorageEngine Open(StorageOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? time = null, Func<string, (long Total, long Available)>? diskProbe = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        loggerFactory ??= NullLoggerFactory.Instance;
        time ??= TimeProvider.System;
        var logger = loggerFactory.CreateLogger("OrleansMQ.Storage");
        var sw = Stopwatch.StartNew();
        string root = Path.GetFullPath(options.DataDirectory);
        Directory.CreateDirectory(root);
        LogOpening(logger, options);

        var recovered = LogRecovery.Run(options, root, loggerFactory, logger, time, sw);
        var engine = new StorageEngine(options, logger, time, root, recovered, diskProbe);
        engine.Start();
        return engine;
    }

    /// <summary>Recovery is done: the writer may wake the dispatcher; threads and the tier's loop start.</summary>
    private void Start()
    {
        _log.SetCommitListener(_dispatcher.OnCommitted);
        CheckDisk();
        _dispatcher.Start();
        _housekeeper.Start();
        _tier?.Start();
    }

    /// <summary>The partition, creating and registering it durably on first use.</summary>
    public PartitionLog GetOrCreatePartition(string topic, int partition, PartitionOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        return _partitions.GetOrCreate(topic, partition, options);
    }

    /// <summary>
    /// Deletes a partition (topic deletion): appends to it are refused from now on, its registry
    /// record is marked deleted (the id is never reused, since CommitLog entries still name it),
    /// and its ConsumeQueue files are removed at the next open. Its bytes in the CommitLog go
    /// with retention, like every other partition's. A new partition with the same topic and
    /// number starts again at offset 0.
    /// </summary>
    public void DeletePartition(PartitionLog partition)
    {
        ArgumentNullException.ThrowIfNull(partition);
        if (_partitions.Delete(partition))
        {
            partition.NotifyData();
        }
    }

    /// <summary>Changes a partition's options (e.g. turning key indexing on); durable.</summary>
    public void UpdatePartitionOptions(PartitionLog partition, PartitionOptions options)
    {
        ArgumentNullException.ThrowIfNull(partition);
        ArgumentNullException.ThrowIfNull(options);
        _partitions.UpdateOptions(partition, options);
    }

    public bool TryGetPartition(string topic, int partition, out PartitionLog log) => _partitions.TryGet(topic, partition, out log);

    /// <summary>
    /// Appends the RecordBatch(es) in <paramref name="batches"/> to the partition. Every batch is
    /// validated first (magic 2, lengths, size limit, CRC-32C); one bad batch refuses the whole call
    /// with nothing written. The ValueTask completes at the flush policy's durability point with
    /// the first batch's base offset and the last batch's last offset.
    /// </summary>
    public ValueTask<AppendResult> AppendAsync(PartitionLog partition, ReadOnlySpan<byte> batches)
    {
        CheckAppendable(partition);
        int limit = Math.Min(_options.MaxBatchBytes, partition.Options.MaxBatchBytes ?? int.MaxValue);
        int count = BatchValidation.ValidateAll(partition, batches, limit, out var firstInfo);
        if (count == 1)
        {
            return _log.Append(partition.Id, ref partition.NextOffset, batches, firstInfo);
        }

        return AppendManyAsync(partition, batches.ToArray());
    }

    /// <summary>
    /// A follower's append: the RecordBatches fetched from the partition's leader, stored byte for
    /// byte at the offsets they carry (base offset and partitionLeaderEpoch are kept, never
    /// restamped). Validated as <see cref="AppendAsync"/> validates (one bad batch refuses the call,
    /// nothing written), except that the partition's max.message.bytes does not apply (Kafka's
    /// followers take what the leader accepted; the engine's <see cref="StorageOptions.MaxBatchBytes"/>
    /// still does). The first batch's base offset must equal <see cref="PartitionLog.LogEndOffset"/>
    /// and each next one must follow the previous batch, else <see cref="StorageError.OffsetMismatch"/>
    /// with the expected and actual offsets. Any number of batches per call, written without a copy;
    /// the put lock is taken per batch, and the check is repeated there, so an append racing this one
    /// on the same partition (a caller bug) fails from the batch it displaced on, with the batches
    /// before it appended. Completes at the flush policy's durability point for the last batch.
    /// </summary>
    public ValueTask<AppendResult> AppendReplicaAsync(PartitionLog partition, ReadOnlySpan<byte> batches)
    {
        CheckAppendable(partition);
        BatchValidation.ValidateReplica(partition, batches, _options.MaxBatchBytes, partition.LogEndOffset);
        return _log.AppendReplica(partition.Id, ref partition.NextOffset, batches);
    }

    /// <summary>
    /// Follower truncation (Kafka's, after OffsetForLeaderEpoch): removes every batch at or above
    /// <paramref name="offset"/>. When <paramref name="offset"/> falls inside a batch the whole batch
    /// goes, i.e. the partition is truncated to that batch's base offset (callers pass batch
    /// boundaries). Afterwards <see cref="PartitionLog.LogEndOffset"/> and
    /// <see cref="PartitionLog.HighWatermark"/> equal that offset, readers and key lookups never see
    /// the removed batches again, and the next <see cref="AppendAsync"/> or
    /// <see cref="AppendReplicaAsync"/> is assigned from it. Long-poll waiters keep waiting for new
    /// data. Durable and crash-safe: the truncation is a marker entry in the CommitLog that the
    /// dispatcher and every recovery replay apply in log order (docs/storage.md, "Follower
    /// truncation"); other partitions keep appending meanwhile.
    /// </summary>
    /// <remarks>
    /// Blocks the calling thread until the dispatcher has applied the marker: normally a few
    /// milliseconds (dispatcher lag, one CommitLog flush up to the marker, the ConsumeQueue's msync,
    /// and an fsync of the partition registry when the partition is left empty); at most 30 s before
    /// it throws <see cref="StorageError.NotAvailable"/>. Do not append to the same partition
    /// concurrently (the replica fetcher serializes both). An offset at or above the log end is a
    /// no-op; one below <see cref="PartitionLog.LogStartOffset"/> throws
    /// <see cref="StorageError.OffsetOutOfRange"/> (<see cref="TruncateFullyAndStartAt"/> is the way
    /// to empty a partition and start it elsewhere).
    /// </remarks>
    public void TruncateTo(PartitionLog partition, long offset)
    {
        CheckOpen(partition);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        _truncator.TruncateTo(partition, offset);
    }

    /// <summary>
    /// Kafka's truncateFullyAndStartAt: removes every batch of the partition and starts it again at
    /// <paramref name="offset"/>, which may lie below or above the old log end. A follower does this
    /// when its leader's log start has passed the follower's log end (its fetch got
    /// OFFSET_OUT_OF_RANGE). Afterwards log start, high watermark and log end offset all equal
    /// <paramref name="offset"/>, durably (the same CommitLog marker as <see cref="TruncateTo"/>,
    /// and the log start in the partition registry). Blocks as <see cref="TruncateTo"/> does.
    /// </summary>
    public void TruncateFullyAndStartAt(PartitionLog partition, long offset)
    {
        CheckOpen(partition);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        _truncator.TruncateFullyAndStartAt(partition, offset);
    }

    /// <summary>
    /// Kafka DeleteRecords: moves the partition's log start offset to <paramref name="offset"/>,
    /// clamped to <see cref="PartitionLog.HighWatermark"/>, and returns the new log start (Kafka's
    /// low_watermark). Never moves it backwards. Durable: a marker in the CommitLog, applied (and
    /// the partition registry fsynced) by the dispatcher before this returns, so it orders with
    /// truncations on replay; blocks as <see cref="TruncateTo"/> does. Reads below it answer
    /// <see cref="ReadStatus.OffsetOutOfRange"/>, and
    /// <see cref="PartitionLog.LogStartOffset"/> (ListOffsets earliest) reports it. The offset may
    /// fall inside a batch: that batch is still served whole to a fetch at the new start. Files go
    /// with retention as before. An offset above <see cref="PartitionLog.LogEndOffset"/> (or
    /// negative) throws <see cref="StorageError.OffsetOutOfRange"/>.
    /// </summary>
    public long DeleteRecordsBefore(PartitionLog partition, long offset)
    {
        CheckOpen(partition);
        return _truncator.DeleteRecordsBefore(partition, offset);
    }

    private void CheckAppendable(PartitionLog partition)
    {
        CheckOpen(partition);
        if (_disk.IsFull)
        {
            throw new StorageException(StorageError.StorageFull, $"Storage is full: disk usage of {_root} is above {_options.DiskFullThreshold:P0}; appends resume when space is freed.");
        }
    }

    /// <summary>
    /// For the truncations and DeleteRecords: their 48-byte markers go into the preallocated segment
    /// even above the disk-full threshold (freeing space and following a leader must not wait for it).
    /// </summary>
    private void CheckOpen(PartitionLog partition)
    {
        ArgumentNullException.ThrowIfNull(partition);
        if (partition.IsDeleted)
        {
            throw new StorageException(StorageError.UnknownPartition, $"Partition {partition} was deleted.");
        }

        if (Volatile.Read(ref _disposed) != 0)
        {
            throw new StorageException(StorageError.NotAvailable, "The storage engine is closed.");
        }
    }

    private async ValueTask<AppendResult> AppendManyAsync(PartitionLog partition, byte[] batches)
    {
        // Rare (Kafka clients send one batch per partition); copying keeps the span out of the async state.
        AppendResult first = default, last = default;
        int offset = 0;
        for (int i = 0; offset < batches.Length; i++)
        {
            RecordBatch.TryReadInfo(batches.AsSpan(offset), out var info);
            var r = await _log.Append(partition.Id, ref partition.NextOffset, batches.AsSpan(offset, info.TotalLength), info).ConfigureAwait(false);
            if (i == 0)
            {
                first = r;
            }

            last = r;
            offset += info.TotalLength;
        }

        return first with { LastOffset = last.LastOffset, EndPosition = last.EndPosition };
    }

    /// <summary>
    /// Spans of whole batches starting with the batch that holds <paramref name="offset"/>, up to
    /// <paramref name="maxBytes"/> (the first batch is always returned, however large — Kafka's
    /// rule so a consumer can never get stuck). Each span is retained; release them all.
    /// </summary>
    public ReadStatus ReadSpans(PartitionLog partition, long offset, int maxBytes, List<LogSpan> spans) =>
        ReadSpans(partition, offset, maxBytes, spans, long.MaxValue);

    /// <summary>
    /// As <see cref="ReadSpans(PartitionLog, long, int, List{LogSpan})"/>, returning only batches whose
    /// base offset is below <paramref name="maxOffsetExclusive"/>: a consumer's fetch capped at the
    /// replicated high watermark. A fetch at or above the cap (and at most the log end) answers
    /// <see cref="ReadStatus.Ok"/> with no spans, not out of range: the data is coming.
    /// </summary>
    public ReadStatus ReadSpans(PartitionLog partition, long offset, int maxBytes, List<LogSpan> spans, long maxOffsetExclusive)
    {
        ArgumentNullException.ThrowIfNull(partition);
        ArgumentNullException.ThrowIfNull(spans);
        return _reader.ReadSpans(partition, offset, maxBytes, spans, maxOffsetExclusive);
    }

    /// <summary>Copying read: the same batches as <see cref="ReadSpans(PartitionLog, long, int, List{LogSpan})"/>, written to <paramref name="output"/>. Returns bytes written.</summary>
    public int Read(PartitionLog partition, long offset, int maxBytes, IBufferWriter<byte> output, out ReadStatus status) =>
        Read(partition, offset, maxBytes, output, long.MaxValue, out status);

    /// <summary>Copying read capped as <see cref="ReadSpans(PartitionLog, long, int, List{LogSpan}, long)"/> caps.</summary>
    public int Read(PartitionLog partition, long offset, int maxBytes, IBufferWriter<byte> output, long maxOffsetExclusive, out ReadStatus status)
    {
        ArgumentNullException.ThrowIfNull(partition);
        ArgumentNullException.ThrowIfNull(output);
        return _reader.Read(partition, offset, maxBytes, output, maxOffsetExclusive, out status);
    }

    /// <summary>
    /// The first offset of <paramref name="partition"/> whose batch is in the local CommitLog (the
    /// high watermark when none is): everything below it lives in the blob tier. Scans that only
    /// need recent data (producer state) start here instead of reading the tier.
    /// </summary>
    public long FirstLocalOffset(PartitionLog partition)
    {
        ArgumentNullException.ThrowIfNull(partition);
        return _reader.FirstLocalOffset(partition);
    }

    /// <summary>
    /// Reads offloaded batches (after <see cref="ReadSpans(PartitionLog, long, int, List{LogSpan})"/> said <see cref="ReadStatus.Remote"/>):
    /// the batches from the one holding <paramref name="offset"/>, copied into
    /// <paramref name="output"/>, up to <paramref name="maxBytes"/> (the first batch always), and
    /// only remote ones (the local ones that follow are served by the next zero-copy read). Blocks
    /// come through the tier's bounded cache with read-ahead. Each entry is checked as recovery
    /// checks the local log (header against the queue, both checksums) before a byte is served.
    /// Throws <see cref="StorageException"/> with <see cref="StorageError.TierUnavailable"/> when the
    /// blob service cannot be read.
    /// </summary>
    public ValueTask<(int Bytes, ReadStatus Status)> ReadRemoteAsync(PartitionLog partition, long offset, int maxBytes, IBufferWriter<byte> output, CancellationToken cancellationToken) =>
        ReadRemoteAsync(partition, offset, maxBytes, output, long.MaxValue, cancellationToken);

    /// <summary>Remote read capped as <see cref="ReadSpans(PartitionLog, long, int, List{LogSpan}, long)"/> caps.</summary>
    public ValueTask<(int Bytes, ReadStatus Status)> ReadRemoteAsync(PartitionLog partition, long offset, int maxBytes, IBufferWriter<byte> output, long maxOffsetExclusive, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(partition);
        ArgumentNullException.ThrowIfNull(output);
        return _reader.ReadRemoteAsync(partition, offset, maxBytes, output, maxOffsetExclusive, cancellationToken);
    }

    /// <summary>
    /// Kafka ListOffsets by time: the earliest offset whose record timestamp is at or after
    /// <paramref name="timestamp"/>, with that record's timestamp; null when none (Kafka answers
    /// -1). Found in O(log n) on the ConsumeQueue, then refined inside the batch when its codec is
    /// readable here.
    /// </summary>
    public (long Offset, long Timestamp)? FindOffsetByTimestamp(PartitionLog partition, long timestamp)
    {
        ArgumentNullException.ThrowIfNull(partition);
        return _queries.FindOffsetByTimestamp(partition, timestamp);
    }

    /// <summary>
    /// Records of the partition whose key equals <paramref name="key"/> and whose timestamp is in
    /// [<paramref name="fromTimestamp"/>, <paramref name="toTimestamp"/>], newest first (RocketMQ's
    /// query by key). Needs <see cref="PartitionOptions.IndexKeys"/>. Hash hits are confirmed
    /// against the stored record, so collisions never leak into the answer.
    /// </summary>
    public IReadOnlyList<KeyLookupHit> LookupByKey(PartitionLog partition, ReadOnlySpan<byte> key, long fromTimestamp, long toTimestamp, int maxResults)
    {
        ArgumentNullException.ThrowIfNull(partition);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxResults, 1);
        return _queries.LookupByKey(partition, key, fromTimestamp, toTimestamp, maxResults);
    }

    /// <summary>
    /// Kafka OffsetForLeaderEpoch for one partition: the largest leader epoch at or below
    /// <paramref name="leaderEpoch"/> that the partition's batches carry, and the offset where it
    /// ends — the base offset of the first batch with a higher epoch, or the log end offset when
    /// <paramref name="leaderEpoch"/> is the latest epoch. As Kafka answers: (-1, -1) for a negative
    /// epoch or one above every epoch held (or when no batch carries an epoch);
    /// (<paramref name="leaderEpoch"/>, start of the first epoch) when it is below every epoch held.
    /// Epochs come from the partitionLeaderEpoch of the stored batches (never decreasing along the
    /// log: the leader stamps them, followers copy them), found by binary search; batches without
    /// one (-1) count for none. Waits for the dispatcher to index what is written (milliseconds);
    /// offloaded batches are read through the blob tier (blocking).
    /// </summary>
    public (int LeaderEpoch, long EndOffset) EndOffsetForLeaderEpoch(PartitionLog partition, int leaderEpoch)
    {
        ArgumentNullException.ThrowIfNull(partition);
        return _epochs.EndOffsetFor(partition, leaderEpoch);
    }

    /// <summary>The leader epoch of the partition's last batch (what a follower asks its leader about), or -1 when it has none.</summary>
    public int LatestLeaderEpoch(PartitionLog partition)
    {
        ArgumentNullException.ThrowIfNull(partition);
        return _epochs.LatestLeaderEpoch(partition);
    }

    /// <summary>Flushes the CommitLog now (whatever the policy), then queues and index, and writes the checkpoint.</summary>
    public void Flush()
    {
        _log.FlushCommitted();
        _checkpoints.Write();
    }

    /// <summary>Size of the data folder's file system at the last disk check (bytes; 0 before the first).</summary>
    public long DiskTotalBytes => _disk.TotalBytes;

    /// <summary>Space available on the data folder's file system at the last disk check (bytes).</summary>
    public long DiskAvailableBytes => _disk.AvailableBytes;

    /// <summary>Re-reads disk usage and sets or clears the storage-full state.</summary>
    public void CheckDisk() => _disk.Check();

    /// <summary>
    /// Deletes whole segments past retention time or the size budget, oldest first, and moves each
    /// partition's log start. A segment's age is the engine clock's now minus its largest record
    /// timestamp (Kafka's rule; see <see cref="Segment.RetentionTimestamp"/>), never its file time.
    /// </summary>
    public void EnforceRetention() => _retention.Enforce();

    /// <summary>
    /// Clean shutdown: refuse new appends, let the dispatcher catch up, flush the CommitLog, queues
    /// and index, write the checkpoint and the clean-shutdown marker.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _log.StopAppends(); // refuses new appends and flushes what was committed
        _housekeeper.Stop();
        _dispatcher.Stop();
        _tier?.Dispose();   // after housekeeping, its only other caller; an upload in flight is abandoned and redone next run
        _dispatcher.DrainAll();

        _checkpoints.Write();
        foreach (var p in _partitions.ById)
        {
            p?.Queue.Dispose();
        }

        _index.Dispose();
        _log.Dispose();
        LogRecovery.MarkCleanShutdown(_root);
        _dispatcher.Dispose();
        _housekeeper.Dispose();
        LogClosed(_logger, _log.CommittedPosition);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Storage opening: {Options}")]
    private static partial void LogOpening(ILogger logger, StorageOptions options);

    [LoggerMessage(Level = LogLevel.Information, Message = "Storage closed cleanly at position {Position}")]
    private static partial void LogClosed(ILogger logger, long position);
}
