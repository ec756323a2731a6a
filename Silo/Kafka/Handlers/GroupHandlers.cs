using System.Net;
using OrleansMQ.Silo.Cluster;
using OrleansMQ.Silo.Groups;
using OrleansMQ.Silo.Kafka.Network;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Topics;

namespace OrleansMQ.Silo.Kafka.Handlers;

/// <summary>
/// The consumer-group APIs: wire models in, <see cref="GroupService"/> calls, wire models out.
/// Byte fields are copied out of the request frame (the frame's buffer is reused after the
/// request; a group keeps metadata and assignments for the life of a generation).
/// </summary>
public sealed class GroupHandlers
{
    private readonly TopicCatalog _catalog;
    private readonly BrokerIdentity _identity;
    private readonly BrokerDirectory _brokers;

    public GroupHandlers(GroupService groups, TopicCatalog catalog, BrokerIdentity identity, BrokerDirectory brokers)
    {
        Groups = groups;
        _catalog = catalog;
        _identity = identity;
        _brokers = brokers;
    }

    /// <summary>
    /// FindCoordinator for a group: the broker leading the offsets partition (see
    /// <see cref="GroupService.Coordinator"/>), with its advertised address from the broker
    /// registry. Transactions are not supported: their coordinator is never available.
    /// </summary>
    public FindCoordinatorResponse FindCoordinator(FindCoordinatorRequest request)
    {
        if (request.KeyType != 0)
        {
            return new FindCoordinatorResponse { ErrorCode = ErrorCode.CoordinatorNotAvailable, ErrorMessage = "Transactions are not supported.", NodeId = -1, Host = "", Port = -1 };
        }

        var (node, error) = Groups.Coordinator();
        if (error == GroupError.None && node == _identity.NodeId)
        {
            return new FindCoordinatorResponse { ErrorCode = ErrorCode.None, NodeId = _identity.NodeId, Host = _identity.AdvertisedHost, Port = _identity.AdvertisedPort };
        }

        if (error == GroupError.None && _brokers.Find(node) is { } broker && _brokers.LiveIds.Contains(node))
        {
            return new FindCoordinatorResponse { ErrorCode = ErrorCode.None, NodeId = broker.NodeId, Host = broker.Host, Port = broker.Port };
        }

        return new FindCoordinatorResponse
        {
            ErrorCode = ErrorCode.CoordinatorNotAvailable,
            ErrorMessage = error == GroupError.None ? $"Broker {node} coordinates the groups but is not live here yet." : "The group coordinator (the leader of __consumer_offsets-0) is not available yet.",
            NodeId = -1,
            Host = "",
            Port = -1,
        };
    }

    private GroupService Groups { get; }

    /// <summary>The error every call answers with before the group is consulted, if any.</summary>
    private GroupError Precheck(string groupId) =>
        string.IsNullOrEmpty(groupId) ? GroupError.InvalidGroupId : Groups.CoordinatorAvailability;

    public async ValueTask JoinGroupAsync(ConnectionContext connection, RequestHeader header, JoinGroupRequest request, KafkaResponse response, CancellationToken cancellationToken)
    {
        var error = Precheck(request.GroupId);
        JoinGroupOutcome outcome;
        if (error != GroupError.None)
        {
            outcome = JoinGroupOutcome.Failed(error, request.MemberId);
        }
        else
        {
            var call = new JoinGroupCall
            {
                MemberId = request.MemberId,
                GroupInstanceId = request.GroupInstanceId,
                ClientId = header.ClientId ?? "",
                ClientHost = ClientHost(connection.Remote),
                SessionTimeoutMs = request.SessionTimeoutMs,
                // v0 has no rebalance timeout: Kafka uses the session timeout for both.
                RebalanceTimeoutMs = header.ApiVersion == 0 ? request.SessionTimeoutMs : request.RebalanceTimeoutMs,
                ProtocolType = request.ProtocolType,
                Protocols = request.Protocols.Select(p => new GroupProtocol(p.Name, p.Metadata.ToArray())).ToList(),
                RequireKnownMemberId = header.ApiVersion >= 4,
            };
            outcome = await Groups.JoinAsync(request.GroupId, call, cancellationToken).ConfigureAwait(false);
        }

        var body = new JoinGroupResponse
        {
            ErrorCode = ToErrorCode(outcome.Error),
            GenerationId = outcome.GenerationId,
            ProtocolType = outcome.ProtocolType,
            ProtocolName = outcome.ProtocolName,
            Leader = outcome.LeaderId,
            MemberId = outcome.MemberId,
            Members = outcome.Members.Select(m => new JoinGroupResponse.Member { MemberId = m.MemberId, GroupInstanceId = m.GroupInstanceId, Metadata = m.Metadata }).ToList(),
        };
        await KafkaRequestProcessor.Respond(response, header, body).ConfigureAwait(false);
    }

    public async ValueTask SyncGroupAsync(RequestHeader header, SyncGroupRequest request, KafkaResponse response, CancellationToken cancellationToken)
    {
        var error = Precheck(request.GroupId);
        SyncGroupOutcome outcome;
        if (error != GroupError.None)
        {
            outcome = SyncGroupOutcome.Failed(error);
        }
        else
        {
            var assignments = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            foreach (var a in request.Assignments)
            {
                assignments[a.MemberId] = a.AssignmentBytes.ToArray();
            }

            outcome = await Groups.SyncAsync(request.GroupId, request.MemberId, request.GroupInstanceId, request.GenerationId, request.ProtocolType, request.ProtocolName, assignments, cancellationToken).ConfigureAwait(false);
        }

        var body = new SyncGroupResponse
        {
            ErrorCode = ToErrorCode(outcome.Error),
            ProtocolType = outcome.ProtocolType,
            ProtocolName = outcome.ProtocolName,
            Assignment = outcome.Assignment,
        };
        await KafkaRequestProcessor.Respond(response, header, body).ConfigureAwait(false);
    }

    public async ValueTask HeartbeatAsync(RequestHeader header, HeartbeatRequest request, KafkaResponse response, CancellationToken cancellationToken)
    {
        var error = Precheck(request.GroupId);
        if (error == GroupError.None)
        {
            error = await Groups.HeartbeatAsync(request.GroupId, request.MemberId, request.GroupInstanceId, request.GenerationId, cancellationToken).ConfigureAwait(false);
        }

        await KafkaRequestProcessor.Respond(response, header, new HeartbeatResponse { ErrorCode = ToErrorCode(error) }).ConfigureAwait(false);
    }

    public async ValueTask LeaveGroupAsync(RequestHeader header, LeaveGroupRequest request, KafkaResponse response, CancellationToken cancellationToken)
    {
        // v0–2 name one member; v3+ send a batch (with instance ids for static members).
        var leaving = header.ApiVersion < 3
            ? [new LeavingMember(request.MemberId, null)]
            : request.Members.Select(m => new LeavingMember(m.MemberId, m.GroupInstanceId)).ToList();
        var body = new LeaveGroupResponse();
        var error = Precheck(request.GroupId);
        if (error != GroupError.None)
        {
            body.ErrorCode = ToErrorCode(error);
        }
        else
        {
            var errors = await Groups.LeaveAsync(request.GroupId, leaving, cancellationToken).ConfigureAwait(false);
            if (header.ApiVersion < 3)
            {
                body.ErrorCode = ToErrorCode(errors[0]);
            }
            else
            {
                body.Members = leaving.Select((m, i) => new LeaveGroupResponse.Member { MemberId = m.MemberId, GroupInstanceId = m.GroupInstanceId, ErrorCode = ToErrorCode(errors[i]) }).ToList();
            }
        }

        await KafkaRequestProcessor.Respond(response, header, body).ConfigureAwait(false);
    }

    public async ValueTask OffsetCommitAsync(RequestHeader header, OffsetCommitRequest request, KafkaResponse response, CancellationToken cancellationToken)
    {
        // Every partition gets an answer: unknown ones UNKNOWN_TOPIC_OR_PARTITION, the rest the group's verdict.
        var answers = request.Topics.Select(t => new OffsetCommitResponse.Topic
        {
            Name = t.Name,
            Partitions = t.Partitions.Select(p => new OffsetCommitResponse.Partition { PartitionIndex = p.PartitionIndex }).ToList(),
        }).ToList();
        var error = Precheck(request.GroupId);
        var items = new List<OffsetCommitItem>();
        var slots = new List<OffsetCommitResponse.Partition>();
        for (int t = 0; t < request.Topics.Count; t++)
        {
            var topic = request.Topics[t];
            bool known = _catalog.TryGet(topic.Name, out var metadata);
            for (int p = 0; p < topic.Partitions.Count; p++)
            {
                var partition = topic.Partitions[p];
                var slot = answers[t].Partitions[p];
                if (error != GroupError.None)
                {
                    slot.ErrorCode = ToErrorCode(error);
                }
                else if (!known || partition.PartitionIndex < 0 || partition.PartitionIndex >= metadata!.Partitions.Length)
                {
                    slot.ErrorCode = ErrorCode.UnknownTopicOrPartition;
                }
                else
                {
                    items.Add(new OffsetCommitItem(topic.Name, partition.PartitionIndex, partition.CommittedOffset, partition.CommittedLeaderEpoch, partition.CommittedMetadata));
                    slots.Add(slot);
                }
            }
        }

        if (items.Count > 0)
        {
            long retention = header.ApiVersion is >= 2 and <= 4 ? request.RetentionTimeMs : -1;
            var (_, perItem) = await Groups.CommitOffsetsAsync(request.GroupId, request.MemberId, request.GroupInstanceId, request.GenerationId, items, retention, cancellationToken).ConfigureAwait(false);
            for (int i = 0; i < slots.Count; i++)
            {
                slots[i].ErrorCode = ToErrorCode(perItem[i]);
            }
        }

        await KafkaRequestProcessor.Respond(response, header, new OffsetCommitResponse { Topics = answers }).ConfigureAwait(false);
    }

    public async ValueTask OffsetFetchAsync(RequestHeader header, OffsetFetchRequest request, KafkaResponse response, CancellationToken cancellationToken)
    {
        var body = new OffsetFetchResponse();
        var error = Precheck(request.GroupId);
        List<FetchedOffset>? fetched = null;
        if (error == GroupError.None)
        {
            var topics = request.Topics?.Select(t => (t.Name, (IReadOnlyList<int>)t.PartitionIndexes)).ToList();
            (fetched, error) = await Groups.FetchOffsetsAsync(request.GroupId, topics, cancellationToken).ConfigureAwait(false);
        }

        if (error != GroupError.None || fetched is null)
        {
            if (header.ApiVersion >= 2)
            {
                body.ErrorCode = ToErrorCode(error);
            }
            else
            {
                // v0–1 have no top-level error: every partition carries it.
                body.Topics = (request.Topics ?? []).Select(t => new OffsetFetchResponse.Topic
                {
                    Name = t.Name,
                    Partitions = t.PartitionIndexes.Select(p => new OffsetFetchResponse.Partition { PartitionIndex = p, Metadata = "", ErrorCode = ToErrorCode(error) }).ToList(),
                }).ToList();
            }
        }
        else
        {
            body.Topics = fetched.GroupBy(f => f.Topic, StringComparer.Ordinal).Select(g => new OffsetFetchResponse.Topic
            {
                Name = g.Key,
                Partitions = g.Select(f => new OffsetFetchResponse.Partition
                {
                    PartitionIndex = f.Partition,
                    CommittedOffset = f.Offset,
                    CommittedLeaderEpoch = f.LeaderEpoch,
                    Metadata = f.Metadata ?? "",
                }).ToList(),
            }).ToList();
        }

        await KafkaRequestProcessor.Respond(response, header, body).ConfigureAwait(false);
    }

    public async ValueTask DescribeGroupsAsync(RequestHeader header, DescribeGroupsRequest request, KafkaResponse response, CancellationToken cancellationToken)
    {
        var body = new DescribeGroupsResponse();
        foreach (var groupId in request.Groups)
        {
            var error = Precheck(groupId);
            if (error != GroupError.None)
            {
                body.Groups.Add(new DescribeGroupsResponse.Group { GroupId = groupId, ErrorCode = ToErrorCode(error) });
                continue;
            }

            var d = await Groups.DescribeAsync(groupId, cancellationToken).ConfigureAwait(false);
            body.Groups.Add(new DescribeGroupsResponse.Group
            {
                GroupId = groupId,
                GroupState = d.StateName,
                ProtocolType = d.ProtocolType,
                ProtocolData = d.ProtocolName,
                Members = d.Members.Select(m => new DescribeGroupsResponse.Member
                {
                    MemberId = m.MemberId,
                    GroupInstanceId = m.GroupInstanceId,
                    ClientId = m.ClientId,
                    ClientHost = m.ClientHost,
                    MemberMetadata = m.Metadata,
                    MemberAssignment = m.Assignment,
                }).ToList(),
            });
        }

        await KafkaRequestProcessor.Respond(response, header, body).ConfigureAwait(false);
    }

    public ListGroupsResponse ListGroups(ListGroupsRequest request)
    {
        var availability = Groups.CoordinatorAvailability;
        if (availability == GroupError.NotCoordinator)
        {
            // ListGroups goes to every broker (admin clients merge the answers): a broker that
            // coordinates nothing has no groups to list, which is not an error.
            return new ListGroupsResponse { ErrorCode = ErrorCode.None, Groups = [] };
        }

        if (availability != GroupError.None)
        {
            return new ListGroupsResponse { ErrorCode = ToErrorCode(availability) };
        }

        var filter = request.StatesFilter.Count == 0 ? null : new HashSet<string>(request.StatesFilter, StringComparer.OrdinalIgnoreCase);
        return new ListGroupsResponse
        {
            Groups = Groups.List()
                .Where(g => filter is null || filter.Contains(g.State.ToString()))
                .Select(g => new ListGroupsResponse.Group { GroupId = g.GroupId, ProtocolType = g.ProtocolType, GroupState = g.State.ToString() })
                .ToList(),
        };
    }

    public async ValueTask DeleteGroupsAsync(RequestHeader header, DeleteGroupsRequest request, KafkaResponse response, CancellationToken cancellationToken)
    {
        var body = new DeleteGroupsResponse();
        foreach (var groupId in request.GroupsNames)
        {
            var error = Precheck(groupId);
            if (error == GroupError.None)
            {
                error = await Groups.DeleteAsync(groupId, cancellationToken).ConfigureAwait(false);
            }

            body.Results.Add(new DeleteGroupsResponse.Result { GroupId = groupId, ErrorCode = ToErrorCode(error) });
        }

        await KafkaRequestProcessor.Respond(response, header, body).ConfigureAwait(false);
    }

    public async ValueTask OffsetDeleteAsync(RequestHeader header, OffsetDeleteRequest request, KafkaResponse response, CancellationToken cancellationToken)
    {
        var body = new OffsetDeleteResponse
        {
            Topics = request.Topics.Select(t => new OffsetDeleteResponse.Topic
            {
                Name = t.Name,
                Partitions = t.Partitions.Select(p => new OffsetDeleteResponse.Partition { PartitionIndex = p }).ToList(),
            }).ToList(),
        };
        var error = Precheck(request.GroupId);
        if (error != GroupError.None)
        {
            body.ErrorCode = ToErrorCode(error);
            body.Topics = [];
        }
        else
        {
            var keys = new List<TopicPartitionKey>();
            var slots = new List<OffsetDeleteResponse.Partition>();
            foreach (var topic in body.Topics)
            {
                bool known = _catalog.TryGet(topic.Name, out var metadata);
                foreach (var slot in topic.Partitions)
                {
                    if (!known || slot.PartitionIndex < 0 || slot.PartitionIndex >= metadata!.Partitions.Length)
                    {
                        slot.ErrorCode = ErrorCode.UnknownTopicOrPartition;
                        continue;
                    }

                    keys.Add(new TopicPartitionKey(topic.Name, slot.PartitionIndex));
                    slots.Add(slot);
                }
            }

            var (groupError, perItem) = await Groups.DeleteOffsetsAsync(request.GroupId, keys, cancellationToken).ConfigureAwait(false);
            if (groupError != GroupError.None)
            {
                body.ErrorCode = ToErrorCode(groupError);
                body.Topics = [];
            }
            else
            {
                for (int i = 0; i < slots.Count; i++)
                {
                    slots[i].ErrorCode = ToErrorCode(perItem[i]);
                }
            }
        }

        await KafkaRequestProcessor.Respond(response, header, body).ConfigureAwait(false);
    }

    /// <summary>Kafka reports a member's host as "/address".</summary>
    private static string ClientHost(EndPoint? remote) => remote is IPEndPoint ip ? "/" + ip.Address : remote?.ToString() ?? "";

    public static ErrorCode ToErrorCode(GroupError error) => error switch
    {
        GroupError.None => ErrorCode.None,
        GroupError.CoordinatorLoadInProgress => ErrorCode.CoordinatorLoadInProgress,
        GroupError.CoordinatorNotAvailable => ErrorCode.CoordinatorNotAvailable,
        // Kafka answers a failed append to the offsets log with NOT_COORDINATOR: clients look the coordinator up again and retry.
        GroupError.NotCoordinator or GroupError.StorageError => ErrorCode.NotCoordinator,
        GroupError.InvalidGroupId => ErrorCode.InvalidGroupId,
        GroupError.InvalidSessionTimeout => ErrorCode.InvalidSessionTimeout,
        GroupError.InconsistentGroupProtocol => ErrorCode.InconsistentGroupProtocol,
        GroupError.UnknownMemberId => ErrorCode.UnknownMemberId,
        GroupError.MemberIdRequired => ErrorCode.MemberIdRequired,
        GroupError.IllegalGeneration => ErrorCode.IllegalGeneration,
        GroupError.RebalanceInProgress => ErrorCode.RebalanceInProgress,
        GroupError.FencedInstanceId => ErrorCode.FencedInstanceId,
        GroupError.GroupMaxSizeReached => ErrorCode.GroupMaxSizeReached,
        GroupError.NonEmptyGroup => ErrorCode.NonEmptyGroup,
        GroupError.GroupIdNotFound => ErrorCode.GroupIdNotFound,
        GroupError.GroupSubscribedToTopic => ErrorCode.GroupSubscribedToTopic,
        GroupError.UnknownTopicOrPartition => ErrorCode.UnknownTopicOrPartition,
        GroupError.OffsetMetadataTooLarge => ErrorCode.OffsetMetadataTooLarge,
        _ => ErrorCode.UnknownServerError,
    };
}
