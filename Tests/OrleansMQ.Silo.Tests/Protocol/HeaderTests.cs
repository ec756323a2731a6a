using OrleansMQ.Protocol.Kafka;
using Xunit;

namespace OrleansMQ.Silo.Tests.Protocol;

public sealed class HeaderTests
{
    [Theory]
    [InlineData(ApiKey.Produce, 9)]
    [InlineData(ApiKey.Fetch, 12)]
    [InlineData(ApiKey.ListOffsets, 6)]
    [InlineData(ApiKey.Metadata, 9)]
    [InlineData(ApiKey.FindCoordinator, 3)]
    [InlineData(ApiKey.ApiVersions, 3)]
    [InlineData(ApiKey.CreateTopics, 5)]
    [InlineData(ApiKey.DeleteTopics, 4)]
    [InlineData(ApiKey.InitProducerId, 2)]
    [InlineData(ApiKey.DescribeConfigs, 4)]
    [InlineData(ApiKey.CreatePartitions, 2)]
    [InlineData(ApiKey.OffsetCommit, 8)]
    [InlineData(ApiKey.OffsetFetch, 6)]
    [InlineData(ApiKey.JoinGroup, 6)]
    [InlineData(ApiKey.Heartbeat, 4)]
    [InlineData(ApiKey.LeaveGroup, 4)]
    [InlineData(ApiKey.SyncGroup, 4)]
    [InlineData(ApiKey.DescribeGroups, 5)]
    [InlineData(ApiKey.ListGroups, 3)]
    [InlineData(ApiKey.SaslAuthenticate, 2)]
    [InlineData(ApiKey.DeleteGroups, 2)]
    [InlineData(ApiKey.IncrementalAlterConfigs, 1)]
    public void Flexible_versions_start_where_Kafka_starts_them(ApiKey apiKey, short firstFlexible)
    {
        Assert.Equal(firstFlexible, ApiVersionsTable.FirstFlexibleVersion(apiKey));
        Assert.False(ApiVersionsTable.IsFlexible(apiKey, (short)(firstFlexible - 1)));
        Assert.True(ApiVersionsTable.IsFlexible(apiKey, firstFlexible));
        Assert.Equal(1, ApiVersionsTable.RequestHeaderVersion(apiKey, (short)(firstFlexible - 1)));
        Assert.Equal(2, ApiVersionsTable.RequestHeaderVersion(apiKey, firstFlexible));
        Assert.Equal(apiKey == ApiKey.ApiVersions ? 0 : 1, ApiVersionsTable.ResponseHeaderVersion(apiKey, firstFlexible));
        Assert.Equal(0, ApiVersionsTable.ResponseHeaderVersion(apiKey, (short)(firstFlexible - 1)));
    }

    [Theory]
    [InlineData(ApiKey.SaslHandshake)]
    [InlineData(ApiKey.OffsetDelete)]
    [InlineData((ApiKey)999)]
    public void Some_apis_are_never_flexible(ApiKey apiKey)
    {
        Assert.Equal(ApiVersionRange.NeverFlexible, ApiVersionsTable.FirstFlexibleVersion(apiKey));
        Assert.Equal(1, ApiVersionsTable.RequestHeaderVersion(apiKey, 5));
        Assert.Equal(0, ApiVersionsTable.ResponseHeaderVersion(apiKey, 5));
    }

    [Fact]
    public void The_table_lists_each_api_once_in_key_order()
    {
        var keys = ApiVersionsTable.Supported.Select(r => r.ApiKey).ToList();
        Assert.Equal(keys.Distinct().OrderBy(k => k), keys);
        Assert.True(ApiVersionsTable.IsSupported(ApiKey.Metadata, 0));
        Assert.True(ApiVersionsTable.IsSupported(ApiKey.Metadata, 9));
        Assert.False(ApiVersionsTable.IsSupported(ApiKey.Metadata, 10));
        Assert.True(ApiVersionsTable.IsSupported(ApiKey.Produce, 0));
        Assert.False(ApiVersionsTable.IsSupported(ApiKey.Produce, 10));
        Assert.True(ApiVersionsTable.IsSupported(ApiKey.Fetch, 2));
        Assert.False(ApiVersionsTable.IsSupported(ApiKey.Fetch, 1));
        Assert.True(ApiVersionsTable.IsSupported(ApiKey.JoinGroup, 0));
        Assert.False(ApiVersionsTable.IsSupported(ApiKey.JoinGroup, 8));
        Assert.False(ApiVersionsTable.IsSupported(ApiKey.OffsetFetch, 8));
        Assert.True(ApiVersionsTable.IsSupported(ApiKey.DeleteRecords, 2));
        Assert.False(ApiVersionsTable.IsSupported(ApiKey.DeleteRecords, 3));
    }

    [Fact]
    public void Request_headers_round_trip_for_every_supported_version()
    {
        foreach (var row in ApiVersionsTable.Supported)
        {
            for (short v = row.MinVersion; v <= row.MaxVersion; v++)
            {
                foreach (string? clientId in new[] { null, "", "client-é" })
                {
                    var header = new RequestHeader(row.ApiKey, v, 123456, clientId);
                    byte[] bytes = CodecTestKit.Bytes((ref KafkaWriter w) => header.Write(ref w));
                    int expectedLength = 8 + 2 + (clientId is null ? 0 : System.Text.Encoding.UTF8.GetByteCount(clientId)) + (row.IsFlexible(v) ? 1 : 0);
                    Assert.Equal(expectedLength, bytes.Length);
                    var reader = new KafkaReader(bytes);
                    Assert.Equal(header, RequestHeader.Read(ref reader));
                    Assert.True(reader.IsAtEnd);
                }
            }
        }
    }

    [Fact]
    public void An_unknown_api_header_is_read_as_v1()
    {
        byte[] bytes = CodecTestKit.Hex("03E7 0000 0000002A 0001 78 DEADBEEF"); // key 999, client "x", then an unknown body
        var reader = new KafkaReader(bytes);
        var header = RequestHeader.Read(ref reader);
        Assert.Equal((ApiKey)999, header.ApiKey);
        Assert.Equal(42, header.CorrelationId);
        Assert.Equal("x", header.ClientId);
        Assert.False(header.IsSupported);
        Assert.Equal(4, reader.Remaining);
    }

    [Theory]
    [InlineData(ApiKey.Metadata, 8, "0000002A")]
    [InlineData(ApiKey.Metadata, 9, "0000002A00")]
    [InlineData(ApiKey.ApiVersions, 3, "0000002A")]
    [InlineData(ApiKey.Fetch, 12, "0000002A00")]
    [InlineData(ApiKey.SaslHandshake, 1, "0000002A")]
    [InlineData(ApiKey.OffsetFetch, 5, "0000002A")]
    [InlineData(ApiKey.OffsetFetch, 6, "0000002A00")]
    [InlineData(ApiKey.ListGroups, 3, "0000002A00")]
    [InlineData(ApiKey.OffsetDelete, 0, "0000002A")]
    public void Response_headers_follow_the_request_version(ApiKey apiKey, short version, string hex)
    {
        byte[] bytes = CodecTestKit.Bytes((ref KafkaWriter w) => ResponseHeader.Write(ref w, apiKey, version, 42));
        Assert.Equal(CodecTestKit.Hex(hex), bytes);
        var reader = new KafkaReader(bytes);
        Assert.Equal(42, ResponseHeader.Read(ref reader, apiKey, version));
        Assert.True(reader.IsAtEnd);
    }
}
