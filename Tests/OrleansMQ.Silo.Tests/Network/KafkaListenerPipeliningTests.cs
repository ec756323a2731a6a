using System.Buffers.Binary;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Xunit;
using Xunit.Abstractions;

namespace OrleansMQ.Silo.Tests.Network;

/// <summary>Many requests in flight on one connection: order, the in-flight bound, failures.</summary>
public sealed class KafkaListenerPipeliningTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_thousand_pipelined_requests_are_answered_in_request_order()
    {
        const int count = 1000;
        var processor = new ScrambledDelayProcessor();
        await using var listener = await TestListener.StartAsync(processor);
        using var client = await RawKafkaClient.ConnectAsync(listener.Port);

        // All requests in one write, before reading anything.
        var stream = new List<byte>();
        for (int i = 0; i < count; i++)
        {
            var body = new byte[8];
            BinaryPrimitives.WriteInt32BigEndian(body, i);
            BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(4), ~i);
            stream.AddRange(RawKafkaClient.Frame(body));
        }

        Task sending = client.SendAsync(stream.ToArray());
        for (int i = 0; i < count; i++)
        {
            byte[] response = await client.ReadFrameOrThrowAsync();
            Assert.Equal(8, response.Length);
            Assert.Equal(i, BinaryPrimitives.ReadInt32BigEndian(response));
            Assert.Equal(~i, BinaryPrimitives.ReadInt32BigEndian(response.AsSpan(4)));
        }

        await sending;
        Assert.Equal(count, listener.Metrics.Requests);
        Assert.InRange(processor.MaxConcurrent, 2, listener.Options.MaxInFlightRequestsPerConnection); // processing overlapped, within the bound
    }

    [Fact]
    public async Task At_the_in_flight_limit_the_listener_stops_reading_the_socket()
    {
        const int limit = 4;
        var processor = new NeverCompletingProcessor();
        await using var listener = await TestListener.StartAsync(processor, o =>
        {
            o.MaxInFlightRequestsPerConnection = limit;
            o.ShutdownTimeout = TimeSpan.FromMilliseconds(200);
        });
        using var client = await RawKafkaClient.ConnectAsync(listener.Port);

        // The peer keeps writing 1 KiB requests, up to 256 MiB.
        byte[] frame = RawKafkaClient.Frame(new byte[1020]);
        long written = 0;
        Task writer = Task.Run(async () =>
        {
            for (int i = 0; i < 256 * 1024; i++)
            {
                await client.SendAsync(frame);
                Interlocked.Add(ref written, frame.Length);
            }
        });

        await TestListener.EventuallyAsync(() => processor.Calls == limit, $"{limit} requests are in flight");
        await Task.Delay(1000);
        long stalledAt = Interlocked.Read(ref written);
        await Task.Delay(500);

        Assert.Equal(limit, processor.Calls);
        Assert.Equal(limit, listener.Metrics.Requests);
        Assert.True(listener.Metrics.BackPressureWaits >= 1);
        Assert.False(writer.IsCompleted, "the peer wrote 256 MiB: the server kept reading");
        Assert.Equal(stalledAt, Interlocked.Read(ref written)); // the peer is blocked by TCP flow control
        Assert.InRange(stalledAt, 0, 64L << 20); // only kernel socket buffers hold the rest
        output.WriteLine($"peer blocked after {stalledAt} bytes; {listener.Metrics}");

        await listener.StopAsync();
        Assert.Equal(limit, processor.Cancelled);
        await Assert.ThrowsAnyAsync<Exception>(() => writer.WaitAsync(TimeSpan.FromSeconds(10))); // the peer sees the abort
    }

    [Fact]
    public async Task Suppressed_responses_send_nothing_and_keep_the_order_of_the_rest()
    {
        await using var listener = await TestListener.StartAsync(new PickyProcessor());
        using var client = await RawKafkaClient.ConnectAsync(listener.Port);
        await client.SendAsync(new[] { "\0a"u8.ToArray(), "B"u8.ToArray(), "\0c"u8.ToArray(), "D"u8.ToArray() }.SelectMany(RawKafkaClient.Frame).ToArray());
        Assert.Equal("B"u8.ToArray(), await client.ReadFrameOrThrowAsync());
        Assert.Equal("D"u8.ToArray(), await client.ReadFrameOrThrowAsync());
        Assert.False(await client.WaitForCloseAsync(TimeSpan.FromMilliseconds(300)), "nothing more arrives, and the connection stays");
        Assert.Equal(4, listener.Metrics.Requests);
        Assert.Equal(2, listener.Metrics.Responses);
    }

    [Fact]
    public async Task A_processor_exception_closes_that_connection_after_the_responses_before_it()
    {
        var logger = new CapturingLogger<Kafka.Network.KafkaListener>(output);
        await using var listener = await TestListener.StartAsync(new PickyProcessor(), logger: logger);
        using var other = await RawKafkaClient.ConnectAsync(listener.Port);
        using var client = await RawKafkaClient.ConnectAsync(listener.Port);

        await client.SendAsync(new[] { "one"u8.ToArray(), "boom"u8.ToArray(), "two"u8.ToArray() }.SelectMany(RawKafkaClient.Frame).ToArray());
        Assert.Equal("one"u8.ToArray(), await client.ReadFrameOrThrowAsync());
        Assert.Null(await client.ReadFrameAsync()); // closed: no answer to "boom" nor to what followed it

        await other.SendFrameAsync("unaffected"u8);
        Assert.Equal("unaffected"u8.ToArray(), await other.ReadFrameOrThrowAsync());
        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("processor failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Many_connections_pipelining_at_once_each_get_their_own_answers_in_order()
    {
        await using var listener = await TestListener.StartAsync(new ScrambledDelayProcessor());
        await Task.WhenAll(Enumerable.Range(0, 20).Select(async c =>
        {
            using var client = await RawKafkaClient.ConnectAsync(listener.Port);
            var frames = Enumerable.Range(0, 100).Select(i =>
            {
                var body = new byte[8 + (i % 7 * 1000)];
                BinaryPrimitives.WriteInt32BigEndian(body, i);
                BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(4), c);
                return body;
            }).ToArray();
            Task sending = client.SendAsync(frames.SelectMany(RawKafkaClient.Frame).ToArray());
            foreach (byte[] expected in frames)
            {
                Assert.Equal(expected, await client.ReadFrameOrThrowAsync());
            }

            await sending;
        }));
        Assert.Equal(2000, listener.Metrics.Requests);
        Assert.Equal(2000, listener.Metrics.Responses);
    }

    [Fact]
    public async Task Responses_flow_while_the_peer_half_closes_after_its_requests()
    {
        await using var listener = await TestListener.StartAsync(new ScrambledDelayProcessor());
        using var client = await RawKafkaClient.ConnectAsync(listener.Port);
        var frames = Enumerable.Range(0, 50).Select(i =>
        {
            var body = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(body, i);
            return body;
        }).ToArray();
        await client.SendAsync(frames.SelectMany(RawKafkaClient.Frame).ToArray());
        client.Socket.Shutdown(SocketShutdown.Send); // like `printf ... | nc`: requests, then EOF

        foreach (byte[] expected in frames)
        {
            Assert.Equal(expected, await client.ReadFrameOrThrowAsync());
        }

        Assert.Null(await client.ReadFrameAsync()); // then the server closes
    }
}
