using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Runtime;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Cluster;
using OrleansMQ.Silo.Kafka.Network;
using OrleansMQ.Silo.Topics;
using OrleansMQ.Storage;
using OrleansMQ.Storage.Engine;
using ErrorCode = OrleansMQ.Protocol.Kafka.ErrorCode;

namespace OrleansMQ.Silo.Kafka.Handlers;

/// <summary>
/// The cluster admin APIs that read or change replication state: DescribeCluster (the live
/// brokers), DescribeTopicPartitions (paged partition state), ElectLeaders (preferred and unclean,
/// decided by each topic's grain), AlterPartitionReassignments / ListPartitionReassignments
/// (Kafka's add-then-remove model, completed by the topic grain when the new replicas are in
/// sync) and DeleteRecords (the partition leader moves its log start; followers follow on their
/// next fetch). A change is applied to this silo's catalog before the answer, so the caller reads
/// its own write here; the other silos hear of it through the topic directory.
/// </summary>
internal sealed partial class ReplicationAdminHandlers
{
    /// <summary>The most partitions one DescribeTopicPartitions answer holds (Kafka's max.request.partition.size.limit default).</summary>
    public const int MaxPartitionsPerPage = 2000;

    private readonly TopicService _topics;
    private readonly BrokerDirectory _brokers;
    private readonly BrokerIdentity _identity;
    private readonly StorageEngine _storage;
    private readonly IGrainFactory _grains;
    private readonly ILogger _logger;

    public ReplicationAdminHandlers(TopicService topics, BrokerDirectory brokers, BrokerIdentity identity, StorageEngine storage, IGrainFactory grains, ILogger<ReplicationAdminHandlers> logger)
    {
        _topics = topics;
        _brokers = brokers;
        _identity = identity;
        _storage = storage;
        _grains = grains;
        _logger = logger;
    }

    /// <summary>DescribeCluster: the live brokers, the cluster id and the controller (the lowest live node id, as Metadata says).</summary>
    public DescribeClusterResponse DescribeCluster(DescribeClusterRequest request)
    {
        var live = _brokers.Live;
        var body = new DescribeClusterResponse
        {
            EndpointType = request.EndpointType,
            ClusterId = _identity.ClusterId,
            ControllerId = live.Count > 0 ? live[0].NodeId : _identity.NodeId,
            Brokers = live.Count > 0
                ? [.. live.Select(b => new DescribeClusterResponse.Broker { BrokerId = b.NodeId, Host = b.Host, Port = b.Port, Rack = b.Rack })]
                : [new DescribeClusterResponse.Broker { BrokerId = _identity.NodeId, Host = _identity.AdvertisedHost, Port = _identity.AdvertisedPort, Rack = null }],
            ClusterAuthorizedOperations = int.MinValue,
        };

        // Endpoint type 2 asks for KRaft controller endpoints: this cluster's controller is a grain, with no listener of its own.
        if (request.EndpointType != 1)
        {
            body.ErrorCode = ErrorCode.InvalidRequest;
            body.ErrorMessage = $"Endpoint type {request.EndpointType} is not served: only brokers (1) have endpoints; any broker takes controller requests.";
            body.Brokers = [];
        }

        return body;
    }

    /// <summary>
    /// DescribeTopicPartitions: the asked topics (none: every topic) in name order, each
    /// partition's leader (-1 with LEADER_NOT_AVAILABLE unless live, as Metadata), epoch, replicas,
    /// ISR and offline replicas; at most ResponsePartitionLimit partitions, with a cursor to go on.
    /// </summary>
    public async ValueTask DescribeTopicPartitionsAsync(RequestHeader header, DescribeTopicPartitionsRequest request, KafkaResponse response, CancellationToken cancellationToken)
    {
        int limit = Math.Clamp(request.ResponsePartitionLimit, 1, MaxPartitionsPerPage);
        var names = request.Topics.Count == 0
            ? _topics.Catalog.All.Select(t => t.Name).ToList()
            : request.Topics.Select(t => t.Name).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

        var body = new DescribeTopicPartitionsResponse();
        var live = _brokers.LiveIds;
        int budget = limit;
        foreach (string name in names)
        {
            // Topics before the cursor's were answered on an earlier page.
            if (request.Cursor is { } cursor && string.CompareOrdinal(name, cursor.TopicName) < 0)
            {
                continue;
            }

            var (topic, _) = await _topics.GetOrAutoCreateAsync(name, allowAutoCreate: false, cancellationToken).ConfigureAwait(false);
            if (topic is null)
            {
                body.Topics.Add(new DescribeTopicPartitionsResponse.Topic { Name = name, ErrorCode = ErrorCode.UnknownTopicOrPartition, IsInternal = TopicNames.IsInternal(name) });
                continue;
            }

            int first = request.Cursor is { } c && c.TopicName == name ? Math.Max(0, c.PartitionIndex) : 0;
            if (budget == 0)
            {
                body.NextCursor = new DescribeTopicPartitionsResponse.PageCursor { TopicName = name, PartitionIndex = first };
                break;
            }

            var result = new DescribeTopicPartitionsResponse.Topic { Name = topic.Name, TopicId = topic.TopicId, IsInternal = topic.IsInternal };
            body.Topics.Add(result);
            int p = first;
            for (; p < topic.Replicas.Length && budget > 0; p++, budget--)
            {
                var state = topic.Replicas[p].State;
                bool led = state.HasLeader && live.Contains(state.Leader);
                result.Partitions.Add(new DescribeTopicPartitionsResponse.Partition
                {
                    ErrorCode = led ? ErrorCode.None : ErrorCode.LeaderNotAvailable,
                    PartitionIndex = p,
                    LeaderId = led ? state.Leader : PartitionState.NoLeader,
                    LeaderEpoch = state.LeaderEpoch,
                    ReplicaNodes = [.. state.Replicas],
                    IsrNodes = [.. state.Isr],
                    EligibleLeaderReplicas = [.. state.EligibleLeaders],
                    LastKnownElr = [],
                    OfflineReplicas = [.. state.Offline(live)],
                });
            }

            if (p < topic.Replicas.Length)
            {
                body.NextCursor = new DescribeTopicPartitionsResponse.PageCursor { TopicName = name, PartitionIndex = p };
                break;
            }
        }

        await KafkaRequestProcessor.Respond(response, header, body).ConfigureAwait(false);
    }

    /// <summary>
    /// ElectLeaders: PREFERRED (v0 always) moves leadership to each partition's first replica when it
    /// is live and in sync; UNCLEAN gives a partition without a live leader the first live replica.
    /// No topic list means every partition of every topic.
    /// </summary>
    public async ValueTask ElectLeadersAsync(RequestHeader header, ElectLeadersRequest request, KafkaResponse response, CancellationToken cancellationToken)
    {
        var type = header.ApiVersion >= 1 ? request.ElectionType : ElectionType.Preferred;
        var wanted = request.TopicPartitions is { } asked
            ? asked.GroupBy(t => t.Name, StringComparer.Ordinal).Select(g => (g.Key, (int[]?)g.SelectMany(t => t.Partitions).Distinct().ToArray())).ToList()
            : _topics.Catalog.All.Select(t => (t.Name, (int[]?)null)).ToList();
        int[] live = [.. _brokers.LiveIds];

        var body = new ElectLeadersResponse { ErrorCode = ErrorCode.None };
        foreach (var (name, partitions) in wanted)
        {
            var result = new ElectLeadersResponse.Topic { Name = name };
            body.ReplicaElectionResults.Add(result);
            if (TopicNames.Validate(name) is not null)
            {
                result.PartitionResults.AddRange((partitions ?? []).Select(p => Failed(p, ErrorCode.UnknownTopicOrPartition, $"Topic '{name}' does not exist.")));
                continue;
            }

            var grain = _grains.GetGrain<ITopicGrain>(name);
            var changes = await CallAsync(
                () => type == ElectionType.Unclean ? grain.ElectUncleanAsync(partitions, live) : grain.ElectPreferredAsync(partitions, live),
                partitions,
                cancellationToken).ConfigureAwait(false);
            foreach (var change in changes)
            {
                var (code, message) = change.Error switch
                {
                    ReplicaStateError.None => (ErrorCode.None, (string?)null),
                    ReplicaStateError.ElectionNotNeeded => (ErrorCode.ElectionNotNeeded, $"Broker {change.State?.Leader} leads {name}-{change.Partition} already."),
                    ReplicaStateError.NotLeader => (ErrorCode.PreferredLeaderNotAvailable, $"The preferred leader of {name}-{change.Partition} (broker {change.State?.Replicas[0]}) is not live or not in the ISR."),
                    ReplicaStateError.EligibleLeadersNotAvailable => (ErrorCode.EligibleLeadersNotAvailable, $"No replica of {name}-{change.Partition} is live."),
                    ReplicaStateError.UnknownTopicOrPartition => (ErrorCode.UnknownTopicOrPartition, $"Partition {name}-{change.Partition} does not exist."),
                    ReplicaStateError.Unavailable => (ErrorCode.RequestTimedOut, "The topic's owner could not be reached; retry."),
                    var other => (ErrorCode.UnknownServerError, other.ToString()),
                };
                result.PartitionResults.Add(Failed(change.Partition, code, message));
                if (change.Error == ReplicaStateError.None)
                {
                    LogElected(_logger, type, name, change.Partition, change.State!.Leader, change.State.LeaderEpoch);
                }
            }
        }

        await KafkaRequestProcessor.Respond(response, header, body).ConfigureAwait(false);
    }

    /// <summary>
    /// AlterPartitionReassignments: starts moving each partition to its target replicas (every one
    /// a live, registered broker, named once) or, with null replicas, cancels the move in progress.
    /// </summary>
    public async ValueTask AlterPartitionReassignmentsAsync(RequestHeader header, AlterPartitionReassignmentsRequest request, KafkaResponse response, CancellationToken cancellationToken)
    {
        var body = new AlterPartitionReassignmentsResponse { ErrorCode = ErrorCode.None };
        var live = _brokers.LiveIds;
        foreach (var t in request.Topics)
        {
            var result = new AlterPartitionReassignmentsResponse.Topic { Name = t.Name };
            body.Responses.Add(result);
            var calls = new List<PartitionReassignment>();
            foreach (var p in t.Partitions)
            {
                if (RefuseTarget(t.Name, p, live) is { } refusal)
                {
                    LogReassignmentRefused(_logger, t.Name, p.PartitionIndex, refusal);
                    result.Partitions.Add(new AlterPartitionReassignmentsResponse.Partition { PartitionIndex = p.PartitionIndex, ErrorCode = ErrorCode.InvalidReplicaAssignment, ErrorMessage = refusal });
                    continue;
                }

                calls.Add(new PartitionReassignment(p.PartitionIndex, p.Replicas?.ToArray()));
            }

            if (calls.Count == 0)
            {
                continue;
            }

            if (TopicNames.Validate(t.Name) is not null || !_topics.Catalog.TryGet(t.Name, out _) && (await _topics.GetOrAutoCreateAsync(t.Name, allowAutoCreate: false, cancellationToken).ConfigureAwait(false)).Topic is null)
            {
                result.Partitions.AddRange(calls.Select(c => new AlterPartitionReassignmentsResponse.Partition { PartitionIndex = c.Partition, ErrorCode = ErrorCode.UnknownTopicOrPartition, ErrorMessage = $"Topic '{t.Name}' does not exist." }));
                continue;
            }

            var grain = _grains.GetGrain<ITopicGrain>(t.Name);
            var changes = await CallAsync(() => grain.ReassignAsync([.. calls], [.. live]), [.. calls.Select(c => c.Partition)], cancellationToken).ConfigureAwait(false);
            foreach (var change in changes)
            {
                var (code, message) = change.Error switch
                {
                    ReplicaStateError.None => (ErrorCode.None, (string?)null),
                    ReplicaStateError.NoReassignmentInProgress => (ErrorCode.NoReassignmentInProgress, $"No reassignment of {t.Name}-{change.Partition} is in progress."),
                    ReplicaStateError.InvalidReplicaAssignment => (ErrorCode.InvalidReplicaAssignment, $"The target replicas of {t.Name}-{change.Partition} must be distinct live brokers ({string.Join(',', live.Order())})."),
                    ReplicaStateError.UnknownTopicOrPartition => (ErrorCode.UnknownTopicOrPartition, $"Partition {t.Name}-{change.Partition} does not exist."),
                    ReplicaStateError.Unavailable => (ErrorCode.RequestTimedOut, "The topic's owner could not be reached; retry."),
                    var other => (ErrorCode.UnknownServerError, other.ToString()),
                };
                result.Partitions.Add(new AlterPartitionReassignmentsResponse.Partition { PartitionIndex = change.Partition, ErrorCode = code, ErrorMessage = message });
            }
        }

        await KafkaRequestProcessor.Respond(response, header, body).ConfigureAwait(false);
    }

    /// <summary>ListPartitionReassignments: the reassignments in progress (of the asked partitions, or of every topic), from this silo's catalog.</summary>
    public ListPartitionReassignmentsResponse ListPartitionReassignments(ListPartitionReassignmentsRequest request)
    {
        var body = new ListPartitionReassignmentsResponse { ErrorCode = ErrorCode.None };
        var wanted = _topics.Catalog.Select(request.Topics, t => t.Name, t => t.PartitionIndexes);

        foreach (var (topic, partitions) in wanted)
        {
            var entry = new ListPartitionReassignmentsResponse.Topic { Name = topic.Name };
            foreach (int p in partitions ?? Enumerable.Range(0, topic.Replicas.Length))
            {
                if ((uint)p < (uint)topic.Replicas.Length && topic.Replicas[p].State is { IsReassigning: true } state)
                {
                    entry.Partitions.Add(new ListPartitionReassignmentsResponse.Partition
                    {
                        PartitionIndex = p,
                        Replicas = [.. state.Replicas],
                        AddingReplicas = [.. state.AddingReplicas],
                        RemovingReplicas = [.. state.RemovingReplicas],
                    });
                }
            }

            if (entry.Partitions.Count > 0)
            {
                body.Topics.Add(entry);
            }
        }

        return body;
    }

    /// <summary>
    /// DeleteRecords: the partition's leader moves its log start to the asked offset (-1: the high
    /// watermark); above the replicated high watermark is OFFSET_OUT_OF_RANGE. Answers the new low
    /// watermark. Followers move theirs when their next fetch answer carries it.
    /// </summary>
    public DeleteRecordsResponse DeleteRecords(DeleteRecordsRequest request)
    {
        var body = new DeleteRecordsResponse();
        foreach (var t in request.Topics)
        {
            var result = new DeleteRecordsResponse.Topic { Name = t.Name };
            body.Topics.Add(result);
            _topics.Catalog.TryGet(t.Name, out var topic);
            foreach (var p in t.Partitions)
            {
                var answer = new DeleteRecordsResponse.Partition { PartitionIndex = p.PartitionIndex };
                result.Partitions.Add(answer);
                if (topic is null || (uint)p.PartitionIndex >= (uint)topic.Replicas.Length)
                {
                    answer.ErrorCode = ErrorCode.UnknownTopicOrPartition;
                    continue;
                }

                var replica = topic.Replicas[p.PartitionIndex];
                if (!replica.IsLeader)
                {
                    answer.ErrorCode = ErrorCode.NotLeaderOrFollower;
                    continue;
                }

                long highWatermark = replica.HighWatermark;
                long offset = p.Offset == -1 ? highWatermark : p.Offset;
                if (offset < 0 || offset > highWatermark)
                {
                    answer.ErrorCode = ErrorCode.OffsetOutOfRange;
                    continue;
                }

                try
                {
                    answer.LowWatermark = _storage.DeleteRecordsBefore(replica.Log, offset);
                    answer.ErrorCode = ErrorCode.None;
                    LogRecordsDeleted(_logger, t.Name, p.PartitionIndex, answer.LowWatermark);
                }
                catch (StorageException ex)
                {
                    answer.ErrorCode = ex.Error == StorageError.OffsetOutOfRange ? ErrorCode.OffsetOutOfRange : ErrorCode.KafkaStorageError;
                    LogDeleteFailed(_logger, t.Name, p.PartitionIndex, offset, ex.Message);
                }
            }
        }

        return body;
    }

    private static ElectLeadersResponse.Partition Failed(int partition, ErrorCode code, string? message) =>
        new() { PartitionIndex = partition, ErrorCode = code, ErrorMessage = message };

    /// <summary>Why a reassignment target is refused before it reaches the topic grain (null: it may go on; null replicas cancel).</summary>
    private string? RefuseTarget(string topic, AlterPartitionReassignmentsRequest.Partition p, IReadOnlySet<int> live)
    {
        if (p.Replicas is not { } replicas)
        {
            return null;
        }

        if (replicas.Count == 0)
        {
            return $"The target replicas of {topic}-{p.PartitionIndex} are empty.";
        }

        if (replicas.Distinct().Count() != replicas.Count)
        {
            return $"The target replicas of {topic}-{p.PartitionIndex} ({string.Join(',', replicas)}) name a broker twice.";
        }

        foreach (int id in replicas)
        {
            if (!live.Contains(id) || (id != _identity.NodeId && _brokers.Find(id) is null))
            {
                return $"Broker {id} in the target replicas of {topic}-{p.PartitionIndex} is not a live registered broker (live: {string.Join(',', live.Order())}).";
            }
        }

        return null;
    }

    /// <summary>
    /// Calls the topic grain and applies the published snapshot to this silo's catalog. A grain
    /// that cannot be reached answers every partition with <see cref="ReplicaStateError.Unavailable"/>.
    /// </summary>
    private async Task<PartitionChange[]> CallAsync(Func<Task<PartitionChange[]>> call, int[]? partitions, CancellationToken cancellationToken)
    {
        PartitionChange[] changes;
        try
        {
            changes = await call().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OrleansException)
        {
            LogGrainCallFailed(_logger, ex);
            return [.. (partitions ?? []).Select(p => new PartitionChange(p, ReplicaStateError.Unavailable, null))];
        }

        if (Array.Find(changes, c => c.Snapshot is not null)?.Snapshot is { } snapshot)
        {
            _topics.Catalog.Apply(snapshot);
        }

        return changes;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "ElectLeaders {Type}: {Topic}-{Partition} is led by broker {Leader} at epoch {Epoch}")]
    private static partial void LogElected(ILogger logger, ElectionType type, string topic, int partition, int leader, int epoch);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reassignment of {Topic}-{Partition} refused: {Reason}")]
    private static partial void LogReassignmentRefused(ILogger logger, string topic, int partition, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "DeleteRecords: {Topic}-{Partition} starts at offset {LowWatermark}")]
    private static partial void LogRecordsDeleted(ILogger logger, string topic, int partition, long lowWatermark);

    [LoggerMessage(Level = LogLevel.Warning, Message = "DeleteRecords of {Topic}-{Partition} before {Offset} failed: {Reason}")]
    private static partial void LogDeleteFailed(ILogger logger, string topic, int partition, long offset, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A topic grain call failed; the client is told to retry")]
    private static partial void LogGrainCallFailed(ILogger logger, Exception ex);
}
