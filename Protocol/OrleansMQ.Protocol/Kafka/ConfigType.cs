namespace OrleansMQ.Protocol.Kafka;

/// <summary>The data type of a config value (int8 on the wire); names mirror Kafka's.</summary>
#pragma warning disable CA1028 // Wire type is int8.
#pragma warning disable CA1720 // The names are Kafka's config type names.
public enum ConfigType : sbyte
{
    Unknown = 0,
    Boolean = 1,
    String = 2,
    Int = 3,
    Short = 4,
    Long = 5,
    Double = 6,
    List = 7,
    Class = 8,
    Password = 9,
}
#pragma warning restore CA1720
#pragma warning restore CA1028
