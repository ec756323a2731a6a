namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// Bytes from the wire do not form a valid Kafka message: truncated, a length or count that
/// cannot fit in what remains, a varint that is too long, an unsupported version. The
/// connection answers with an error where Kafka would, and otherwise closes.
/// </summary>
public sealed class KafkaProtocolException : Exception
{
    public KafkaProtocolException()
        : base("Malformed Kafka request.")
    {
    }

    public KafkaProtocolException(string message)
        : base(message)
    {
    }

    public KafkaProtocolException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
