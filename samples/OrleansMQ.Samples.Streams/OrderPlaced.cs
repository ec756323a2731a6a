using Orleans;

namespace OrleansMQ.Samples.Streams;

/// <summary>
/// The event on every customer's stream. Stream events travel Orleans-serialized inside the topic's
/// records, so the type needs Orleans' generated serializer (and stable field ids, because records
/// outlive the program that wrote them).
/// </summary>
/// <param name="Sequence">0, 1, 2, ... per customer: the subscriber checks the stream's order with it.</param>
[GenerateSerializer, Immutable]
public sealed record OrderPlaced([property: Id(0)] int Sequence, [property: Id(1)] decimal Amount);
