using System.Buffers.Binary;
using System.Net.Sockets;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Tests.Network;
using Xunit;

namespace OrleansMQ.Silo.Tests.Broker;

/// <summary>
/// Hostile and broken input against the whole broker: each costs the sender its connection and
/// nothing else. A bystander connected before keeps working, and the silo's memory stays put.
/// </summary>
[Collection(ProcessWideMeasurementGroup.Name)]
public sealed class BrokerMalformedInputTests(SiloFixture fixture) : IClassFixture<SiloFixture>
{
    private const long MemoryBound = 256L << 20;

    private TestSilo Silo => fixture.Silo;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task A_frame_of_random_bytes_closes_that_connection_only(int seed)
    {
        using var bystander = await ConnectBystanderAsync();
        using var offender = await RawKafkaClient.ConnectAsync(Silo.Port);
        var body = new byte[300];
        new Random(seed).NextBytes(body);

        await offender.SendFrameAsync(body);

        Assert.True(await offender.WaitForCloseAsync(BrokerKit.Quickly), "the broker kept a connection that sent random bytes");
        await AssertHealthyAsync(bystander);
    }

    [Theory]
    [InlineData(7)]
    [InlineData(8)]
    public async Task An_unframed_stream_of_random_bytes_costs_only_that_connection(int seed)
    {
        using var bystander = await ConnectBystanderAsync();
        var offender = await RawKafkaClient.ConnectAsync(Silo.Port);
        var garbage = new byte[64 * 1024];
        new Random(seed).NextBytes(garbage);

        try
        {
            await offender.SendAsync(garbage);
        }
        catch (SocketException)
        {
            // The broker may close while we are still writing.
        }

        offender.Dispose();
        await AssertHealthyAsync(bystander);
    }

    [Fact]
    public async Task A_truncated_frame_then_a_close_leaves_nothing_behind()
    {
        using var bystander = await ConnectBystanderAsync();
        var offender = await RawKafkaClient.ConnectAsync(Silo.Port);
        byte[] request = KafkaTestClient.Encode(new MetadataRequest { Topics = null }, 9, 1);
        byte[] frame = RawKafkaClient.Frame(request);

        await offender.SendAsync(frame.AsMemory(0, frame.Length - 3)); // all but the last 3 bytes
        await Task.Delay(100);
        offender.Socket.Shutdown(SocketShutdown.Both);
        offender.Dispose();

        await AssertHealthyAsync(bystander);
    }

    [Fact]
    public async Task A_2_GiB_size_prefix_closes_the_connection_without_allocating_it()
    {
        using var bystander = await ConnectBystanderAsync();
        using var offender = await RawKafkaClient.ConnectAsync(Silo.Port);
        long memoryBefore = GC.GetTotalMemory(forceFullCollection: true);
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var prefix = new byte[4 + 64];
        BinaryPrimitives.WriteInt32BigEndian(prefix, 0x7FFFFFFF);

        await offender.SendAsync(prefix);

        Assert.True(await offender.WaitForCloseAsync(BrokerKit.Quickly), "the connection with a 2 GiB size prefix stayed open");
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        long grown = GC.GetTotalMemory(forceFullCollection: true) - memoryBefore;
        Assert.True(allocated < MemoryBound, $"{allocated >> 20} MiB allocated while refusing the frame");
        Assert.True(grown < MemoryBound, $"memory grew by {grown >> 20} MiB");
        await AssertHealthyAsync(bystander);
    }

    [Fact]
    public async Task A_large_frame_that_never_arrives_is_not_buffered_ahead()
    {
        using var bystander = await ConnectBystanderAsync();
        using var offender = await RawKafkaClient.ConnectAsync(Silo.Port);
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var start = new byte[4 + 16];
        BinaryPrimitives.WriteInt32BigEndian(start, 64 << 20); // within socket.request.max.bytes (100 MB)

        await offender.SendAsync(start);
        await Task.Delay(300);

        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        Assert.True(allocated < 32L << 20, $"{allocated >> 20} MiB allocated for a frame that announced 64 MiB and sent 16 bytes");
        offender.Dispose();
        await AssertHealthyAsync(bystander);
    }

    public static readonly TheoryData<string, short, short, bool, byte[]> GarbageBodies = new()
    {
        { "Produce v9, 0xFF body", (short)ApiKey.Produce, 9, true, Enumerable.Repeat((byte)0xFF, 64).ToArray() },
        { "Produce v3, topics count 2^31-1", (short)ApiKey.Produce, 3, false, [0xFF, 0xFF, 0, 1, 0, 0, 0x75, 0x30, 0x7F, 0xFF, 0xFF, 0xFF] },
        { "Metadata v1, topics count 2^31-1", (short)ApiKey.Metadata, 1, false, [0x7F, 0xFF, 0xFF, 0xFF] },
        { "Metadata v0, null topics", (short)ApiKey.Metadata, 0, false, [0xFF, 0xFF, 0xFF, 0xFF] },
        { "CreateTopics v0, name longer than the body", (short)ApiKey.CreateTopics, 0, false, [0, 0, 0, 1, 0x7F, 0xFF, 0x41] },
        { "Fetch v4, body cut after replica_id", (short)ApiKey.Fetch, 4, false, [0xFF, 0xFF, 0xFF, 0xFF] },
        { "ListOffsets v6, empty body", (short)ApiKey.ListOffsets, 6, true, [] },
    };

    [Theory]
    [MemberData(nameof(GarbageBodies))]
    public async Task A_valid_header_with_a_garbage_body_closes_that_connection_only(string what, short api, short version, bool flexibleHeader, byte[] body)
    {
        using var bystander = await ConnectBystanderAsync();
        using var offender = await RawKafkaClient.ConnectAsync(Silo.Port);
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);

        await offender.SendFrameAsync(BrokerKit.RawRequest(api, version, 99, flexibleHeader, body));

        Assert.True(await offender.WaitForCloseAsync(BrokerKit.Quickly), $"{what}: the connection stayed open");
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        Assert.True(allocated < MemoryBound, $"{what}: {allocated >> 20} MiB allocated");
        await AssertHealthyAsync(bystander);
    }

    private async Task<KafkaTestClient> ConnectBystanderAsync()
    {
        var client = await Silo.ConnectAsync();
        await BrokerKit.MetadataAsync(client, null);
        return client;
    }

    /// <summary>The bystander still gets answers, a new client too, and no connection but the bystander's is left open.</summary>
    private async Task AssertHealthyAsync(KafkaTestClient bystander)
    {
        var metrics = Silo.Listener.Metrics;
        await BrokerKit.EventuallyAsync(() => metrics.ConnectionsOpen == 1, $"only the bystander is connected (open: {metrics.ConnectionsOpen})");
        var metadata = await BrokerKit.MetadataAsync(bystander, null);
        Assert.Equal(Silo.Port, Assert.Single(metadata.Brokers).Port);
        using var fresh = await Silo.ConnectAsync();
        Assert.Equal(ErrorCode.None, (await fresh.SendAsync<ApiVersionsRequest, ApiVersionsResponse>(new ApiVersionsRequest(), 3)).ErrorCode);
    }
}
