using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Topics;

namespace OrleansMQ.Silo.Kafka.Handlers;

/// <summary>The Kafka error codes for topic refusals (storage refusals: <c>Silo/Produce</c>, the only path that meets them).</summary>
internal static class KafkaErrors
{
    /// <summary>The Kafka error for a topic refusal.</summary>
    public static ErrorCode ToErrorCode(TopicError error) => error switch
    {
        TopicError.None => ErrorCode.None,
        TopicError.InvalidTopic => ErrorCode.InvalidTopicException,
        TopicError.AlreadyExists => ErrorCode.TopicAlreadyExists,
        TopicError.UnknownTopic => ErrorCode.UnknownTopicOrPartition,
        TopicError.InvalidPartitions => ErrorCode.InvalidPartitions,
        TopicError.InvalidReplicationFactor => ErrorCode.InvalidReplicationFactor,
        TopicError.InvalidConfig => ErrorCode.InvalidConfig,
        TopicError.InvalidReplicaAssignment => ErrorCode.InvalidReplicaAssignment,
        TopicError.Unavailable => ErrorCode.RequestTimedOut,
        _ => ErrorCode.UnknownServerError,
    };
}
