using System.Buffers.Binary;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using OrleansMQ.Silo.Kafka.Network;
using Xunit;
using Xunit.Abstractions;

namespace OrleansMQ.Silo.Tests.Network;

/// <summary>Frame splitting and hostile input, against a real listener and raw TCP peers.</summary>
public sealed class KafkaListenerFramingTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Quickly = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Frames_written_one_byte_at_a_time_are_reassembled()
    {
        var echo = new EchoProcessor();
        await using var listener = await TestListener.StartAsync(echo);
        using var client = await RawKafkaClient.ConnectAsync(listener.Port);

        byte[][] bodies = [[7], Enumerable.Range(0, 300).Select(i => (byte)i).ToArray(), [], "hello kafka"u8.ToArray()];
        byte[] stream = bodies.SelectMany(RawKafkaClient.Frame).ToArray();
        for (int i = 0; i < stream.Length; i++)
        {
            await client.SendAsync(stream.AsMemory(i, 1));
            if (i % 8 == 0)
            {
                await Task.Delay(1); // let single bytes arrive as separate TCP segments
            }
        }

        foreach (byte[] body in bodies)
        {
            Assert.Equal(body, await client.ReadFrameOrThrowAsync());
        }

        Assert.Equal(bodies.Length, echo.Calls);
        Assert.Equal(stream.Length, listener.Metrics.BytesIn);
        await TestListener.EventuallyAsync(() => listener.Metrics.BytesOut == stream.Length, "bytes out are counted");
    }

    [Fact]
    public async Task A_frame_split_at_every_position_of_its_size_prefix_is_reassembled()
    {
        await using var listener = await TestListener.StartAsync(new EchoProcessor());
        using var client = await RawKafkaClient.ConnectAsync(listener.Port);
        byte[] body = Enumerable.Range(0, 70_000).Select(i => (byte)(i * 31)).ToArray(); // spans pipe segments
        byte[] frame = RawKafkaClient.Frame(body);
        for (int split = 1; split <= 5; split++)
        {
            await client.SendAsync(frame.AsMemory(0, split));
            await Task.Delay(20);
            await client.SendAsync(frame.AsMemory(split));
            Assert.Equal(body, await client.ReadFrameOrThrowAsync());
        }
    }

    [Theory]
    [InlineData(0x7FFFFFFF)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    [InlineData(KafkaListenerOptions.DefaultMaxFrameBytes + 1)]
    public async Task A_bad_size_prefix_closes_that_connection_only(int size)
    {
        var logger = new CapturingLogger<KafkaListener>(output);
        await using var listener = await TestListener.StartAsync(new EchoProcessor(), logger: logger);
        using var good = await RawKafkaClient.ConnectAsync(listener.Port);
        await good.SendFrameAsync("before"u8);
        Assert.Equal("before"u8.ToArray(), await good.ReadFrameOrThrowAsync());

        using var bad = await RawKafkaClient.ConnectAsync(listener.Port);
        var prefix = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(prefix, size);
        await bad.SendAsync(prefix); // the size only: the server must not wait for a body
        Assert.True(await bad.WaitForCloseAsync(Quickly), "the connection with the bad size stayed open");

        await good.SendFrameAsync("after"u8);
        Assert.Equal("after"u8.ToArray(), await good.ReadFrameOrThrowAsync());
        Assert.Equal(1, listener.Metrics.FrameErrors);
        Assert.Equal((4 + 6) + (4 + 5), listener.Metrics.BytesIn); // nothing of the bad frame was taken in

        var warning = Assert.Single(logger.Entries, e => e.Level == LogLevel.Warning);
        Assert.Contains(size.ToString(System.Globalization.CultureInfo.InvariantCulture), warning.Message, StringComparison.Ordinal);
        Assert.Contains(KafkaListenerOptions.DefaultMaxFrameBytes.ToString(System.Globalization.CultureInfo.InvariantCulture), warning.Message, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_frame_of_exactly_MaxFrameBytes_is_accepted_and_one_more_byte_is_not()
    {
        await using var listener = await TestListener.StartAsync(new EchoProcessor(), o => o.MaxFrameBytes = 1024);
        using var client = await RawKafkaClient.ConnectAsync(listener.Port);
        byte[] body = new byte[1024];
        Random.Shared.NextBytes(body);
        await client.SendFrameAsync(body);
        Assert.Equal(body, await client.ReadFrameOrThrowAsync());

        await client.SendFrameAsync(new byte[1025]);
        Assert.True(await client.WaitForCloseAsync(Quickly));
        Assert.Equal(1, listener.Metrics.FrameErrors);
    }

    [Fact]
    public async Task Random_garbage_never_hurts_the_listener()
    {
        var logger = new CapturingLogger<KafkaListener>();
        await using var listener = await TestListener.StartAsync(new EchoProcessor(), o => o.MaxFrameBytes = 64 * 1024, logger);
        for (int seed = 1; seed <= 25; seed++)
        {
            var random = new Random(seed);
            var garbage = new byte[random.Next(1, 16 * 1024)];
            random.NextBytes(garbage);
            using var client = await RawKafkaClient.ConnectAsync(listener.Port);
            try
            {
                await client.SendAsync(garbage);
                client.Socket.Shutdown(SocketShutdown.Send);
            }
            catch (SocketException)
            {
                // Already closed by the server for a bad size: fine.
            }

            // Whatever the bytes said, the server ends the connection: bad size, or EOF mid-frame.
            Assert.True(await client.WaitForCloseAsync(Quickly), $"seed {seed}: connection left open");
        }

        using var healthy = await RawKafkaClient.ConnectAsync(listener.Port);
        await healthy.SendFrameAsync("still here"u8);
        Assert.Equal("still here"u8.ToArray(), await healthy.ReadFrameOrThrowAsync());
        await TestListener.EventuallyAsync(() => listener.Metrics.ConnectionsOpen == 1, "garbage connections are closed");
        Assert.DoesNotContain(logger.Entries, e => e.Level >= LogLevel.Error);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_peer_that_leaves_mid_frame_is_a_normal_close(bool reset)
    {
        var echo = new EchoProcessor();
        var logger = new CapturingLogger<KafkaListener>(output);
        await using var listener = await TestListener.StartAsync(echo, logger: logger);
        using (var client = await RawKafkaClient.ConnectAsync(listener.Port))
        {
            byte[] partial = RawKafkaClient.Frame(new byte[100])[..14]; // size says 100, 10 body bytes sent
            await client.SendAsync(partial);
            await TestListener.EventuallyAsync(() => listener.Metrics.ConnectionsOpen == 1, "the connection is open");
            if (reset)
            {
                client.Socket.LingerState = new LingerOption(true, 0); // close sends RST
            }
        }

        await TestListener.EventuallyAsync(() => listener.Metrics.ConnectionsOpen == 0, "the server closes its side");
        Assert.Equal(0, echo.Calls);
        Assert.DoesNotContain(logger.Entries, e => e.Level >= LogLevel.Warning);

        using var next = await RawKafkaClient.ConnectAsync(listener.Port);
        await next.SendFrameAsync("next"u8);
        Assert.Equal("next"u8.ToArray(), await next.ReadFrameOrThrowAsync());
    }

    [Fact]
    public async Task An_idle_connection_stays_open()
    {
        await using var listener = await TestListener.StartAsync(new EchoProcessor());
        using var client = await RawKafkaClient.ConnectAsync(listener.Port);
        Assert.False(await client.WaitForCloseAsync(TimeSpan.FromMilliseconds(500)));
        await client.SendFrameAsync("late"u8);
        Assert.Equal("late"u8.ToArray(), await client.ReadFrameOrThrowAsync());
    }
}
