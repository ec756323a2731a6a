using Microsoft.AspNetCore.Http;
using OrleansMQ.Silo.Kafka;
using OrleansMQ.Silo.Topics;

namespace OrleansMQ.Silo.Http.RestV3;

/// <summary>
/// What the v3 endpoints share: the cluster id check, resource and list metadata with absolute
/// links, topic lookup with v3's 404, and v3's problem flavour (<c>error_code</c> = the status or a
/// finer code).
/// </summary>
internal sealed class RestV3Resources
{
    internal const string Root = "/v3/clusters";

    private readonly BrokerIdentity _identity;
    private readonly TopicService _topics;

    public RestV3Resources(BrokerIdentity identity, TopicService topics)
    {
        _identity = identity;
        _topics = topics;
    }

    public string ClusterId => _identity.ClusterId;

    public BrokerIdentity Identity => _identity;

    /// <summary>Null when the id is this cluster's; otherwise the 404 to answer.</summary>
    public IResult? Cluster(string clusterId) =>
        clusterId == ClusterId ? null : Problem(404, "Cluster not found", $"Cluster '{clusterId}' not found; this cluster is '{ClusterId}'.");

    public static string BaseUrl(HttpContext c) => c.Request.Scheme + "://" + c.Request.Host.Value;

    public static RelatedV3 Related(HttpContext c, string path) => new(BaseUrl(c) + path);

    public static ListMetadataV3 ListMetadata(HttpContext c, string path) => new(BaseUrl(c) + path, null);

    public ResourceMetadataV3 ResourceMetadata(HttpContext c, string path, string resource) => new(BaseUrl(c) + path, $"crn:///kafka={ClusterId}" + resource);

    /// <summary>REST Proxy v3 errors carry <c>error_code</c> (the HTTP status, or a finer code) and <c>message</c>.</summary>
    public static IResult Problem(int status, string title, string detail, int? errorCode = null) => GatewayResults.Problem(status, title, detail, errorCode ?? status);

    public async Task<(TopicMetadata? Topic, IResult? Error)> TopicAsync(string clusterId, string topicName, CancellationToken cancellationToken)
    {
        if (Cluster(clusterId) is { } error)
        {
            return (null, error);
        }

        var (meta, _) = await _topics.GetOrAutoCreateAsync(topicName, allowAutoCreate: false, cancellationToken).ConfigureAwait(false);
        return meta is null ? (null, Problem(404, "Topic not found", $"This server does not host topic '{topicName}'.")) : (meta, null);
    }

    public TopicV3 Topic(HttpContext c, TopicMetadata topic)
    {
        string self = $"{Root}/{ClusterId}/topics/{topic.Name}";
        return new TopicV3(
            ResourceMetadata(c, self, $"/topic={topic.Name}"),
            ClusterId,
            topic.Name,
            topic.IsInternal,
            ReplicationFactor: 1,
            topic.Partitions.Length,
            Related(c, self + "/partitions"),
            Related(c, self + "/configs"),
            Related(c, self + "/partitions/-/reassignment"));
    }
}
