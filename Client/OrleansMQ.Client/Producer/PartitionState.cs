namespace OrleansMQ.Client.Producer;

/// <summary>A topic the producer writes to: its partitions, their leaders and the sticky partition.</summary>
internal sealed class TopicState(string name)
{
    public string Name { get; } = name;

    /// <summary>Replaced (never changed in place) when the topic grows.</summary>
    public PartitionState[] Partitions { get; set; } = [];

    /// <summary>Leader node per partition, -1 when unknown. Replaced as a whole.</summary>
    public int[] Leaders { get; set; } = [];

    /// <summary>The partition records without a key go to (KIP-480); -1 before the first.</summary>
    public int Sticky = -1;

    /// <summary>Next partition for round-robin.</summary>
    public int RoundRobin;

    /// <summary>Set by a send that hit a stale leader; the sender loop refreshes metadata.</summary>
    public volatile bool NeedsMetadata;

    /// <summary>1 while a metadata refresh runs.</summary>
    public int Refreshing;

    /// <summary>Environment.TickCount64 of the last metadata refresh (or attempt).</summary>
    public long MetadataAt;
}

/// <summary>
/// One partition's queue: the open batch records are appended to, the closed batches waiting to
/// be sent (in creation order, retries put back in place) and the batches in flight, plus the
/// idempotent producer's sequence numbers. Guarded by <see cref="Lock"/>.
/// </summary>
internal sealed class PartitionState(TopicState topic, int index)
{
    public Lock Lock { get; } = new();

    public TopicState Topic { get; } = topic;

    public int Index { get; } = index;

    public ProducerBatch? Open { get; set; }

    /// <summary>Closed batches in creation order (<see cref="ProducerBatch.Serial"/>).</summary>
    public List<ProducerBatch> Ready { get; } = new(8);

    /// <summary>Batches sent and not answered, in send order.</summary>
    public List<ProducerBatch> InFlight { get; } = new(8);

    /// <summary>The sequence the next new batch gets.</summary>
    public int NextSequence { get; set; }

    /// <summary>The sequence the broker expects after every acknowledged batch: the first unacknowledged batch has it.</summary>
    public int AckedSequenceEnd { get; set; }

    /// <summary>A batch failed and is being retried: one request in flight until it succeeds, so order holds.</summary>
    public bool Blocked { get; set; }

    /// <summary>Puts a batch back among the ready ones, in creation order.</summary>
    public void Requeue(ProducerBatch batch)
    {
        int i = 0;
        while (i < Ready.Count && Ready[i].Serial < batch.Serial)
        {
            i++;
        }

        Ready.Insert(i, batch);
    }
}
