using System.Diagnostics;
using Microsoft.Extensions.Logging;
using OrleansMQ.Storage.Log;
using OrleansMQ.Storage.Engine.Dispatch;
using OrleansMQ.Storage.Engine.Partitions;
using OrleansMQ.Storage.Index;
using OrleansMQ.Storage.Queues;
using OrleansMQ.Storage.Tiering;

namespace OrleansMQ.Storage.Engine.Recovery;

/// <summary>
/// Start-up: brings the data directory back to a state the engine can serve from. The checkpoint
/// says how far queues and index are known durable; the CommitLog is validated from there and a
/// torn tail truncated; queues and index are cut back to the checkpoint (a queue whose newest entry
/// disagrees with the log is rebuilt whole) and everything past it is re-dispatched before anyone
/// can read or write. Startup never crashes on a bad file. The clean-shutdown marker tells a clean
/// stop from a crash; it is removed as soon as the log is open, so a crash from then on is unclean.
/// </summary>
internal static partial class LogRecovery
{
    private const string CleanShutdownFile = "clean-shutdown";

    /// <summary>Written last by a clean shutdown, after everything is flushed and checkpointed.</summary>
    public static void MarkCleanShutdown(string root) => File.WriteAllBytes(Path.Combine(root, CleanShutdownFile), []);

    /// <summary>
    /// Opens the CommitLog, index, partitions (with their queues) and the blob tier (not started),
    /// and replays the log into queues and index. The dispatcher is returned not yet started.
    /// </summary>
    public static RecoveredStore Run(StorageOptions options, string root, ILoggerFactory loggerFactory, ILogger logger, TimeProvider time, Stopwatch elapsed)
    {
        string checkpointPath = Path.Combine(root, Checkpoint.FileName);
        string markerPath = Path.Combine(root, CleanShutdownFile);
        bool clean = File.Exists(markerPath);
        bool haveCheckpoint = Checkpoint.TryRead(checkpointPath, out var checkpoint);
        if (!haveCheckpoint && File.Exists(checkpointPath))
        {
            LogBadCheckpoint(logger, checkpointPath);
        }

        long recoverFrom = haveCheckpoint ? checkpoint.DispatchedPosition : 0;
        var log = CommitLog.Open(Path.Combine(root, "commitlog"), options, recoverFrom, loggerFactory.CreateLogger("OrleansMQ.Storage.Log"), out var logRecovery);

        // From here on a crash is an unclean stop again.
        if (clean)
        {
            File.Delete(markerPath);
        }

        long replayFrom = logRecovery.ScannedFrom;
        var index = IndexStore.Open(Path.Combine(root, "index"), options.IndexSlotCount, options.IndexEntriesPerFile, loggerFactory.CreateLogger("OrleansMQ.Storage.Index"));
        index.TruncateFromPosition(replayFrom);
        if (options.Tiering is null)
        {
            // With tiering, entries of offloaded segments stay: key lookups confirm them in the blob
            // tier. Housekeeping trims the index with the queues once the remote table is known.
            index.DeleteBefore(log.MinPosition);
        }

        var registry = PartitionRegistry.Load(Path.Combine(root, "partitions"), logger);
        var partitions = new PartitionTable(registry, Path.Combine(root, "consumequeue"), options.ConsumeQueueEntriesPerFile, logger);
        CommitLogDispatcher? dispatcher = null;
        TieredStorage? tier = null;
        if (options.Tiering is { } tiering)
        {
            // The tier uploads only what the dispatcher has passed; it asks for that position once
            // started, after the dispatcher below exists.
            tier = new TieredStorage(tiering, Path.Combine(root, "tier"), log, () => dispatcher!.Position, loggerFactory.CreateLogger("OrleansMQ.Storage.Tiering"), time);
        }

        bool queueDamaged = false;
        foreach (var r in registry.Records.Where(r => r.Deleted))
        {
            partitions.MarkDeletedId(r.Id);
            var dir = partitions.QueueDirectory(r.Id);
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }

        foreach (var r in registry.Records.Where(r => !r.Deleted))
        {
            // An empty queue's next offset is the durable log start (DeleteRecords, or a follower
            // truncation that removed every batch): the queue itself cannot remember it.
            var queue = ConsumeQueue.Open(partitions.QueueDirectory(r.Id), options.ConsumeQueueEntriesPerFile, loggerFactory.CreateLogger("OrleansMQ.Storage.Queues"), initialNextOffset: r.LogStartOffset);
            queue.TruncateFromPosition(replayFrom);
            if (tier is null)
            {
                queue.DeleteBefore(log.MinPosition);
            }

            // With tiering, entries below the local log may point into the blob tier, whose table is
            // only known once the manifests are listed: housekeeping trims the queues after that,
            // never blind here (cut entries cannot come back).
            if (!LastEntryMatchesLog(queue, r.Id, log, tier is not null))
            {
                // Queue entries carry no checksum (as in RocketMQ); the log's header is the truth.
                LogQueueMismatch(logger, r.Topic, r.Partition);
                queue.TruncateFromPosition(0);
                queueDamaged = true;
            }

            queueDamaged |= queue.Damaged;
            partitions.Add(new PartitionLog(r.Id, r.Topic, r.Partition, new PartitionOptions { IndexKeys = r.IndexKeys, MaxBatchBytes = r.MaxBatchBytes }, queue, r.LogStartOffset));
        }

        // A queue that lost entries may have lost them below the checkpoint: re-dispatch the whole
        // log. Intact queues skip what they already hold; the index keeps what it has below the
        // checkpoint (it was truncated there), so only positions past it are indexed again.
        long dispatchFrom = replayFrom;
        if (queueDamaged)
        {
            LogFullReplay(logger, log.MinPosition);
            dispatchFrom = log.MinPosition;
        }

        dispatcher = new CommitLogDispatcher(log, partitions, index, time, logger, dispatchFrom, indexFrom: replayFrom);

        // Time retention measures each segment by its largest record timestamp. The replay below and
        // the dispatcher after it see every entry from the dispatch start on; a segment begun before it
        // gets one scan of its entry headers when its age first matters (lazily: recovery stays as
        // fast as the checkpoint allows). Segments found sealed here age from this open when they
        // hold no record timestamp at all.
        long openedMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        var segments = log.Segments;
        for (int i = 0; i < segments.Count; i++)
        {
            if (segments[i].StartPosition < dispatchFrom)
            {
                segments[i].MarkUnobserved();
            }

            if (i < segments.Count - 1)
            {
                segments[i].MarkSealed(openedMs);
            }
        }

        // Rebuild queues and index past the checkpoint before anyone can read or write.
        long replayed = dispatcher.DispatchAvailable(int.MaxValue, restoreOffsets: true);
        var report = new RecoveryReport(clean, haveCheckpoint, logRecovery, replayed, elapsed.Elapsed);
        LogReady(logger, elapsed.ElapsedMilliseconds, clean ? "clean" : "unclean", replayed, replayFrom, log.CommittedPosition, registry.Records.Count);
        return new RecoveredStore(log, index, partitions, dispatcher, tier, report);
    }

    /// <summary>Does the queue's newest entry point at a CommitLog entry of this partition with the same offsets?</summary>
    private static bool LastEntryMatchesLog(ConsumeQueue queue, int partitionId, CommitLog log, bool tiered)
    {
        if (queue.EntryCount <= queue.FirstIndex || !queue.TryGet(queue.EntryCount - 1, out var e))
        {
            return true;
        }

        long entryPos = e.BatchPosition - EntryFormat.HeaderSize;
        if (tiered && entryPos < log.MinPosition)
        {
            return true; // offloaded: not checkable here; every remote read validates the entry header and checksums
        }

        if (entryPos < log.MinPosition || e.BatchPosition + e.Size > log.CommittedPosition)
        {
            return false;
        }

        return log.TryReadEntry(entryPos, out long at, out var entry)
            && at == entryPos
            && entry.Length == e.Size + EntryFormat.HeaderSize
            && EntryFormat.ReadPartition(entry) == partitionId
            && EntryFormat.ReadBaseOffset(entry) == e.BaseOffset
            && EntryFormat.ReadCount(entry) == e.LastOffsetDelta + 1;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "ConsumeQueue of {Topic}-{Partition} disagrees with the CommitLog; rebuilding it")]
    private static partial void LogQueueMismatch(ILogger logger, string topic, int partition);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A ConsumeQueue was damaged; re-dispatching the CommitLog from position {Position}")]
    private static partial void LogFullReplay(ILogger logger, long position);

    [LoggerMessage(Level = LogLevel.Error, Message = "Checkpoint {Path} is damaged; validating the whole CommitLog")]
    private static partial void LogBadCheckpoint(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "Storage ready in {ElapsedMs} ms: {Kind} stop, replayed {Replayed} entries from position {From} to {End}, {Partitions} partitions")]
    private static partial void LogReady(ILogger logger, long elapsedMs, string kind, long replayed, long from, long end, int partitions);
}

/// <summary>What recovery opened, handed to the engine.</summary>
internal sealed record RecoveredStore(CommitLog Log, IndexStore Index, PartitionTable Partitions, CommitLogDispatcher Dispatcher, TieredStorage? Tier, RecoveryReport Report);
