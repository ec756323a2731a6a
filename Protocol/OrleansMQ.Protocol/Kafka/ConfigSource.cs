namespace OrleansMQ.Protocol.Kafka;

/// <summary>Where a config value comes from (int8 on the wire).</summary>
#pragma warning disable CA1028 // Wire type is int8.
public enum ConfigSource : sbyte
#pragma warning restore CA1028
{
    /// <summary>Also what a version without the field reads as.</summary>
    Unknown = 0,
    DynamicTopicConfig = 1,
    DynamicBrokerConfig = 2,
    DynamicDefaultBrokerConfig = 3,
    StaticBrokerConfig = 4,
    DefaultConfig = 5,
    DynamicBrokerLoggerConfig = 6,
}
