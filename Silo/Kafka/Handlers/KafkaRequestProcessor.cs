using Microsoft.Extensions.Logging;
using OrleansMQ.Silo.Kafka.Network;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Silo.Kafka.Handlers;

/// <summary>
/// Parses each request's header and body and hands it to the API's handler. An unknown API or
/// version gets Kafka's answer (ApiVersions: UNSUPPORTED_VERSION with the supported list, so the
/// client can downgrade; other APIs: the connection is closed, as Kafka does, because no response
/// layout exists for a version the broker does not know). A body that cannot be parsed closes the
/// connection too. Nothing here can take the silo down: every failure is one connection's.
/// </summary>
internal sealed partial class KafkaRequestProcessor : IKafkaRequestProcessor
{
    private readonly ILogger _logger;
    private readonly MetadataHandler _metadata;
    private readonly ProduceHandler _produce;
    private readonly FetchHandler _fetch;
    private readonly ListOffsetsHandler _listOffsets;
    private readonly AdminHandlers _admin;
    private readonly GroupHandlers _groups;
    private readonly ClusterAdminHandlers _clusterAdmin;
    private readonly OffsetForLeaderEpochHandler _offsetForLeaderEpoch;
    private readonly ReplicationAdminHandlers _replicationAdmin;

    public KafkaRequestProcessor(MetadataHandler metadata, ProduceHandler produce, FetchHandler fetch, ListOffsetsHandler listOffsets, AdminHandlers admin, GroupHandlers groups, ClusterAdminHandlers clusterAdmin, OffsetForLeaderEpochHandler offsetForLeaderEpoch, ReplicationAdminHandlers replicationAdmin, ILogger<KafkaRequestProcessor> logger)
    {
        _logger = logger;
        _metadata = metadata;
        _produce = produce;
        _fetch = fetch;
        _listOffsets = listOffsets;
        _admin = admin;
        _groups = groups;
        _clusterAdmin = clusterAdmin;
        _offsetForLeaderEpoch = offsetForLeaderEpoch;
        _replicationAdmin = replicationAdmin;
    }

    public ValueTask ProcessAsync(ConnectionContext connection, ReadOnlyMemory<byte> frame, KafkaResponse response, CancellationToken cancellationToken)
    {
        var reader = new KafkaReader(frame);
        RequestHeader header;
        try
        {
            header = RequestHeader.Read(ref reader);
        }
        catch (KafkaProtocolException ex)
        {
            LogBadHeader(_logger, connection.Remote, ex.Message);
            throw;
        }

        if (!header.IsSupported)
        {
            if (UnsupportedVersionResponse.TryWrite(header, response))
            {
                return ValueTask.CompletedTask;
            }

            LogUnsupported(_logger, connection.Remote, header.ApiKey, header.ApiVersion, header.ClientId);
            throw new KafkaProtocolException($"Unsupported API {header.ApiKey} v{header.ApiVersion}.");
        }

        try
        {
            return header.ApiKey switch
            {
                ApiKey.ApiVersions => Respond(response, header, ApiVersions(ApiVersionsRequest.Read(ref reader, header.ApiVersion))),
                ApiKey.Metadata => _metadata.HandleAsync(header, MetadataRequest.Read(ref reader, header.ApiVersion), response, cancellationToken),
                ApiKey.Produce => _produce.HandleAsync(connection, header, ProduceRequest.Read(ref reader, header.ApiVersion), response, cancellationToken),
                ApiKey.Fetch => _fetch.HandleAsync(header, FetchRequest.Read(ref reader, header.ApiVersion), response, cancellationToken),
                ApiKey.ListOffsets => Respond(response, header, _listOffsets.Handle(ListOffsetsRequest.Read(ref reader, header.ApiVersion))),
                ApiKey.CreateTopics => _admin.CreateTopicsAsync(header, CreateTopicsRequest.Read(ref reader, header.ApiVersion), response, cancellationToken),
                ApiKey.DeleteTopics => _admin.DeleteTopicsAsync(header, DeleteTopicsRequest.Read(ref reader, header.ApiVersion), response, cancellationToken),
                ApiKey.CreatePartitions => _admin.CreatePartitionsAsync(header, CreatePartitionsRequest.Read(ref reader, header.ApiVersion), response, cancellationToken),
                ApiKey.DescribeConfigs => Respond(response, header, _admin.DescribeConfigs(DescribeConfigsRequest.Read(ref reader, header.ApiVersion))),
                ApiKey.OffsetForLeaderEpoch => Respond(response, header, _offsetForLeaderEpoch.Handle(OffsetForLeaderEpochRequest.Read(ref reader, header.ApiVersion))),
                ApiKey.AlterConfigs => _clusterAdmin.AlterConfigsAsync(header, AlterConfigsRequest.Read(ref reader, header.ApiVersion), response, cancellationToken),
                ApiKey.IncrementalAlterConfigs => _clusterAdmin.IncrementalAlterConfigsAsync(header, IncrementalAlterConfigsRequest.Read(ref reader, header.ApiVersion), response, cancellationToken),
                ApiKey.DescribeLogDirs => Respond(response, header, _clusterAdmin.DescribeLogDirs(DescribeLogDirsRequest.Read(ref reader, header.ApiVersion))),
                ApiKey.DescribeProducers => _clusterAdmin.DescribeProducersAsync(header, DescribeProducersRequest.Read(ref reader, header.ApiVersion), response, cancellationToken),
                ApiKey.DescribeCluster => Respond(response, header, _replicationAdmin.DescribeCluster(DescribeClusterRequest.Read(ref reader, header.ApiVersion))),
                ApiKey.DescribeTopicPartitions => _replicationAdmin.DescribeTopicPartitionsAsync(header, DescribeTopicPartitionsRequest.Read(ref reader, header.ApiVersion), response, cancellationToken),
                ApiKey.ElectLeaders => _replicationAdmin.ElectLeadersAsync(header, ElectLeadersRequest.Read(ref reader, header.ApiVersion), response, cancellationToken),
                ApiKey.AlterPartitionReassignments => _replicationAdmin.AlterPartitionReassignmentsAsync(header, AlterPartitionReassignmentsRequest.Read(ref reader, header.ApiVersion), response, cancellationToken),
                ApiKey.ListPartitionReassignments => Respond(response, header, _replicationAdmin.ListPartitionReassignments(ListPartitionReassignmentsRequest.Read(ref reader, header.ApiVersion))),
                ApiKey.DeleteRecords => Respond(response, header, _replicationAdmin.DeleteRecords(DeleteRecordsRequest.Read(ref reader, header.ApiVersion))),
                ApiKey.InitProducerId => _admin.InitProducerIdAsync(header, InitProducerIdRequest.Read(ref reader, header.ApiVersion), response, cancellationToken),
                ApiKey.OffsetCommit => _groups.OffsetCommitAsync(header, OffsetCommitRequest.Read(ref reader, header.ApiVersion), response, cancellationToken),
                ApiKey.OffsetFetch => _groups.OffsetFetchAsync(header, OffsetFetchRequest.Read(ref reader, header.ApiVersion), response, cancellationToken),
                ApiKey.JoinGroup => _groups.JoinGroupAsync(connection, header, JoinGroupRequest.Read(ref reader, header.ApiVersion), response, cancellationToken),
                ApiKey.Heartbeat => _groups.HeartbeatAsync(header, HeartbeatRequest.Read(ref reader, header.ApiVersion), response, cancellationToken),
                ApiKey.LeaveGroup => _groups.LeaveGroupAsync(header, LeaveGroupRequest.Read(ref reader, header.ApiVersion), response, cancellationToken),
                ApiKey.SyncGroup => _groups.SyncGroupAsync(header, SyncGroupRequest.Read(ref reader, header.ApiVersion), response, cancellationToken),
                ApiKey.DescribeGroups => _groups.DescribeGroupsAsync(header, DescribeGroupsRequest.Read(ref reader, header.ApiVersion), response, cancellationToken),
                ApiKey.ListGroups => Respond(response, header, _groups.ListGroups(ListGroupsRequest.Read(ref reader, header.ApiVersion))),
                ApiKey.DeleteGroups => _groups.DeleteGroupsAsync(header, DeleteGroupsRequest.Read(ref reader, header.ApiVersion), response, cancellationToken),
                ApiKey.OffsetDelete => _groups.OffsetDeleteAsync(header, OffsetDeleteRequest.Read(ref reader, header.ApiVersion), response, cancellationToken),
                ApiKey.FindCoordinator => Respond(response, header, _groups.FindCoordinator(FindCoordinatorRequest.Read(ref reader, header.ApiVersion))),
                // No SASL mechanism is enabled yet (security comes later): say so in the Kafka way.
                ApiKey.SaslHandshake => Respond(response, header, new SaslHandshakeResponse { ErrorCode = ErrorCode.UnsupportedSaslMechanism, Mechanisms = [] }),
                ApiKey.SaslAuthenticate => Respond(response, header, SaslAuthenticate(SaslAuthenticateRequest.Read(ref reader, header.ApiVersion))),
                _ => throw new KafkaProtocolException($"API {header.ApiKey} is listed as supported but has no handler."),
            };
        }
        catch (KafkaProtocolException ex)
        {
            LogBadBody(_logger, connection.Remote, header.ApiKey, header.ApiVersion, header.CorrelationId, ex.Message);
            throw;
        }
    }

    /// <summary>Writes the response header and body.</summary>
    internal static ValueTask Respond<T>(KafkaResponse response, in RequestHeader header, T body)
        where T : IKafkaMessage<T>
    {
        var writer = new KafkaWriter(response);
        ResponseHeader.Write(ref writer, header);
        body.Write(ref writer, header.ApiVersion);
        return ValueTask.CompletedTask;
    }

    private static ApiVersionsResponse ApiVersions(ApiVersionsRequest request)
    {
        _ = request;
        return new ApiVersionsResponse
        {
            ErrorCode = ErrorCode.None,
            ApiKeys = ApiVersionsTable.Supported.Select(r => new ApiVersionsResponse.ApiKeyVersions { ApiKey = r.ApiKey, MinVersion = r.MinVersion, MaxVersion = r.MaxVersion }).ToList(),
        };
    }

    private static SaslAuthenticateResponse SaslAuthenticate(SaslAuthenticateRequest request)
    {
        _ = request;
        return new SaslAuthenticateResponse { ErrorCode = ErrorCode.IllegalSaslState, ErrorMessage = "No SASL mechanism is enabled on this listener." };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka: unreadable request header from {Remote}: {Reason}; closing the connection")]
    private static partial void LogBadHeader(ILogger logger, System.Net.EndPoint? remote, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka: {Remote} sent {Api} v{Version} (client {ClientId}), which this broker does not support; closing the connection")]
    private static partial void LogUnsupported(ILogger logger, System.Net.EndPoint? remote, ApiKey api, short version, string? clientId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka: malformed {Api} v{Version} request (correlation id {CorrelationId}) from {Remote}: {Reason}; closing the connection")]
    private static partial void LogBadBody(ILogger logger, System.Net.EndPoint? remote, ApiKey api, short version, int correlationId, string reason);
}
