namespace OrleansMQ.Protocol.Kafka;

/// <summary>Which leader ElectLeaders picks (int8 on the wire, v1+).</summary>
#pragma warning disable CA1028 // Wire type is int8.
public enum ElectionType : sbyte
#pragma warning restore CA1028
{
    /// <summary>The first replica of the assignment, if it is in the ISR.</summary>
    Preferred = 0,

    /// <summary>Any live replica when the ISR has none, accepting the loss of records only the old leader had.</summary>
    Unclean = 1,
}
