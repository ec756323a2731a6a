namespace OrleansMQ.Client.Producer;

/// <summary>Where a record was written.</summary>
/// <param name="Topic">The topic.</param>
/// <param name="Partition">The partition.</param>
/// <param name="Offset">The record's offset; -1 with <see cref="Acks.None"/> (no answer to read it from).</param>
/// <param name="Timestamp">The record's timestamp (Unix ms): the broker's append time on LogAppendTime topics, else the producer's create time.</param>
public readonly record struct DeliveryResult(string Topic, int Partition, long Offset, long Timestamp);

/// <summary>The outcome of one record, handed to an <see cref="IDeliveryHandler"/>.</summary>
public readonly struct DeliveryReport
{
    internal DeliveryReport(DeliveryResult result, KafkaException? error, object? state)
    {
        Result = result;
        Error = error;
        State = state;
    }

    /// <summary>Topic, partition, offset and timestamp (offset -1 on failure).</summary>
    public DeliveryResult Result { get; }

    /// <summary>Why the record was not delivered, or null when it was.</summary>
    public KafkaException? Error { get; }

    /// <summary>The state object given to <c>Produce</c>.</summary>
    public object? State { get; }

    /// <summary>True when the record was delivered.</summary>
    public bool IsSuccess => Error is null;
}

/// <summary>
/// Receives delivery reports without a per-record allocation: one handler instance serves any
/// number of records (tell them apart with the state object). Called on the producer's I/O
/// thread, in order per partition: keep it short and never block in it.
/// </summary>
public interface IDeliveryHandler
{
    /// <summary>One record was delivered or failed for good.</summary>
    void OnDelivery(in DeliveryReport report);
}
