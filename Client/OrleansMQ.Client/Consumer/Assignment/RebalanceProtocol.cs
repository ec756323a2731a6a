namespace OrleansMQ.Client.Consumer.Assignment;

/// <summary>How members hand partitions over during a rebalance.</summary>
public enum RebalanceProtocol
{
    /// <summary>Every member revokes everything before joining; the new assignment is applied whole.</summary>
    Eager,

    /// <summary>
    /// Members keep consuming what they own while rejoining; a partition changes hands only after its
    /// owner has revoked it, which takes a second rebalance (KIP-429).
    /// </summary>
    Cooperative,
}
