using OrleansMQ.Storage.Log;
using OrleansMQ.Storage.Engine.Dispatch;
using OrleansMQ.Storage.Engine.Partitions;
using OrleansMQ.Storage.Index;
using OrleansMQ.Storage.Tiering;

namespace OrleansMQ.Storage.Engine.Housekeeping;

/// <summary>
/// Retention: deletes whole segments (time or size), oldest first, never past what the dispatcher
/// has read, and moves each partition's log start (its ConsumeQueue's first entry) and the index
/// with them. With the blob tier a local segment goes only once it is remote, and the totals count
/// both tiers.
/// </summary>
internal sealed class RetentionEnforcer
{
    private readonly StorageOptions _options;
    private readonly CommitLog _log;
    private readonly PartitionTable _partitions;
    private readonly IndexStore _index;
    private readonly CommitLogDispatcher _dispatcher;
    private readonly TieredStorage? _tier;
    private readonly TimeProvider _time;

    public RetentionEnforcer(StorageOptions options, CommitLog log, PartitionTable partitions, IndexStore index, CommitLogDispatcher dispatcher, TieredStorage? tier, TimeProvider time)
    {
        _options = options;
        _log = log;
        _partitions = partitions;
        _index = index;
        _dispatcher = dispatcher;
        _tier = tier;
        _time = time;
    }

    /// <summary>
    /// Deletes whole segments past retention time or the size budget, oldest first, and moves each
    /// partition's log start. A segment's age is the engine clock's now minus its largest record
    /// timestamp (Kafka's rule; see <see cref="Segment.RetentionTimestamp"/>), never its file time.
    /// </summary>
    public void Enforce()
    {
        if (_tier is { } tier)
        {
            EnforceTiered(tier);
            return;
        }

        long nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        long total = _log.DiskBytes;
        long budget = _options.RetentionBytes ?? long.MaxValue;
        var maxAge = _options.RetentionTime;
        long before = _log.MinPosition;
        long min = _log.DeleteOldest(
            seg =>
            {
                // Size first: a segment over the budget goes without its timestamps being looked at.
                bool tooBig = total > budget;
                bool tooOld = !tooBig && maxAge is { } age && nowMs - seg.RetentionTimestamp(nowMs) > age.TotalMilliseconds;
                if (tooBig || tooOld)
                {
                    total -= seg.File.Size;
                    return true;
                }

                return false;
            },
            _dispatcher.Position);
        if (min == before)
        {
            return;
        }

        foreach (var p in _partitions.Snapshot())
        {
            p.Queue.DeleteBefore(min);
        }

        _index.DeleteBefore(min);
    }

    /// <summary>
    /// Segments that just became remote (housekeeping polls the tier each round): their local files
    /// may go now, not at the next cleanup.
    /// </summary>
    public void DropNewlyOffloaded()
    {
        if (_tier is { } tier && tier.TakeChanged())
        {
            DropOffloadedLocalSegments(tier);
            TrimQueues(tier);
        }
    }

    /// <summary>
    /// Retention with tiering on. Local: a segment file goes only once it is in the tier (its
    /// upload already waited for the local retention time); nothing local is deleted while the
    /// blob service is away. Total: the engine's retention time and size count both tiers and
    /// delete the oldest remote segments; queues and log start offsets follow.
    /// </summary>
    private void EnforceTiered(TieredStorage tier)
    {
        DropOffloadedLocalSegments(tier);
        tier.ApplyRetention(_time.GetUtcNow().ToUnixTimeMilliseconds(), _options.RetentionTime, _options.RetentionBytes ?? long.MaxValue, _log.DiskBytes);
        TrimQueues(tier);
    }

    private void DropOffloadedLocalSegments(TieredStorage tier)
    {
        _ = _log.DeleteOldest(seg => tier.IsRemote(seg.StartPosition), _dispatcher.Position);

        // The index keeps the entries of offloaded segments (key lookups read them from the tier);
        // TrimQueues cuts it at the oldest byte either tier holds.
    }

    /// <summary>Moves every queue's start (the partitions' log start offsets) to the oldest byte held in either tier.</summary>
    private void TrimQueues(TieredStorage tier)
    {
        if (!tier.IsLoaded)
        {
            return; // the remote table is not known yet: never cut entries that may point into it
        }

        long start = tier.FirstPosition is { } first ? Math.Min(first, _log.MinPosition) : _log.MinPosition;
        foreach (var p in _partitions.Snapshot())
        {
            p.Queue.DeleteBefore(start);
        }

        _index.DeleteBefore(start);
    }
}
