using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Streams;
using OrleansMQ.Client.Producer;

namespace OrleansMQ.Streaming.Providers;

/// <summary>
/// The write side of the provider and the maker of receivers. One <c>OnNextBatchAsync</c> becomes one
/// Kafka record: key = the stream id (so one partition per stream and the partition's order is the
/// stream's order), value = the Orleans-serialized events, headers = stream id and event type. The
/// task completes when the broker has acknowledged the record with the configured acks.
/// </summary>
internal sealed class OrleansMQAdapter : IQueueAdapter, IAsyncDisposable
{
    private readonly OrleansMQStreamOptions _options;
    private readonly OrleansMQQueueMapper _mapper;
    private readonly Serializer _serializer;
    private readonly KafkaProducer _producer;
    private readonly Func<QueueId, IQueueAdapterReceiver> _createReceiver;

    public OrleansMQAdapter(string name, OrleansMQStreamOptions options, OrleansMQQueueMapper mapper, Serializer serializer, KafkaProducer producer, Func<QueueId, IQueueAdapterReceiver> createReceiver)
    {
        Name = name;
        _options = options;
        _mapper = mapper;
        _serializer = serializer;
        _producer = producer;
        _createReceiver = createReceiver;
    }

    public string Name { get; }

    // Subscribers may resume from any token still in the log: records stay until retention removes them.
    public bool IsRewindable => true;

    public StreamProviderDirection Direction => StreamProviderDirection.ReadWrite;

    public async Task QueueMessageBatchAsync<T>(StreamId streamId, IEnumerable<T> events, StreamSequenceToken? token, Dictionary<string, object>? requestContext)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (token is not null)
        {
            // The broker assigns offsets, and offsets are the tokens: a producer cannot choose one.
            throw new NotSupportedException("The OrleansMQ stream provider does not accept a sequence token from the producer; offsets are assigned by the broker.");
        }

        object[] items = [.. events.Select(e => (object)e!)];
        byte[] value = _serializer.SerializeToArray(new OrleansMQEventPayload { Events = items, RequestContext = requestContext });
        var (topic, partition) = _mapper.PartitionFor(streamId);
        var headers = StreamKeys.Headers(streamId, items.Length > 0 ? items[0] : null);

        // The partition is given explicitly, equal to what the murmur2 partitioner picks for this key,
        // so the queue mapper, the producer and any other Kafka producer of the same key all agree.
        await _producer.ProduceAsync(topic, StreamKeys.RecordKey(streamId).ToArray(), value, headers, partition).ConfigureAwait(false);
    }

    public IQueueAdapterReceiver CreateReceiver(QueueId queueId) => _createReceiver(queueId);

    public ValueTask DisposeAsync() => _producer.DisposeAsync();

    public override string ToString() => $"OrleansMQAdapter({Name}: {_options.BootstrapServers}, topics {string.Join(',', _mapper.Topics)})";
}
