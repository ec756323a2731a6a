using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Topics;
using OrleansMQ.Storage.Engine;

namespace OrleansMQ.Silo.Kafka.Handlers;

/// <summary>ListOffsets on the partition's leader: earliest (-2), latest (-1: the high watermark), or the first committed offset at or after a timestamp.</summary>
internal sealed class ListOffsetsHandler
{
    private const long Latest = -1;
    private const long Earliest = -2;

    private readonly TopicCatalog _catalog;
    private readonly StorageEngine _storage;

    public ListOffsetsHandler(TopicCatalog catalog, StorageEngine storage)
    {
        _catalog = catalog;
        _storage = storage;
    }

    public ListOffsetsResponse Handle(ListOffsetsRequest request)
    {
        var body = new ListOffsetsResponse();
        foreach (var t in request.Topics)
        {
            var topicResult = new ListOffsetsResponse.Topic { Name = t.Name };
            body.Topics.Add(topicResult);
            _catalog.TryGet(t.Name, out var topic);
            foreach (var p in t.Partitions)
            {
                var result = new ListOffsetsResponse.Partition { PartitionIndex = p.PartitionIndex, Timestamp = -1, Offset = -1, LeaderEpoch = 0 };
                topicResult.Partitions.Add(result);
                if (topic is null || p.PartitionIndex < 0 || p.PartitionIndex >= topic.Partitions.Length)
                {
                    result.ErrorCode = ErrorCode.UnknownTopicOrPartition;
                    continue;
                }

                var log = topic.Partitions[p.PartitionIndex];
                var replica = topic.Replicas[p.PartitionIndex];
                result.LeaderEpoch = replica.LeaderEpoch;
                if (!replica.IsLeader)
                {
                    // Offsets come from the leader (what it has committed), as in Kafka.
                    result.ErrorCode = ErrorCode.NotLeaderOrFollower;
                    continue;
                }

                switch (p.Timestamp)
                {
                    case Latest:
                        result.Offset = replica.HighWatermark;
                        break;
                    case Earliest:
                        result.Offset = log.LogStartOffset;
                        break;
                    case < 0:
                        result.ErrorCode = ErrorCode.InvalidRequest; // -3 (max timestamp) needs v7, which is not offered
                        break;
                    default:
                        if (_storage.FindOffsetByTimestamp(log, p.Timestamp) is { } found && found.Offset < replica.HighWatermark)
                        {
                            result.Offset = found.Offset;
                            result.Timestamp = found.Timestamp;
                        }

                        break;
                }

                // v0 answers with a list of offsets (old style); one is what clients use.
                if (result.ErrorCode == ErrorCode.None && result.Offset >= 0)
                {
                    result.OldStyleOffsets = [result.Offset];
                }
            }
        }

        return body;
    }
}
