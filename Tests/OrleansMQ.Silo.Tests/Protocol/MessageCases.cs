using Xunit;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Silo.Tests.Protocol;

/// <summary>Every request and response model with its sample, as untyped encode/decode functions.</summary>
internal sealed record MessageCase(
    string Name,
    ApiKey ApiKey,
    bool IsRequest,
    Func<short, object> Sample,
    Func<object, short, byte[]> Encode,
    Func<ReadOnlyMemory<byte>, short, object> Decode,
    Func<ReadOnlyMemory<byte>, short, object> DecodeAllowingTrailingBytes)
{
    public static readonly IReadOnlyList<MessageCase> All =
    [
        Of(MessageSamples.ApiVersionsRequest, isRequest: true),
        Of(MessageSamples.ApiVersionsResponse, isRequest: false),
        Of(MessageSamples.MetadataRequest, isRequest: true),
        Of(MessageSamples.MetadataResponse, isRequest: false),
        Of(MessageSamples.ProduceRequest, isRequest: true),
        Of(MessageSamples.ProduceResponse, isRequest: false),
        Of(MessageSamples.FetchRequest, isRequest: true),
        Of(MessageSamples.FetchResponse, isRequest: false),
        Of(MessageSamples.ListOffsetsRequest, isRequest: true),
        Of(MessageSamples.ListOffsetsResponse, isRequest: false),
        Of(MessageSamples.CreateTopicsRequest, isRequest: true),
        Of(MessageSamples.CreateTopicsResponse, isRequest: false),
        Of(MessageSamples.DeleteTopicsRequest, isRequest: true),
        Of(MessageSamples.DeleteTopicsResponse, isRequest: false),
        Of(MessageSamples.CreatePartitionsRequest, isRequest: true),
        Of(MessageSamples.CreatePartitionsResponse, isRequest: false),
        Of(MessageSamples.DescribeConfigsRequest, isRequest: true),
        Of(MessageSamples.DescribeConfigsResponse, isRequest: false),
        Of(MessageSamples.InitProducerIdRequest, isRequest: true),
        Of(MessageSamples.InitProducerIdResponse, isRequest: false),
        Of(MessageSamples.FindCoordinatorRequest, isRequest: true),
        Of(MessageSamples.FindCoordinatorResponse, isRequest: false),
        Of(MessageSamples.SaslHandshakeRequest, isRequest: true),
        Of(MessageSamples.SaslHandshakeResponse, isRequest: false),
        Of(MessageSamples.SaslAuthenticateRequest, isRequest: true),
        Of(MessageSamples.SaslAuthenticateResponse, isRequest: false),
        Of(MessageSamples.OffsetCommitRequest, isRequest: true),
        Of(MessageSamples.OffsetCommitResponse, isRequest: false),
        Of(MessageSamples.OffsetFetchRequest, isRequest: true),
        Of(MessageSamples.OffsetFetchResponse, isRequest: false),
        Of(MessageSamples.JoinGroupRequest, isRequest: true),
        Of(MessageSamples.JoinGroupResponse, isRequest: false),
        Of(MessageSamples.HeartbeatRequest, isRequest: true),
        Of(MessageSamples.HeartbeatResponse, isRequest: false),
        Of(MessageSamples.LeaveGroupRequest, isRequest: true),
        Of(MessageSamples.LeaveGroupResponse, isRequest: false),
        Of(MessageSamples.SyncGroupRequest, isRequest: true),
        Of(MessageSamples.SyncGroupResponse, isRequest: false),
        Of(MessageSamples.DescribeGroupsRequest, isRequest: true),
        Of(MessageSamples.DescribeGroupsResponse, isRequest: false),
        Of(MessageSamples.ListGroupsRequest, isRequest: true),
        Of(MessageSamples.ListGroupsResponse, isRequest: false),
        Of(MessageSamples.DeleteGroupsRequest, isRequest: true),
        Of(MessageSamples.DeleteGroupsResponse, isRequest: false),
        Of(MessageSamples.OffsetDeleteRequest, isRequest: true),
        Of(MessageSamples.OffsetDeleteResponse, isRequest: false),
        Of(MessageSamples.OffsetForLeaderEpochRequest, isRequest: true),
        Of(MessageSamples.OffsetForLeaderEpochResponse, isRequest: false),
        Of(MessageSamples.DeleteRecordsRequest, isRequest: true),
        Of(MessageSamples.DeleteRecordsResponse, isRequest: false),
        Of(MessageSamples.DescribeLogDirsRequest, isRequest: true),
        Of(MessageSamples.DescribeLogDirsResponse, isRequest: false),
        Of(MessageSamples.AlterConfigsRequest, isRequest: true),
        Of(MessageSamples.AlterConfigsResponse, isRequest: false),
        Of(MessageSamples.IncrementalAlterConfigsRequest, isRequest: true),
        Of(MessageSamples.IncrementalAlterConfigsResponse, isRequest: false),
        Of(MessageSamples.ElectLeadersRequest, isRequest: true),
        Of(MessageSamples.ElectLeadersResponse, isRequest: false),
        Of(MessageSamples.AlterPartitionReassignmentsRequest, isRequest: true),
        Of(MessageSamples.AlterPartitionReassignmentsResponse, isRequest: false),
        Of(MessageSamples.ListPartitionReassignmentsRequest, isRequest: true),
        Of(MessageSamples.ListPartitionReassignmentsResponse, isRequest: false),
        Of(MessageSamples.DescribeClusterRequest, isRequest: true),
        Of(MessageSamples.DescribeClusterResponse, isRequest: false),
        Of(MessageSamples.DescribeProducersRequest, isRequest: true),
        Of(MessageSamples.DescribeProducersResponse, isRequest: false),
        Of(MessageSamples.DescribeTopicPartitionsRequest, isRequest: true),
        Of(MessageSamples.DescribeTopicPartitionsResponse, isRequest: false),
    ];

    public static MessageCase Get(string name) => All.Single(c => c.Name == name);

    /// <summary>(message name, version) for every model and every version the codec reads and writes (answered by the broker or not yet).</summary>
    public static IEnumerable<object[]> EveryVersion()
    {
        foreach (var c in All)
        {
            Assert.True(ApiVersionsTable.TryGetDescribed(c.ApiKey, out var range));
            for (short v = range.MinVersion; v <= range.MaxVersion; v++)
            {
                yield return [c.Name, v];
            }
        }
    }

    private static MessageCase Of<T>(Func<short, T> sample, bool isRequest)
        where T : class, IKafkaMessage<T> =>
        new(
            typeof(T).Name,
            T.ApiKey,
            isRequest,
            v => sample(v),
            (message, v) => CodecTestKit.Encode((T)message, v),
            (bytes, v) => CodecTestKit.Decode<T>(bytes, v),
            (bytes, v) =>
            {
                var reader = new KafkaReader(bytes);
                return T.Read(ref reader, v);
            });
}
