namespace OrleansMQ.Protocol.Kafka;

/// <summary>The resource a config belongs to (int8 on the wire).</summary>
#pragma warning disable CA1028 // Wire type is int8.
public enum ConfigResourceType : sbyte
#pragma warning restore CA1028
{
    Unknown = 0,
    Topic = 2,
    Broker = 4,
    BrokerLogger = 8,
}
