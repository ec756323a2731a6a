using Orleans;

namespace OrleansMQ.Streaming.Providers;

/// <summary>
/// The value of one Kafka record: the events of one <c>OnNextBatchAsync</c>/<c>OnNextAsync</c> call and
/// the caller's request context, Orleans-serialized. The stream id and event type travel in headers.
/// </summary>
[GenerateSerializer]
[Alias("OrleansMQ.Streaming.OrleansMQEventPayload")]
internal sealed class OrleansMQEventPayload
{
    [Id(0)]
    public required object[] Events { get; init; }

    [Id(1)]
    public Dictionary<string, object>? RequestContext { get; init; }
}
