using OrleansMQ.Silo.Kafka.Network;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Topics;

namespace OrleansMQ.Silo.Kafka.Handlers;

/// <summary>
/// Metadata: this node as the only broker and controller, and every requested topic with its
/// partitions (leader, replicas and ISR are this node). Unknown topics are auto-created when the
/// broker allows it and the request does (v4+ flag; earlier versions always ask).
/// </summary>
internal static class MetadataHandler
{
    public static async ValueTask HandleAsync(BrokerContext broker, RequestHeader header, MetadataRequest request, KafkaResponse response, CancellationToken cancellationToken)
    {
        var body = new MetadataResponse
        {
            Brokers = [new MetadataResponse.Broker { NodeId = broker.NodeId, Host = broker.AdvertisedHost, Port = broker.AdvertisedPort, Rack = null }],
            ClusterId = broker.ClusterId,
            ControllerId = broker.NodeId,
            ClusterAuthorizedOperations = int.MinValue,
        };

        if (request.Topics is null)
        {
            foreach (var topic in broker.Topics.Catalog.All)
            {
                body.Topics.Add(Describe(broker, topic));
            }
        }
        else
        {
            bool autoCreate = header.ApiVersion < 4 || request.AllowAutoTopicCreation;
            foreach (var name in request.Topics)
            {
                var (topic, error) = await broker.Topics.GetOrAutoCreateAsync(name, autoCreate, cancellationToken).ConfigureAwait(false);
                body.Topics.Add(topic is not null
                    ? Describe(broker, topic)
                    : new MetadataResponse.Topic { Name = name, ErrorCode = BrokerContext.ToErrorCode(error), IsInternal = TopicNames.IsInternal(name), TopicAuthorizedOperations = int.MinValue });
            }
        }

        await KafkaRequestProcessor.Respond(response, header, body).ConfigureAwait(false);
    }

    private static MetadataResponse.Topic Describe(BrokerContext broker, TopicMetadata topic)
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
                LeaderId = broker.NodeId,
                LeaderEpoch = 0,
                ReplicaNodes = [broker.NodeId],
                IsrNodes = [broker.NodeId],
                OfflineReplicas = [],
            });
        }

        return result;
    }
}
