using Orleans;
using Orleans.Runtime;
using Orleans.Streams;

namespace OrleansMQ.Streaming.Providers;

/// <summary>
/// The events of one Kafka record, as the pulling agent and the queue cache see them. It is built by
/// the receiver from a record it has already deserialized; Orleans serializes it when the pulling
/// agent delivers it to a subscriber on another silo.
/// </summary>
[GenerateSerializer]
[Alias("OrleansMQ.Streaming.OrleansMQBatchContainer")]
public sealed class OrleansMQBatchContainer : IBatchContainer
{
    [Id(0)]
    private readonly object[] _events;
    [Id(1)]
    private readonly Dictionary<string, object>? _requestContext;
    [Id(2)]
    private readonly OrleansMQSequenceToken _token;

    internal OrleansMQBatchContainer(StreamId streamId, object[] events, Dictionary<string, object>? requestContext, long offset)
    {
        StreamId = streamId;
        _events = events;
        _requestContext = requestContext;
        _token = new OrleansMQSequenceToken(offset, 0);
    }

    /// <inheritdoc />
    [Id(3)]
    public StreamId StreamId { get; }

    /// <inheritdoc />
    public StreamSequenceToken SequenceToken => _token;

    /// <summary>The partition offset of the record this batch came from.</summary>
    public long Offset => _token.SequenceNumber;

    /// <summary>How many events the batch holds.</summary>
    public int Count => _events.Length;

    /// <inheritdoc />
    public IEnumerable<Tuple<T, StreamSequenceToken>> GetEvents<T>()
    {
        // The index is the event's position in the record, not among the events of type T, so a
        // token names the same event whatever type a subscriber asks for.
        for (int i = 0; i < _events.Length; i++)
        {
            if (_events[i] is T item)
            {
                yield return Tuple.Create<T, StreamSequenceToken>(item, i == 0 ? _token : new OrleansMQSequenceToken(_token.SequenceNumber, i));
            }
        }
    }

    /// <inheritdoc />
    public bool ImportRequestContext()
    {
        if (_requestContext is null)
        {
            return false;
        }

        RequestContextExtensions.Import(_requestContext);
        return true;
    }

    /// <inheritdoc />
    public override string ToString() => $"[OrleansMQBatchContainer: Stream={StreamId}, Offset={Offset}, Events={_events.Length}]";
}
