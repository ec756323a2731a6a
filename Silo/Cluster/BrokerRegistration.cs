using Orleans;
using Orleans.Runtime;

namespace OrleansMQ.Silo.Cluster;

/// <summary>
/// A silo as a Kafka broker: its stable node id (OrleansMQ:Broker:NodeId), the address clients
/// and followers connect to, its rack, and the Orleans silo it runs in (whose membership status
/// says whether the broker is live).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record BrokerRegistration(
    [property: Id(0)] int NodeId,
    [property: Id(1)] string Host,
    [property: Id(2)] int Port,
    [property: Id(3)] string? Rack,
    [property: Id(4)] SiloAddress Silo);

/// <summary>The registered brokers and which of them are live (their silo is Active in Orleans' membership).</summary>
[GenerateSerializer, Immutable]
public sealed record BrokerView(
    [property: Id(0)] BrokerRegistration[] Brokers,
    [property: Id(1)] int[] Live);
