using OrleansMQ.Protocol.Batches;
using OrleansMQ.Storage.Engine;

namespace OrleansMQ.Silo.Producers;

/// <summary>What to do with an idempotent producer's batch.</summary>
public enum SequenceCheck
{
    /// <summary>Append it.</summary>
    Accept,

    /// <summary>Already appended (a retry): answer with the original offsets, append nothing.</summary>
    Duplicate,

    /// <summary>A gap or a reordering: OUT_OF_ORDER_SEQUENCE_NUMBER.</summary>
    OutOfOrder,

    /// <summary>An epoch older than the producer's current one: INVALID_PRODUCER_EPOCH.</summary>
    StaleEpoch,

    /// <summary>No state for this producer and the batch does not start a sequence: UNKNOWN_PRODUCER_ID.</summary>
    UnknownProducer,
}

/// <summary>
/// Idempotent-producer state of one partition, as Kafka keeps it: per producer id the epoch, the
/// last sequence and the last five batches (a producer has at most five in flight, so a retry is
/// always among them). Built from the partition's own batches on first use, so it survives a
/// restart with exactly the same guarantee as the data. Callers hold <see cref="Gate"/> across
/// check, append and <see cref="Record"/>, so two requests for one partition cannot interleave.
/// </summary>
public sealed class ProducerStateTable
{
    public const int CachedBatches = 5;

    private readonly Dictionary<long, ProducerEntry> _producers = new();

    /// <summary>Serializes check → append → record for this partition.</summary>
    public SemaphoreSlim Gate { get; } = new(1, 1);

    public bool Loaded { get; private set; }

    public int ProducerCount => _producers.Count;

    /// <summary>Replays every local batch header of the partition (once). Gate held by the caller.</summary>
    public void LoadFrom(StorageEngine engine, PartitionLog partition)
    {
        if (Loaded)
        {
            return;
        }

        var spans = new List<LogSpan>();
        long next = partition.LogStartOffset;
        long end = partition.HighWatermark;
        while (next < end)
        {
            spans.Clear();
            var status = engine.ReadSpans(partition, next, 1 << 20, spans);
            if (status == ReadStatus.Remote)
            {
                // Offloaded data is not replayed (that could be weeks of blobs): producers whose
                // last batches are only in the tier are forgotten, as Kafka expires idle producer
                // ids. The local tail, where retries of recent batches land, is replayed in full.
                long local = engine.FirstLocalOffset(partition);
                if (local <= next)
                {
                    break;
                }

                next = local;
                continue;
            }

            if (status != ReadStatus.Ok || spans.Count == 0)
            {
                break;
            }

            try
            {
                foreach (var span in spans)
                {
                    var bytes = span.Bytes;
                    if (RecordBatch.TryReadInfo(bytes, out var info) != BatchError.None)
                    {
                        continue;
                    }

                    long baseOffset = RecordBatch.ReadBaseOffset(bytes);
                    if (info.ProducerId >= 0)
                    {
                        Record(info, baseOffset);
                    }

                    next = baseOffset + info.LastOffsetDelta + 1;
                }
            }
            finally
            {
                foreach (var span in spans)
                {
                    span.Release();
                }
            }
        }

        Loaded = true;
    }

    /// <summary>Classifies a batch; for a duplicate, <paramref name="duplicateBaseOffset"/> is where it already is.</summary>
    public SequenceCheck Check(in RecordBatchInfo batch, out long duplicateBaseOffset)
    {
        duplicateBaseOffset = -1;
        if (batch.ProducerId < 0)
        {
            return SequenceCheck.Accept;
        }

        int first = batch.BaseSequence;
        int last = LastSequence(batch);
        if (!_producers.TryGetValue(batch.ProducerId, out var entry))
        {
            return first == 0 ? SequenceCheck.Accept : SequenceCheck.UnknownProducer;
        }

        if (batch.ProducerEpoch < entry.Epoch)
        {
            return SequenceCheck.StaleEpoch;
        }

        if (batch.ProducerEpoch > entry.Epoch)
        {
            // A bumped epoch starts its sequences again at 0.
            return first == 0 ? SequenceCheck.Accept : SequenceCheck.OutOfOrder;
        }

        foreach (var cached in entry.Recent)
        {
            if (cached.FirstSequence == first && cached.LastSequence == last)
            {
                duplicateBaseOffset = cached.BaseOffset;
                return SequenceCheck.Duplicate;
            }
        }

        return first == NextSequence(entry.LastSequence) ? SequenceCheck.Accept : SequenceCheck.OutOfOrder;
    }

    /// <summary>Remembers an appended batch.</summary>
    public void Record(in RecordBatchInfo batch, long baseOffset)
    {
        if (batch.ProducerId < 0)
        {
            return;
        }

        if (!_producers.TryGetValue(batch.ProducerId, out var entry) || batch.ProducerEpoch != entry.Epoch)
        {
            entry = new ProducerEntry(batch.ProducerEpoch);
            _producers[batch.ProducerId] = entry;
        }

        entry.LastSequence = LastSequence(batch);
        entry.LastTimestamp = batch.MaxTimestamp;
        if (entry.Recent.Count == CachedBatches)
        {
            entry.Recent.Dequeue();
        }

        entry.Recent.Enqueue(new CachedBatch(batch.BaseSequence, entry.LastSequence, baseOffset));
    }

    /// <summary>The producers with state here, for DescribeProducers. Gate held by the caller.</summary>
    public List<ProducerSnapshot> Snapshot()
    {
        var list = new List<ProducerSnapshot>(_producers.Count);
        foreach (var (id, entry) in _producers)
        {
            list.Add(new ProducerSnapshot(id, entry.Epoch, entry.LastSequence, entry.LastTimestamp));
        }

        return list;
    }

    // Sequences are int32 and wrap to 0 after int.MaxValue (Kafka's rule).
    private static int LastSequence(in RecordBatchInfo batch) => (int)(((long)batch.BaseSequence + batch.LastOffsetDelta) % ((long)int.MaxValue + 1));

    private static int NextSequence(int sequence) => sequence == int.MaxValue ? 0 : sequence + 1;

    private sealed class ProducerEntry(short epoch)
    {
        public short Epoch { get; } = epoch;

        public int LastSequence { get; set; } = -1;

        /// <summary>The max timestamp of the producer's last batch as it sent it (-1: none).</summary>
        public long LastTimestamp { get; set; } = -1;

        public Queue<CachedBatch> Recent { get; } = new(CachedBatches);
    }

    private readonly record struct CachedBatch(int FirstSequence, int LastSequence, long BaseOffset);
}
