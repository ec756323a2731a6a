using Orleans.Runtime;
using Orleans.Streams;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Streaming.Providers;

/// <summary>
/// Queues are (topic, partition) pairs: queue <c>t * Partitions + p</c> is partition p of the t-th
/// topic (<see cref="OrleansMQStreamOptions.Topics"/>), so with one topic queue i is partition i. A
/// stream belongs to the queue of the partition the producer's murmur2 partitioner picks for its key
/// (<see cref="StreamKeys.RecordKey"/>): the mapper and the producer always agree. Queues sit at even
/// points of Orleans' consistent ring so the default queue balancer spreads them over silos.
/// </summary>
public sealed class OrleansMQQueueMapper : IConsistentRingStreamQueueMapper
{
    private readonly OrleansMQStreamOptions _options;
    private readonly IReadOnlyList<string> _topics;
    private readonly Dictionary<string, int> _topicIndex;
    private readonly QueueId[] _queues;

    /// <summary>Creates the mapper of the provider <paramref name="providerName"/>.</summary>
    public OrleansMQQueueMapper(OrleansMQStreamOptions options, string providerName)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _topics = options.Topics();
        _topicIndex = _topics.Select((t, i) => (t, i)).ToDictionary(x => x.t, x => x.i, StringComparer.Ordinal);
        int count = checked(_topics.Count * options.Partitions);
        _queues = new QueueId[count];
        ulong portion = ((ulong)uint.MaxValue + 1) / (ulong)count;
        for (int i = 0; i < count; i++)
        {
            _queues[i] = QueueId.GetQueueId(providerName, (uint)i, (uint)(portion * (ulong)i));
        }
    }

    /// <summary>The topics, in queue order.</summary>
    public IReadOnlyList<string> Topics => _topics;

    /// <inheritdoc />
    public IEnumerable<QueueId> GetAllQueues() => _queues;

    /// <inheritdoc />
    public QueueId GetQueueForStream(StreamId streamId)
    {
        var (topic, partition) = PartitionFor(streamId);
        return _queues[(_topicIndex[topic] * _options.Partitions) + partition];
    }

    /// <summary>The topic and partition that carry <paramref name="streamId"/>'s events.</summary>
    public (string Topic, int Partition) PartitionFor(StreamId streamId)
    {
        string topic = _options.TopicFor(streamId.GetNamespace());
        return (topic, Murmur2.Partition(StreamKeys.RecordKey(streamId), _options.Partitions));
    }

    /// <summary>The topic and partition queue <paramref name="queueId"/> reads.</summary>
    public (string Topic, int Partition) PartitionOf(QueueId queueId)
    {
        int index = (int)queueId.GetNumericId();
        if (index < 0 || index >= _queues.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(queueId), $"Queue {queueId} is not one of this provider's {_queues.Length} queues.");
        }

        return (_topics[index / _options.Partitions], index % _options.Partitions);
    }

    /// <inheritdoc />
    public IEnumerable<QueueId> GetQueuesForRange(IRingRange range)
    {
        ArgumentNullException.ThrowIfNull(range);
        return _queues.Where(q => range.InRange(q.GetUniformHashCode()));
    }
}
