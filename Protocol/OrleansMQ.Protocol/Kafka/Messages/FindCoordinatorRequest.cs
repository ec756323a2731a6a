namespace OrleansMQ.Protocol.Kafka;

/// <remarks>The fields are in <c>FindCoordinatorRequest.msg</c>.</remarks>
public sealed partial class FindCoordinatorRequest
{
    /// <summary><see cref="KeyType"/> of a consumer group.</summary>
    public const sbyte GroupKeyType = 0;

    /// <summary><see cref="KeyType"/> of a transactional producer.</summary>
    public const sbyte TransactionKeyType = 1;
}
