using OrleansMQ.Silo.Kafka.Network;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Cluster;
using OrleansMQ.Silo.Topics;

namespace OrleansMQ.Silo.Kafka.Handlers;

/// <summary>
/// Metadata: every live broker (the registry the controller keeps, filtered by Orleans
/// membership), and every requested topic with each partition's leader, leader epoch, replicas,
/// ISR and offline replicas as its topic grain last published them. A partition without a live
/// leader answers LEADER_NOT_AVAILABLE with leader -1, never a stale leader. Unknown topics are
/// auto-created when the broker allows it and the request does (v4+ flag; earlier versions always ask).
/// </summary>
internal sealed class MetadataHandler
{
    private readonly TopicService _topics;
    private readonly BrokerIdentity _identity;
    private readonly BrokerDirectory _brokers;

    public MetadataHandler(TopicService topics, BrokerIdentity identity, BrokerDirectory brokers)
    {
        _topics = topics;
        _identity = identity;
        _brokers = brokers;
    }

    public async ValueTask HandleAsync(RequestHeader header, MetadataRequest request, KafkaResponse response, CancellationToken cancellationToken)
    {
        var live = _brokers.Live;
        var body = new MetadataResponse
        {
            Brokers = live.Count > 0
                ? [.. live.Select(b => new MetadataResponse.Broker { NodeId = b.NodeId, Host = b.Host, Port = b.Port, Rack = b.Rack })]
                : [new MetadataResponse.Broker { NodeId = _identity.NodeId, Host = _identity.AdvertisedHost, Port = _identity.AdvertisedPort, Rack = null }],
            ClusterId = _identity.ClusterId,
            // Kafka clients only use the controller id to send controller requests, which any silo takes.
            ControllerId = live.Count > 0 ? live[0].NodeId : _identity.NodeId,
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
        var live = _brokers.LiveIds;
        for (int i = 0; i < topic.Replicas.Length; i++)
        {
            var state = topic.Replicas[i].State;
            bool led = state.HasLeader && live.Contains(state.Leader);
            result.Partitions.Add(new MetadataResponse.Partition
            {
                ErrorCode = led ? ErrorCode.None : ErrorCode.LeaderNotAvailable,
                PartitionIndex = i,
                LeaderId = led ? state.Leader : PartitionState.NoLeader,
                LeaderEpoch = state.LeaderEpoch,
                ReplicaNodes = [.. state.Replicas],
                IsrNodes = [.. state.Isr],
                OfflineReplicas = [.. state.Offline(live)],
            });
        }

        return result;
    }
}
