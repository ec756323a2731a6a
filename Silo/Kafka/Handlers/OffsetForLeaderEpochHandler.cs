using Microsoft.Extensions.Logging;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Storage.Engine;
using OrleansMQ.Silo.Topics;

namespace OrleansMQ.Silo.Kafka.Handlers;

/// <summary>
/// OffsetForLeaderEpoch (KIP-101, KIP-279): the leader tells a follower where a leader epoch ended
/// in its log — the start of the next epoch it knows, or its log end for the current one — so the
/// follower can truncate what it appended under an epoch the leader never saw through. Only the
/// partition's leader answers; a caller's current epoch older than the leader's is fenced
/// (FENCED_LEADER_EPOCH), a newer one is unknown here (UNKNOWN_LEADER_EPOCH).
/// </summary>
internal sealed partial class OffsetForLeaderEpochHandler
{
    private readonly TopicCatalog _catalog;
    private readonly StorageEngine _storage;
    private readonly ILogger _logger;

    public OffsetForLeaderEpochHandler(TopicCatalog catalog, StorageEngine storage, ILogger<OffsetForLeaderEpochHandler> logger)
    {
        _catalog = catalog;
        _storage = storage;
        _logger = logger;
    }

    public OffsetForLeaderEpochResponse Handle(OffsetForLeaderEpochRequest request)
    {
        var body = new OffsetForLeaderEpochResponse();
        foreach (var t in request.Topics)
        {
            var topicResult = new OffsetForLeaderEpochResponse.Topic { Name = t.Name };
            body.Topics.Add(topicResult);
            _catalog.TryGet(t.Name, out var topic);
            foreach (var p in t.Partitions)
            {
                var result = new OffsetForLeaderEpochResponse.Partition { PartitionIndex = p.PartitionIndex, LeaderEpoch = -1, EndOffset = -1 };
                topicResult.Partitions.Add(result);
                if (topic is null || p.PartitionIndex < 0 || p.PartitionIndex >= topic.Replicas.Length)
                {
                    result.ErrorCode = ErrorCode.UnknownTopicOrPartition;
                    continue;
                }

                var replica = topic.Replicas[p.PartitionIndex];
                result.ErrorCode = p.CurrentLeaderEpoch >= 0 && p.CurrentLeaderEpoch < replica.LeaderEpoch ? ErrorCode.FencedLeaderEpoch
                    : p.CurrentLeaderEpoch > replica.LeaderEpoch ? ErrorCode.UnknownLeaderEpoch
                    : !replica.IsLeader ? ErrorCode.NotLeaderOrFollower
                    : ErrorCode.None;
                if (result.ErrorCode != ErrorCode.None)
                {
                    LogRefused(_logger, t.Name, p.PartitionIndex, request.ReplicaId, result.ErrorCode, p.CurrentLeaderEpoch, replica.LeaderEpoch);
                    continue;
                }

                // From the epochs the stored batches carry (no separate checkpoint to keep in step).
                (result.LeaderEpoch, result.EndOffset) = _storage.EndOffsetForLeaderEpoch(replica.Log, p.LeaderEpoch);
            }
        }

        return body;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "OffsetForLeaderEpoch {Topic}-{Partition} from replica id {ReplicaId} refused: {Error} (its leader epoch {TheirEpoch}, ours {OurEpoch})")]
    private static partial void LogRefused(ILogger logger, string topic, int partition, int replicaId, ErrorCode error, int theirEpoch, int ourEpoch);
}
