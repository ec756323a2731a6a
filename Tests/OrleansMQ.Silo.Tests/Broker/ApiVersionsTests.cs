using System.Buffers;
using OrleansMQ.Protocol.Kafka;
using Xunit;

namespace OrleansMQ.Silo.Tests.Broker;

/// <summary>ApiVersions v0–v3 and what the broker does with APIs and versions it does not speak.</summary>
public sealed class ApiVersionsTests(SiloFixture fixture) : IClassFixture<SiloFixture>
{
    private TestSilo Silo => fixture.Silo;

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Lists_every_supported_api_with_its_version_range(short version)
    {
        using var client = await Silo.ConnectAsync();
        var response = await client.SendAsync<ApiVersionsRequest, ApiVersionsResponse>(
            new ApiVersionsRequest { ClientSoftwareName = "omq-tests", ClientSoftwareVersion = "1.0" }, version);

        Assert.Equal(ErrorCode.None, response.ErrorCode);
        var advertised = response.ApiKeys.Select(k => (k.ApiKey, k.MinVersion, k.MaxVersion)).ToList();
        var table = ApiVersionsTable.Supported.Select(r => (r.ApiKey, r.MinVersion, r.MaxVersion)).ToList();
        Assert.Equal(table.OrderBy(r => r.ApiKey), advertised.OrderBy(r => r.ApiKey));
        Assert.Equal(advertised.Count, advertised.Select(a => a.ApiKey).Distinct().Count());
    }

    /// <summary>The versions librdkafka (kcat) probes for and needs to produce and consume.</summary>
    [Theory]
    [InlineData(ApiKey.Produce, 0)] // librdkafka < 2.10 only compresses gzip/snappy/lz4 if Produce v0 is advertised
    [InlineData(ApiKey.Produce, 2)] // its MsgVer1 and ThrottleTime features need Produce v2 ...
    [InlineData(ApiKey.Fetch, 2)] // ... and Fetch v2
    [InlineData(ApiKey.Produce, 3)]
    [InlineData(ApiKey.Produce, 7)] // ZSTD feature
    [InlineData(ApiKey.Fetch, 4)]
    [InlineData(ApiKey.Fetch, 10)] // ZSTD feature
    [InlineData(ApiKey.ListOffsets, 1)]
    [InlineData(ApiKey.Metadata, 4)]
    [InlineData(ApiKey.FindCoordinator, 0)]
    [InlineData(ApiKey.InitProducerId, 0)]
    [InlineData(ApiKey.SaslHandshake, 0)]
    [InlineData(ApiKey.SaslHandshake, 1)]
    [InlineData(ApiKey.ApiVersions, 3)]
    [InlineData(ApiKey.OffsetCommit, 7)]
    [InlineData(ApiKey.OffsetFetch, 7)]
    [InlineData(ApiKey.JoinGroup, 5)]
    [InlineData(ApiKey.Heartbeat, 3)]
    [InlineData(ApiKey.LeaveGroup, 1)]
    [InlineData(ApiKey.SyncGroup, 3)]
    [InlineData(ApiKey.DescribeGroups, 4)]
    [InlineData(ApiKey.ListGroups, 4)]
    [InlineData(ApiKey.DeleteGroups, 1)]
    public async Task Covers_the_versions_librdkafka_uses(ApiKey api, short version)
    {
        using var client = await Silo.ConnectAsync();
        var response = await client.SendAsync<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest(), 0);
        var row = Assert.Single(response.ApiKeys, k => k.ApiKey == api);
        Assert.InRange(version, row.MinVersion, row.MaxVersion);
    }

    [Fact]
    public async Task An_unknown_ApiVersions_version_gets_UNSUPPORTED_VERSION_and_the_list_in_the_v0_layout()
    {
        using var client = await Silo.ConnectAsync();

        // What a newer client sends first: its own highest version, flexible header and body.
        await client.Raw.SendFrameAsync(BrokerKit.RawRequest((short)ApiKey.ApiVersions, 99, 4242, flexibleHeader: true, V3Body()));
        byte[] frame = await client.Raw.ReadFrameOrThrowAsync(BrokerKit.Quickly);

        var response = ReadV0(frame, out int correlationId);
        Assert.Equal(4242, correlationId);
        Assert.Equal(ErrorCode.UnsupportedVersion, response.ErrorCode);
        Assert.Equal(
            ApiVersionsTable.Supported.Select(r => (r.ApiKey, r.MinVersion, r.MaxVersion)).OrderBy(r => r.ApiKey),
            response.ApiKeys.Select(k => (k.ApiKey, k.MinVersion, k.MaxVersion)).OrderBy(r => r.ApiKey));

        // The client retries at a version both know, on the same connection.
        var retry = await client.SendAsync<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest { ClientSoftwareName = "x", ClientSoftwareVersion = "1" }, 3);
        Assert.Equal(ErrorCode.None, retry.ErrorCode);
    }

    [Theory]
    [InlineData(999, 0)] // no such API
    [InlineData(4, 0)] // LeaderAndIsr: a real, inter-broker API this broker does not answer
    [InlineData((short)ApiKey.Metadata, 99)]
    [InlineData((short)ApiKey.Produce, 10)] // above the supported range
    [InlineData((short)ApiKey.Fetch, 1)] // below the supported range
    public async Task An_unsupported_api_or_version_closes_that_connection_only(short apiKey, short version)
    {
        using var bystander = await Silo.ConnectAsync();
        Assert.Equal(ErrorCode.None, (await bystander.SendAsync<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest(), 0)).ErrorCode);

        using var offender = await Silo.ConnectAsync();
        await offender.Raw.SendFrameAsync(BrokerKit.RawRequest(apiKey, version, 7, flexibleHeader: false, new byte[16]));
        Assert.True(await offender.Raw.WaitForCloseAsync(BrokerKit.Quickly), $"the connection stayed open after api {apiKey} v{version}");

        var metadata = await BrokerKit.MetadataAsync(bystander, null);
        var broker = Assert.Single(metadata.Brokers);
        Assert.Equal(Silo.Port, broker.Port);
    }

    private static byte[] V3Body()
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new KafkaWriter(buffer);
        writer.WriteCompactString("omq-tests");
        writer.WriteCompactString("9.9.9");
        writer.WriteEmptyTaggedFields();
        return buffer.WrittenSpan.ToArray();
    }

    private static ApiVersionsResponse ReadV0(byte[] frame, out int correlationId)
    {
        var reader = new KafkaReader(frame);
        correlationId = reader.ReadInt32(); // response header v0: no tagged fields
        var response = ApiVersionsResponse.Read(ref reader, 0);
        Assert.True(reader.IsAtEnd, $"{reader.Remaining} bytes after an ApiVersions v0 body");
        return response;
    }
}
