using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Topics;
using OrleansMQ.Storage;

namespace OrleansMQ.Silo.Kafka.Handlers;

/// <summary>The Kafka error codes for storage and topic refusals.</summary>
internal static class KafkaErrors
{
    /// <summary>The Kafka error for a storage refusal.</summary>
    public static ErrorCode ToErrorCode(StorageError error) => error switch
    {
        StorageError.CorruptBatch => ErrorCode.CorruptMessage,
        StorageError.MessageTooLarge => ErrorCode.MessageTooLarge,
        StorageError.UnknownPartition => ErrorCode.UnknownTopicOrPartition,
        _ => ErrorCode.KafkaStorageError,
    };

    public static ErrorCode ToErrorCode(TopicError error) => error switch
    {
        TopicError.None => ErrorCode.None,
        TopicError.InvalidTopic => ErrorCode.InvalidTopicException,
        TopicError.AlreadyExists => ErrorCode.TopicAlreadyExists,
        TopicError.UnknownTopic => ErrorCode.UnknownTopicOrPartition,
        TopicError.InvalidPartitions => ErrorCode.InvalidPartitions,
        TopicError.InvalidReplicationFactor => ErrorCode.InvalidReplicationFactor,
        TopicError.InvalidConfig => ErrorCode.InvalidConfig,
        TopicError.Unavailable => ErrorCode.RequestTimedOut,
        _ => ErrorCode.UnknownServerError,
    };
}
