namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// A request or response body of one Kafka API, readable and writable in every version the
/// broker supports (<see cref="ApiVersionsTable"/>). Headers are separate: see
/// <see cref="RequestHeader"/> and <see cref="ResponseHeader"/>.
/// </summary>
public interface IKafkaMessage<TSelf>
    where TSelf : IKafkaMessage<TSelf>
{
    /// <summary>The API this message belongs to.</summary>
    static abstract ApiKey ApiKey { get; }

    /// <summary>Reads the body in <paramref name="version"/>; malformed bytes throw <see cref="KafkaProtocolException"/>.</summary>
    static abstract TSelf Read(ref KafkaReader reader, short version);

    /// <summary>Writes the body in <paramref name="version"/>; fields the version lacks are left out.</summary>
    void Write(ref KafkaWriter writer, short version);
}
