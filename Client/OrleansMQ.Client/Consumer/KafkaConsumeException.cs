using OrleansMQ.Protocol;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Client.Consumer;

/// <summary>
/// A partition cannot be consumed at its position: OFFSET_OUT_OF_RANGE with <see cref="AutoOffsetReset.Error"/>,
/// a batch compressed with a codec this client cannot read (UNSUPPORTED_COMPRESSION_TYPE: snappy, lz4, zstd)
/// or a corrupt batch (CORRUPT_MESSAGE). The partition stays stopped at <see cref="Offset"/> until
/// <see cref="KafkaConsumer.Seek"/> moves it (for example past the batch); other partitions keep flowing.
/// </summary>
public sealed class KafkaConsumeException : KafkaException
{
    public KafkaConsumeException()
        : this(ErrorCode.UnknownServerError, "Consume failed.", new TopicPartition("", -1), -1)
    {
    }

    public KafkaConsumeException(string message)
        : this(ErrorCode.UnknownServerError, message, new TopicPartition("", -1), -1)
    {
    }

    public KafkaConsumeException(string message, Exception innerException)
        : this(ErrorCode.UnknownServerError, message, new TopicPartition("", -1), -1, innerException)
    {
    }

    public KafkaConsumeException(ErrorCode errorCode, string message, TopicPartition topicPartition, long offset, Exception? innerException = null)
        : base(errorCode, message, innerException)
    {
        TopicPartition = topicPartition;
        Offset = offset;
    }

    /// <summary>The partition that stopped.</summary>
    public TopicPartition TopicPartition { get; }

    /// <summary>The offset it stopped at (the first offset of the unreadable batch).</summary>
    public long Offset { get; }

    /// <summary>For an unreadable batch: the offset just after it, a <see cref="KafkaConsumer.Seek"/> target that skips it (-1 when unknown).</summary>
    public long NextOffset { get; init; } = -1;

    public override bool IsRetriable => false;
}
