namespace OrleansMQ.Silo.Kafka;

/// <summary>
/// Who this broker is to Kafka clients: its node id and advertised address (Metadata,
/// FindCoordinator) and the cluster id. The advertised port and the cluster id are known only once
/// the broker starts (the listener binds, port 0 picks one; the id comes from the cluster metadata
/// grain); the Kafka hosted service sets them before the listener answers anything.
/// </summary>
public sealed class BrokerIdentity
{
    public BrokerIdentity(BrokerSettings settings)
    {
        NodeId = settings.NodeId;
        AdvertisedHost = settings.EffectiveAdvertisedHost;
    }

    public int NodeId { get; }

    public string AdvertisedHost { get; }

    /// <summary>Set once the listener is bound (port 0 picks one).</summary>
    public int AdvertisedPort { get; set; }

    /// <summary>The Kafka cluster id; set at start.</summary>
    public string ClusterId { get; set; } = "";
}
