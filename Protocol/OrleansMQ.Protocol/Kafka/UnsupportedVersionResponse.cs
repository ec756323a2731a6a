using System.Buffers;

namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// What to send for a request whose API or version this broker does not answer.
/// </summary>
/// <remarks>
/// Kafka answers exactly one such case: an ApiVersions request of a version it does not know
/// gets an ApiVersions v0 response (response header v0) with UNSUPPORTED_VERSION and the full
/// supported list, so the client can retry at the highest version both sides share (KIP-511;
/// librdkafka, kafkajs and the Java client all rely on it). For any other API or version no
/// well-formed response exists — its layout is unknown — and Kafka closes the connection; so
/// does <see cref="TryWrite"/>'s caller when it returns false.
/// </remarks>
public static class UnsupportedVersionResponse
{
    /// <summary>
    /// Writes the whole response (header and body) for <paramref name="header"/> if Kafka has
    /// one for it; returns false if the connection should be closed instead.
    /// </summary>
    public static bool TryWrite(in RequestHeader header, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (header.ApiKey != ApiKey.ApiVersions)
        {
            return false;
        }

        var writer = new KafkaWriter(output);
        writer.WriteInt32(header.CorrelationId); // response header v0, whatever version was asked
        ApiVersionsResponse.FromTable(ErrorCode.UnsupportedVersion).Write(ref writer, 0);
        return true;
    }
}
