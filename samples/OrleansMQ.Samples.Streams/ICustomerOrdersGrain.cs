using Orleans;

namespace OrleansMQ.Samples.Streams;

/// <summary>The subscriber of one customer's order stream (the grain key is the stream key).</summary>
public interface ICustomerOrdersGrain : IGrainWithStringKey
{
    /// <summary>What arrived so far: the program polls this until every stream is complete.</summary>
    Task<StreamProgress> GetProgressAsync();
}

/// <param name="Received">Events delivered for the first time.</param>
/// <param name="Next">One past the highest sequence number seen: the stream is complete when it reaches the count sent.</param>
/// <param name="Redelivered">Events seen again (at-least-once: after a crash or a queue move, events since the last checkpoint come again).</param>
/// <param name="Skips">Times an event arrived before one of its predecessors: an order violation.</param>
/// <param name="Total">Sum of the amounts delivered for the first time.</param>
[GenerateSerializer, Immutable]
public sealed record StreamProgress(
    [property: Id(0)] int Received,
    [property: Id(1)] int Next,
    [property: Id(2)] int Redelivered,
    [property: Id(3)] int Skips,
    [property: Id(4)] decimal Total);
