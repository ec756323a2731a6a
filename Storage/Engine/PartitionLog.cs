using OrleansMQ.Storage.Queues;

namespace OrleansMQ.Storage.Engine;

/// <summary>
/// One partition as the storage engine sees it: its registry id, its ConsumeQueue and offsets.
/// Offsets order: <c>LogStartOffset &lt;= HighWatermark &lt;= LogEndOffset</c>. The log end is
/// what the writer has assigned; the high watermark is what the dispatcher has indexed, i.e.
/// what readers can fetch.
/// </summary>
public sealed class PartitionLog
{
    internal long NextOffset;           // assigned under the CommitLog put lock
    private long _logStartFloor;        // DeleteRecords' log start (durable in the registry); 0 when never moved
    private TaskCompletionSource? _dataWaiter;
    private int _unindexableLogged;

    internal PartitionLog(int id, string topic, int partition, PartitionOptions options, ConsumeQueue queue, long logStartFloor = 0)
    {
        _logStartFloor = logStartFloor;
        Id = id;
        Topic = topic;
        Partition = partition;
        Options = options;
        Queue = queue;
        NextOffset = queue.NextOffset;
    }

    /// <summary>Registry id written into CommitLog entry headers.</summary>
    public int Id { get; }

    public string Topic { get; }

    public int Partition { get; }

    public PartitionOptions Options { get; internal set; }

    /// <summary>True once <see cref="StorageEngine.DeletePartition"/> ran: appends are refused, the dispatcher skips it.</summary>
    public bool IsDeleted { get; internal set; }

    internal ConsumeQueue Queue { get; }

    /// <summary>
    /// First offset readers may fetch: the first batch still stored (moves with retention), or the
    /// offset <see cref="StorageEngine.DeleteRecordsBefore"/> set, whichever is higher (the latter
    /// may lie inside a batch, as in Kafka: that batch is still served whole from it).
    /// </summary>
    public long LogStartOffset => Math.Max(Queue.FirstOffset, Volatile.Read(ref _logStartFloor));

    /// <summary>The log start set by DeleteRecords (or a truncation that emptied the partition); 0 when never set.</summary>
    internal long LogStartFloor
    {
        get => Volatile.Read(ref _logStartFloor);
        set => Volatile.Write(ref _logStartFloor, value);
    }

    /// <summary>One past the last offset readers can fetch (dispatched into the ConsumeQueue).</summary>
    public long HighWatermark => Queue.NextOffset;

    /// <summary>One past the last offset assigned by the writer.</summary>
    public long LogEndOffset => Volatile.Read(ref NextOffset);

    /// <summary>
    /// Bytes of the partition's batches still indexed locally (the sum of its ConsumeQueue entries'
    /// batch sizes; CommitLog entry headers not counted). O(batches): for admin answers only.
    /// </summary>
    public long SizeInBytes() => Queue.SumBatchBytes();

    internal bool MarkUnindexableLogged() => Interlocked.Exchange(ref _unindexableLogged, 1) == 0;

    /// <summary>Completes when the high watermark moves past <paramref name="offset"/> or the token fires.</summary>
    public Task WaitForDataAsync(long offset, CancellationToken cancellationToken)
    {
        if (HighWatermark > offset)
        {
            return Task.CompletedTask;
        }

        var tcs = Volatile.Read(ref _dataWaiter);
        if (tcs is null)
        {
            var created = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            tcs = Interlocked.CompareExchange(ref _dataWaiter, created, null) ?? created;
        }

        // Re-check after publishing the waiter: the dispatcher may have advanced in between.
        if (HighWatermark > offset)
        {
            return Task.CompletedTask;
        }

        return tcs.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Dispatcher side: wakes every waiter (one allocation only when someone waits).</summary>
    internal void NotifyData()
    {
        if (Volatile.Read(ref _dataWaiter) is not null)
        {
            Interlocked.Exchange(ref _dataWaiter, null)?.TrySetResult();
        }
    }

    public override string ToString() => $"{Topic}-{Partition} (id {Id})";
}
