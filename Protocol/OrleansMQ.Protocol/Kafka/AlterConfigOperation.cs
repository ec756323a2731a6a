namespace OrleansMQ.Protocol.Kafka;

/// <summary>What IncrementalAlterConfigs does with one config (int8 on the wire).</summary>
#pragma warning disable CA1028 // Wire type is int8.
public enum AlterConfigOperation : sbyte
#pragma warning restore CA1028
{
    /// <summary>Sets the value.</summary>
    Set = 0,

    /// <summary>Removes the dynamic value: the config goes back to its default.</summary>
    Delete = 1,

    /// <summary>Adds the value's items to a list config.</summary>
    Append = 2,

    /// <summary>Removes the value's items from a list config.</summary>
    Subtract = 3,
}
