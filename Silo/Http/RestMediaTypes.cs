namespace OrleansMQ.Silo.Http;

/// <summary>Confluent REST Proxy v2's media types (v3 uses plain <c>application/json</c>).</summary>
internal static class RestMediaTypes
{
    internal const string JsonV2 = "application/vnd.kafka.json.v2+json";
    internal const string BinaryV2 = "application/vnd.kafka.binary.v2+json";
    internal const string V2 = "application/vnd.kafka.v2+json";
}
