using OrleansMQ.Silo.Kafka.Network;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Topics;

namespace OrleansMQ.Silo.Kafka.Handlers;

/// <summary>
/// Metadata: this node as the only broker and controller, and every requested topic with its
/// partitions (leader, replicas and ISR are this node). Unknown topics are auto-created when the
/// broker allows it and the request does (v4+ flag; earlier versions always ask).
/// </summary>
internal sealed class MetadataHandler
{
    private readonly TopicService _topics;
    private readonly BrokerIdentity _identity;

    public MetadataHandler(TopicService topics, BrokerIdentity identity)
    {
        _topics = topics;
        _identity = identity;
    }

    public async ValueTask HandleAsync(RequestHeader header, MetadataRequest request, KafkaResponse response, CancellationToken cancellationToken)
    {
        var body = new MetadataResponse
        {
            Brokers = [new MetadataResponse.Broker { NodeId = _identity.NodeId, Host = _identity.AdvertisedHost, Port = _identity.AdvertisedPort, Rack = null }],
            ClusterId = _identity.ClusterId,
            ControllerId = _identity.NodeId,
            ClusterAuthorizedOperations = int.MinValue,
        };

        if (request.Topics is null)
        {
            foreach (var topic in _topics.Catalog.All)
            {
                body.Topics.Add(Describe(topic));
            }
        }
        else
        {
            bool autoCreate = header.ApiVersion < 4 || request.AllowAutoTopicCreation;
            foreach (var name in request.Topics)
            {
                var (topic, error) = await _topics.GetOrAutoCreateAsync(name, autoCreate, cancellationToken).ConfigureAwait(false);
                body.Topics.Add(topic is not null
                    ? Describe(topic)
                    : new MetadataResponse.Topic { Name = name, ErrorCode = KafkaErrors.ToErrorCode(error), IsInternal = TopicNames.IsInternal(name), TopicAuthorizedOperations = int.MinValue });
            }
        }

        await KafkaRequestProcessor.Respond(response, header, body).ConfigureAwait(false);
    }

    private MetadataResponse.Topic Describe(TopicMetadata topic)
    {
        var result = new MetadataResponse.Topic
        {
            Name = topic.Name,
            ErrorCode = ErrorCode.None,
            IsInternal = topic.IsInternal,
            TopicAuthorizedOperations = int.MinValue,
        };
        for (int i = 0; i < topic.Partitions.Length; i++)
        {
            result.Partitions.Add(new MetadataResponse.Partition
            {
                ErrorCode = ErrorCode.None,
                PartitionIndex = i,
                LeaderId = _identity.NodeId,
                LeaderEpoch = 0,
                ReplicaNodes = [_identity.NodeId],
                IsrNodes = [_identity.NodeId],
                OfflineReplicas = [],
            });
        }

        return result;
    }
}
