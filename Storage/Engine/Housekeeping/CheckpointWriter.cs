using OrleansMQ.Storage.Engine.Dispatch;
using OrleansMQ.Storage.Engine.Partitions;
using OrleansMQ.Storage.Index;
using OrleansMQ.Storage.Log;

namespace OrleansMQ.Storage.Engine.Housekeeping;

/// <summary>
/// Writes the checkpoint recovery starts from: flushes queues and index, then names the position
/// below which they are durable. Housekeeping calls it on its interval, <c>Flush()</c> and the
/// clean shutdown on demand; one lock keeps the two from interleaving.
/// </summary>
internal sealed class CheckpointWriter
{
    private readonly string _path;
    private readonly CommitLog _log;
    private readonly PartitionTable _partitions;
    private readonly IndexStore _index;
    private readonly CommitLogDispatcher _dispatcher;
    private readonly Lock _lock = new();
    private Checkpoint _last = new(-1, -1);

    public CheckpointWriter(string root, CommitLog log, PartitionTable partitions, IndexStore index, CommitLogDispatcher dispatcher)
    {
        _path = Path.Combine(root, Checkpoint.FileName);
        _log = log;
        _partitions = partitions;
        _index = index;
        _dispatcher = dispatcher;
    }

    public void Write()
    {
        lock (_lock)
        {
            WriteLocked();
        }
    }

    private void WriteLocked()
    {
        // Take the dispatched position before flushing the queues: every queue entry below it is then
        // on disk when the checkpoint names it. Cap at the CommitLog's flushed position so recovery
        // never trusts queue entries that point at unflushed log bytes.
        long dispatched = _dispatcher.Position;
        foreach (var p in _partitions.Snapshot())
        {
            p.Queue.Flush();
        }

        _index.Flush();
        long flushed = _log.FlushedPosition;
        var checkpoint = new Checkpoint(flushed, Math.Min(dispatched, flushed));
        if (checkpoint == _last)
        {
            return; // an idle silo does not fsync a file every second
        }

        checkpoint.Write(_path);
        _last = checkpoint;
    }
}
