using Orleans;

namespace OrleansMQ.Silo.Cluster;

/// <summary>
/// Facts the whole cluster shares (one activation, key <see cref="Key"/>): the Kafka cluster id
/// that Metadata reports, and blocks of producer ids (InitProducerId must never hand one id to two
/// producers, whichever silo they ask). Kept in grain storage.
/// </summary>
public interface IClusterMetadataGrain : IGrainWithStringKey
{
    public const string Key = "cluster";

    /// <summary>Generated once (22 characters of base64url, as Kafka's) and kept.</summary>
    Task<string> GetKafkaClusterIdAsync();

    /// <summary>Reserves <paramref name="size"/> producer ids and returns the first; durable before it returns.</summary>
    Task<long> AllocateProducerIdsAsync(int size);

    /// <summary>
    /// Takes over facts kept before this grain existed (a data folder from the home-made grain
    /// host): the cluster id if none was generated yet, and producer ids from
    /// <paramref name="nextProducerId"/> on, so no id handed out then is handed out again.
    /// </summary>
    Task AdoptAsync(string? kafkaClusterId, long nextProducerId);
}
