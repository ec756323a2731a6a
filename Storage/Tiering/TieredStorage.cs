using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using OrleansMQ.Protocol.Batches;
using OrleansMQ.Storage.Log;

namespace OrleansMQ.Storage.Tiering;

/// <summary>
/// The remote tier of one silo's CommitLog (docs/tiering.md): uploads sealed segments with their
/// manifests on its own task, keeps the table of remote segments (rebuilt from the manifests at
/// start), serves ranged reads through a bounded block cache, and deletes remote segments that
/// total retention drops. Never on the append path: the engine only asks it questions
/// (<see cref="Find"/>, <see cref="IsRemote"/>) when a queue entry points below the local log.
/// </summary>
public sealed partial class TieredStorage : IDisposable
{
    private const string SegmentCrcMetadata = "omqcrc32c";
    private const string TableFile = "remote.json";

    private readonly TieringOptions _options;
    private readonly IBlobStore _store;
    private readonly bool _ownsStore;
    private readonly CommitLog _log;
    private readonly Func<long> _dispatched;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly string _directory;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly Lock _tableLock = new();
    private readonly List<TierManifest> _pendingDeletes = new();   // guarded by _tableLock
    private readonly RemoteReadCache _cache;
    private TierManifest[] _segments = [];                          // sorted by start; copy-on-write
    private Task _loop = Task.CompletedTask;
    private volatile bool _loaded;
    private volatile string? _lastError;
    private int _changed;
    private long _uploadedSegments;
    private long _uploadFailures;

    /// <param name="options">Validated tiering options.</param>
    /// <param name="directory">Local folder for the table copy (<c>&lt;data&gt;/tier</c>).</param>
    /// <param name="log">The CommitLog whose sealed segments are offloaded.</param>
    /// <param name="dispatched">Position below which every entry is in the ConsumeQueues (only such segments go).</param>
    /// <param name="store">The blob store; null builds one from the options (and owns it).</param>
    internal TieredStorage(TieringOptions options, string directory, CommitLog log, Func<long> dispatched, ILogger logger, TimeProvider time, IBlobStore? store = null)
    {
        _options = options;
        _directory = directory;
        _log = log;
        _dispatched = dispatched;
        _logger = logger;
        _time = time;
        if (store is null)
        {
            _store = BlobStoreFactory.Create(options, logger);
            _ownsStore = true;
        }
        else
        {
            _store = store;
        }

        _cache = new RemoteReadCache(_store, options.ReadBlockSize, options.CacheBytes, _stop.Token, options.ReadAheadBlocks);
        Directory.CreateDirectory(directory);
        LoadLocalTable();
    }

    /// <summary>True once the manifests were listed from the blob service since start (the table is then the truth).</summary>
    public bool IsLoaded => _loaded;

    /// <summary>The remote segments, oldest first.</summary>
    public IReadOnlyList<TierManifest> Segments => Volatile.Read(ref _segments);

    /// <summary>Start of the oldest remote segment, or null when none is known.</summary>
    public long? FirstPosition => Volatile.Read(ref _segments) is { Length: > 0 } s ? s[0].StartPosition : null;

    /// <summary>The last failure of the offloader or of a listing (cleared on success), for health reports.</summary>
    public string? LastError => _lastError;

    public long UploadedSegments => Interlocked.Read(ref _uploadedSegments);

    public long UploadFailures => Interlocked.Read(ref _uploadFailures);

    /// <summary>Remote segments whose blob deletion is still to be done (retried while the service is away).</summary>
    public int PendingDeletes
    {
        get
        {
            lock (_tableLock)
            {
                return _pendingDeletes.Count;
            }
        }
    }

    internal RemoteReadCache Cache => _cache;

    /// <summary>Remote reads served from the read cache since start.</summary>
    public long CacheHits => _cache.Hits;

    /// <summary>Remote reads that fetched a block from the blob tier since start.</summary>
    public long CacheMisses => _cache.Misses;

    /// <summary>Starts the offloader task.</summary>
    internal void Start() => _loop = Task.Run(LoopAsync);

    /// <summary>Asks the offloader to look for work now rather than at its next interval.</summary>
    public void Wake()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already woken.
        }
    }

    /// <summary>True (once) after segments became remote since the last call: the engine's housekeeping polls it to drop local copies.</summary>
    internal bool TakeChanged() => Interlocked.Exchange(ref _changed, 0) == 1;

    /// <summary>Is the segment starting at <paramref name="start"/> committed in the tier?</summary>
    public bool IsRemote(long start)
    {
        var s = Find(start);
        return s is not null && s.StartPosition == start;
    }

    /// <summary>The remote segment holding <paramref name="position"/>, or null.</summary>
    public TierManifest? Find(long position)
    {
        var segs = Volatile.Read(ref _segments);
        int lo = 0, hi = segs.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            var s = segs[mid];
            if (position < s.StartPosition)
            {
                hi = mid - 1;
            }
            else if (position >= s.EndPosition)
            {
                lo = mid + 1;
            }
            else
            {
                return s;
            }
        }

        return null;
    }

    /// <summary>
    /// Copies <c>destination.Length</c> bytes at CommitLog <paramref name="position"/> from the tier.
    /// Throws <see cref="StorageException"/> (<see cref="StorageError.TierUnavailable"/>) when the
    /// blob service cannot be read, with the reason.
    /// </summary>
    internal async ValueTask ReadAsync(TierManifest segment, long position, Memory<byte> destination, CancellationToken cancellationToken)
    {
        try
        {
            await _cache.ReadAsync(segment, position - segment.StartPosition, destination, cancellationToken).ConfigureAwait(false);
        }
        catch (BlobStoreException ex)
        {
            LogRemoteReadFailed(_logger, segment.StartPosition, ex.Message);
            throw new StorageException(StorageError.TierUnavailable, $"Remote segment {segment.StartPosition} cannot be read: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Total retention across tiers (housekeeping thread): drops the oldest remote segments while
    /// they are older than <paramref name="maxAge"/> or the remote bytes plus
    /// <paramref name="localBytes"/> exceed <paramref name="budget"/>. They leave the table now
    /// (reads stop resolving there); their blobs are deleted by the offloader, manifest first.
    /// Returns how many were dropped. Does nothing before the manifests were listed.
    /// </summary>
    /// <param name="nowMs">The engine clock, ms since the epoch; ages are measured as for local segments (<see cref="RetentionTimestamp"/>).</param>
    internal int ApplyRetention(long nowMs, TimeSpan? maxAge, long budget, long localBytes)
    {
        if (!_loaded)
        {
            return 0;
        }

        int dropped = 0;
        lock (_tableLock)
        {
            var segs = _segments;
            long total = localBytes;
            foreach (var s in segs)
            {
                total += s.Size;
            }

            while (dropped < segs.Length)
            {
                var s = segs[dropped];
                bool tooBig = total > budget;
                bool tooOld = !tooBig && maxAge is { } age && nowMs - RetentionTimestamp(s) > age.TotalMilliseconds;
                if (!tooBig && !tooOld)
                {
                    break;
                }

                total -= s.Size;
                _pendingDeletes.Add(s);
                dropped++;
            }

            if (dropped > 0)
            {
                Volatile.Write(ref _segments, segs[dropped..]);
                SaveLocalTableLocked();
            }
        }

        if (dropped > 0)
        {
            Wake();
        }

        return dropped;
    }

    /// <summary>
    /// What total retention measures a remote segment's age from: its largest record timestamp, as
    /// for local segments (and as Kafka's remote log retention does). A segment without record
    /// timestamps ages from its verified upload, which the engine clock stamped. Never the file's
    /// <see cref="TierManifest.LastWriteUtcMs"/>: wall-clock time of a file that a restore rewrites.
    /// </summary>
    internal static long RetentionTimestamp(TierManifest segment) => segment.MaxTimestamp >= 0 ? segment.MaxTimestamp : segment.UploadedUtcMs;

    private async Task LoopAsync()
    {
        var ct = _stop.Token;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (!_loaded)
                {
                    await LoadRemoteTableAsync(ct).ConfigureAwait(false);
                }

                await DeletePendingAsync(ct).ConfigureAwait(false);
                await OffloadAsync(ct).ConfigureAwait(false);
                _lastError = null;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is BlobStoreException or IOException or StorageException or HttpRequestException or UnauthorizedAccessException)
            {
                _lastError = ex.Message;
                LogTierWorkFailed(_logger, ex.Message);
            }

            try
            {
                await _wake.WaitAsync(_options.CheckInterval, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Lists <c>manifests/</c>: the remote table after a restart. Segment blobs without a manifest are partial or abandoned uploads and are ignored.</summary>
    private async Task LoadRemoteTableAsync(CancellationToken ct)
    {
        await _store.EnsureContainerAsync(ct).ConfigureAwait(false);
        var found = new List<TierManifest>();
        await foreach (var item in _store.ListAsync("manifests/", ct).ConfigureAwait(false))
        {
            if (item.Length is <= 0 or > 16 << 20)
            {
                LogBadManifest(_logger, item.Name, "unexpected size");
                continue;
            }

            var buffer = new byte[item.Length];
            int got = 0;
            while (got < buffer.Length)
            {
                int n = await _store.ReadRangeAsync(item.Name, got, buffer.AsMemory(got), ct).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                got += n;
            }

            var m = TierManifest.TryParse(buffer.AsSpan(0, got));
            if (m is null || m.ManifestBlobName != item.Name)
            {
                LogBadManifest(_logger, item.Name, "not a version-1 manifest of that name");
                continue;
            }

            found.Add(m);
        }

        found.Sort((a, b) => a.StartPosition.CompareTo(b.StartPosition));
        var table = new List<TierManifest>(found.Count);
        foreach (var m in found)
        {
            if (table.Count > 0 && m.StartPosition < table[^1].EndPosition)
            {
                LogBadManifest(_logger, m.ManifestBlobName, "overlaps the previous segment");
                continue;
            }

            table.Add(m);
        }

        lock (_tableLock)
        {
            // Deletions decided before the listing (none normally) stay decided.
            table.RemoveAll(m => _pendingDeletes.Exists(d => d.StartPosition == m.StartPosition));
            Volatile.Write(ref _segments, table.ToArray());
            SaveLocalTableLocked();
        }

        _loaded = true;
        Interlocked.Exchange(ref _changed, 1);
        LogTableLoaded(_logger, table.Count, table.Count > 0 ? table[0].StartPosition : -1, table.Count > 0 ? table[^1].EndPosition : -1);
    }

    private async Task DeletePendingAsync(CancellationToken ct)
    {
        TierManifest[] work;
        lock (_tableLock)
        {
            work = _pendingDeletes.ToArray();
        }

        foreach (var s in work)
        {
            // Manifest first: a crash between the two leaves an orphan segment blob, which is ignored.
            await _store.DeleteAsync(s.ManifestBlobName, ct).ConfigureAwait(false);
            await _store.DeleteAsync(s.SegmentBlobName, ct).ConfigureAwait(false);
            _cache.Evict(s.StartPosition);
            lock (_tableLock)
            {
                _pendingDeletes.Remove(s);
            }

            LogRemoteDeleted(_logger, s.StartPosition, s.EndPosition);
        }
    }

    private async Task OffloadAsync(CancellationToken ct)
    {
        if (!_loaded)
        {
            return;
        }

        var segments = _log.Segments;
        long limit = Math.Min(_dispatched(), _log.FlushedPosition);
        long nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var candidates = new List<Segment>();
        // Never the last segment (the one being written); only segments whose every entry is
        // flushed and in the ConsumeQueues, so the queues can point into the blob.
        for (int i = 0; i < segments.Count - 1; i++)
        {
            var seg = segments[i];
            if (seg.EndPosition > limit || IsRemote(seg.StartPosition))
            {
                continue;
            }

            if (_options.LocalRetention > TimeSpan.Zero && nowMs - LocalRetentionTimestamp(seg, nowMs) < _options.LocalRetention.TotalMilliseconds)
            {
                // Local files leave oldest first (a contiguous run, as local retention deletes
                // them), so a segment not old enough holds back the ones after it.
                break;
            }

            candidates.Add(seg);
        }

        if (candidates.Count == 0)
        {
            return;
        }

        if (_lastError is not null)
        {
            // After a failed round the service may have come back empty (a fresh emulator, a
            // re-created account): make sure the container exists before uploading into it.
            await _store.EnsureContainerAsync(ct).ConfigureAwait(false);
        }

        Exception? failure = null;
        await Parallel.ForEachAsync(candidates, new ParallelOptions { MaxDegreeOfParallelism = _options.UploadConcurrency, CancellationToken = ct }, async (seg, token) =>
        {
            try
            {
                await OffloadSegmentAsync(seg, token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is BlobStoreException or IOException or StorageException or HttpRequestException)
            {
                Interlocked.Increment(ref _uploadFailures);
                LogUploadFailed(_logger, seg.StartPosition, ex.Message);
                Interlocked.CompareExchange(ref failure, ex, null);
            }
        }).ConfigureAwait(false);

        if (failure is not null)
        {
            throw new StorageException(StorageError.TierUnavailable, "Offload incomplete: " + failure.Message, failure);
        }
    }

    /// <summary>
    /// A local segment's age for <see cref="TieringOptions.LocalRetention"/>: its largest record
    /// timestamp against the engine clock, as local retention measures it (<see cref="Segment.RetentionTimestamp"/>).
    /// </summary>
    private static long LocalRetentionTimestamp(Segment seg, long nowMs)
    {
        if (!seg.TryRetain())
        {
            return nowMs; // being deleted: not a candidate now
        }

        try
        {
            return seg.RetentionTimestamp(nowMs);
        }
        finally
        {
            seg.Release();
        }
    }

    private async Task OffloadSegmentAsync(Segment seg, CancellationToken ct)
    {
        if (!seg.TryRetain())
        {
            return; // deleted by retention meanwhile
        }

        try
        {
            var lastWrite = File.GetLastWriteTimeUtc(seg.FilePath); // for the manifest's reader only; no decision uses it
            var summary = Summarize(seg);
            string segmentBlob = TierManifest.SegmentBlob(seg.StartPosition);
            string crc = summary.Crc.ToString(CultureInfo.InvariantCulture);
            var metadata = new Dictionary<string, string> { [SegmentCrcMetadata] = crc };
            await _store.UploadFileAsync(segmentBlob, seg.FilePath, 0, summary.DataLength, metadata, ct).ConfigureAwait(false);

            // Verify what the service committed is this upload (length and our checksum), not an
            // older attempt's blob of the same name; each block's MD5 was checked on the way in.
            var props = await _store.GetPropertiesAsync(segmentBlob, ct).ConfigureAwait(false);
            if (props is null || props.Length != summary.DataLength || !props.Metadata.TryGetValue(SegmentCrcMetadata, out var remoteCrc) || remoteCrc != crc)
            {
                throw new StorageException(StorageError.TierUnavailable, $"Verification of {segmentBlob} failed: service reports length {props?.Length.ToString(CultureInfo.InvariantCulture) ?? "none"}, expected {summary.DataLength} with CRC-32C {crc}.");
            }

            var manifest = new TierManifest(
                TierManifest.CurrentVersion,
                seg.StartPosition,
                seg.EndPosition,
                summary.DataLength,
                summary.Crc,
                summary.Entries,
                summary.MinTimestamp,
                summary.MaxTimestamp,
                new DateTimeOffset(lastWrite).ToUnixTimeMilliseconds(),
                _time.GetUtcNow().ToUnixTimeMilliseconds(),
                summary.Partitions);

            // The manifest goes last: only now does the segment count as remote.
            await _store.UploadAsync(manifest.ManifestBlobName, manifest.ToJson(), null, ct).ConfigureAwait(false);
            lock (_tableLock)
            {
                var list = new List<TierManifest>(_segments) { manifest };
                list.Sort((a, b) => a.StartPosition.CompareTo(b.StartPosition));
                Volatile.Write(ref _segments, list.ToArray());
                SaveLocalTableLocked();
            }

            Interlocked.Increment(ref _uploadedSegments);
            Interlocked.Exchange(ref _changed, 1);
            LogOffloaded(_logger, seg.StartPosition, summary.DataLength, summary.Entries, summary.Partitions.Count);
        }
        finally
        {
            seg.Release();
        }
    }

    private readonly record struct SegmentSummary(long DataLength, uint Crc, long Entries, long MinTimestamp, long MaxTimestamp, List<TierPartitionRange> Partitions);

    /// <summary>Walks a sealed segment's entries: where data ends (the blank padding is not uploaded), its checksum, times and partition ranges.</summary>
    private static SegmentSummary Summarize(Segment seg)
    {
        var file = seg.File;
        long pos = 0;
        long entries = 0;
        long minTs = long.MaxValue, maxTs = long.MinValue;
        var ranges = new Dictionary<int, (long First, long Last, long Batches)>();
        while (file.Size - pos >= EntryFormat.MinBlankSize)
        {
            var head = file.GetSpan(pos, EntryFormat.MinBlankSize);
            uint magic = EntryFormat.ReadMagic(head);
            int length = EntryFormat.ReadLength(head);
            if (magic == EntryFormat.TruncateMagic && length == EntryFormat.HeaderSize && length <= file.Size - pos)
            {
                // A truncation marker: uploaded with the segment's bytes, but no data of any partition.
                entries++;
                pos += length;
                continue;
            }

            if (magic != EntryFormat.DataMagic || length < EntryFormat.MinDataEntrySize || length > file.Size - pos)
            {
                break; // blank padding or end of data
            }

            var header = file.GetSpan(pos, EntryFormat.HeaderSize);
            int id = EntryFormat.ReadPartition(header);
            long baseOffset = EntryFormat.ReadBaseOffset(header);
            long last = baseOffset + EntryFormat.ReadCount(header) - 1;
            ranges[id] = ranges.TryGetValue(id, out var r) ? (r.First, last, r.Batches + 1) : (baseOffset, last, 1);
            minTs = Math.Min(minTs, EntryFormat.ReadFirstTimestamp(header));
            maxTs = Math.Max(maxTs, EntryFormat.ReadMaxTimestamp(header));
            entries++;
            pos += length;
        }

        uint crc = 0;
        for (long off = 0; off < pos; off += 64 << 20)
        {
            crc = Crc32C.Append(crc, file.GetSpan(off, (int)Math.Min(64 << 20, pos - off)));
        }

        var partitions = ranges.OrderBy(kv => kv.Key).Select(kv => new TierPartitionRange(kv.Key, kv.Value.First, kv.Value.Last, kv.Value.Batches)).ToList();
        return new SegmentSummary(pos, crc, entries, entries > 0 ? minTs : -1, entries > 0 ? maxTs : -1, partitions);
    }

    private string TablePath => Path.Combine(_directory, TableFile);

    /// <summary>The copy of the table from the last run: lets reads resolve before the listing answers (the listing replaces it).</summary>
    private void LoadLocalTable()
    {
        try
        {
            if (!File.Exists(TablePath))
            {
                return;
            }

            var table = JsonSerializer.Deserialize(File.ReadAllBytes(TablePath), TierJsonContext.Default.TierTable);
            if (table?.Segments is { } segs)
            {
                Volatile.Write(ref _segments, segs.Where(s => s is not null).OrderBy(s => s.StartPosition).ToArray());
            }
        }
        catch (Exception ex) when (ex is JsonException or IOException)
        {
            LogBadLocalTable(_logger, TablePath, ex.Message);
        }
    }

    private void SaveLocalTableLocked()
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(new TierTable(_segments), TierJsonContext.Default.TierTable);
        string tmp = TablePath + ".tmp";
        using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            fs.Write(bytes);
            fs.Flush(flushToDisk: true);
        }

        File.Move(tmp, TablePath, overwrite: true);
    }

    public void Dispose()
    {
        _stop.Cancel();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(30));
        }
        catch (AggregateException)
        {
            // The loop logs its own failures; cancellation ends it.
        }

        if (_ownsStore)
        {
            ((IDisposable)_store).Dispose();
        }

        _stop.Dispose();
        _wake.Dispose();
    }

    [LoggerMessage(EventId = 7010, Level = LogLevel.Information, Message = "Tier: segment {Start} offloaded ({Bytes} bytes, {Entries} entries, {Partitions} partitions)")]
    private static partial void LogOffloaded(ILogger logger, long start, long bytes, long entries, int partitions);

    [LoggerMessage(EventId = 7011, Level = LogLevel.Warning, Message = "Tier: upload of segment {Start} failed, will retry; the local file is kept: {Reason}")]
    private static partial void LogUploadFailed(ILogger logger, long start, string reason);

    [LoggerMessage(EventId = 7012, Level = LogLevel.Warning, Message = "Tier: work failed, will retry: {Reason}")]
    private static partial void LogTierWorkFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 7013, Level = LogLevel.Information, Message = "Tier: {Count} remote segments listed, positions {From} to {To}")]
    private static partial void LogTableLoaded(ILogger logger, int count, long from, long to);

    [LoggerMessage(EventId = 7014, Level = LogLevel.Warning, Message = "Tier: ignoring manifest {Name}: {Reason}")]
    private static partial void LogBadManifest(ILogger logger, string name, string reason);

    [LoggerMessage(EventId = 7015, Level = LogLevel.Information, Message = "Tier: retention deleted remote segment [{Start}, {End})")]
    private static partial void LogRemoteDeleted(ILogger logger, long start, long end);

    [LoggerMessage(EventId = 7016, Level = LogLevel.Error, Message = "Tier: remote read of segment {Start} failed: {Reason}")]
    private static partial void LogRemoteReadFailed(ILogger logger, long start, string reason);

    [LoggerMessage(EventId = 7017, Level = LogLevel.Warning, Message = "Tier: local table {Path} unreadable ({Reason}); waiting for the manifest listing")]
    private static partial void LogBadLocalTable(ILogger logger, string path, string reason);
}
