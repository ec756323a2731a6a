using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using OrleansMQ.Silo.Kafka.Network;
using Xunit;
using Xunit.Abstractions;

namespace OrleansMQ.Silo.Tests.Network;

/// <summary>Start, stop, drain and the connection limit.</summary>
public sealed class KafkaListenerLifecycleTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Port_zero_binds_a_free_port_and_reports_it()
    {
        await using var listener = await TestListener.StartAsync(new EchoProcessor());
        Assert.InRange(listener.Port, 1, IPEndPoint.MaxPort);
        Assert.Equal(IPAddress.Loopback, listener.LocalEndPoint!.Address);
        using var client = await RawKafkaClient.ConnectAsync(listener.Port);
        await client.SendFrameAsync("x"u8);
        Assert.Equal("x"u8.ToArray(), await client.ReadFrameOrThrowAsync());
    }

    [Fact]
    public async Task A_taken_port_fails_StartAsync()
    {
        await using var first = await TestListener.StartAsync(new EchoProcessor());
        await using var second = new KafkaListener(new KafkaListenerOptions { BindAddress = "127.0.0.1", Port = first.Port }, new EchoProcessor());
        await Assert.ThrowsAsync<SocketException>(() => second.StartAsync());
    }

    [Fact]
    public async Task Graceful_stop_refuses_new_connections_and_waits_for_the_in_flight_response()
    {
        var processor = new GatedProcessor();
        var listener = await TestListener.StartAsync(processor, logger: new CapturingLogger<KafkaListener>(output));
        int port = listener.Port;
        using var client = await RawKafkaClient.ConnectAsync(port);
        await client.SendFrameAsync("in flight"u8);
        await processor.Started.WaitAsync(TimeSpan.FromSeconds(10));

        Task stopping = listener.StopAsync();
        await Task.Delay(300);
        Assert.False(stopping.IsCompleted, "stop returned while a request was still being processed");
        await Assert.ThrowsAsync<SocketException>(() => RawKafkaClient.ConnectAsync(port));

        processor.Release();
        Assert.Equal("in flight"u8.ToArray(), await client.ReadFrameOrThrowAsync());
        Assert.Null(await client.ReadFrameAsync()); // then closed
        await stopping.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, listener.Metrics.ConnectionsOpen);
        await listener.DisposeAsync();
    }

    [Fact]
    public async Task The_drain_is_bounded_by_ShutdownTimeout_then_connections_are_aborted()
    {
        var processor = new NeverCompletingProcessor();
        var listener = await TestListener.StartAsync(processor, o => o.ShutdownTimeout = TimeSpan.FromMilliseconds(300));
        using var client = await RawKafkaClient.ConnectAsync(listener.Port);
        await client.SendFrameAsync("stuck"u8);
        await TestListener.EventuallyAsync(() => processor.Calls == 1, "the request is being processed");

        var watch = Stopwatch.StartNew();
        await listener.StopAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(5));
        Assert.Equal(1, processor.Cancelled);
        Assert.True(await client.WaitForCloseAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(0, listener.Metrics.ConnectionsOpen);
        await listener.DisposeAsync();
    }

    [Fact]
    public async Task The_stop_token_cuts_the_drain_short()
    {
        var processor = new NeverCompletingProcessor();
        await using var listener = await TestListener.StartAsync(processor); // 30 s drain bound
        using var client = await RawKafkaClient.ConnectAsync(listener.Port);
        await client.SendFrameAsync("stuck"u8);
        await TestListener.EventuallyAsync(() => processor.Calls == 1, "the request is being processed");

        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var watch = Stopwatch.StartNew();
        await listener.StopAsync(cts.Token).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5));
        Assert.Equal(1, processor.Cancelled);
    }

    [Fact]
    public async Task Stop_without_start_and_double_stop_are_harmless()
    {
        var never = new KafkaListener(new KafkaListenerOptions { Port = 0 }, new EchoProcessor());
        await never.StopAsync();
        await never.DisposeAsync();

        var listener = await TestListener.StartAsync(new EchoProcessor());
        await listener.StopAsync();
        await listener.StopAsync();
        await listener.DisposeAsync();
        await Assert.ThrowsAsync<InvalidOperationException>(() => listener.StartAsync());
    }

    [Fact]
    public async Task Connections_above_MaxConnections_are_closed_at_once()
    {
        await using var listener = await TestListener.StartAsync(new EchoProcessor(), o => o.MaxConnections = 2);
        using var a = await RawKafkaClient.ConnectAsync(listener.Port);
        using var b = await RawKafkaClient.ConnectAsync(listener.Port);
        await TestListener.EventuallyAsync(() => listener.Metrics.ConnectionsOpen == 2, "two connections are open");

        using (var c = await RawKafkaClient.ConnectAsync(listener.Port))
        {
            Assert.True(await c.WaitForCloseAsync(TimeSpan.FromSeconds(5)));
        }

        Assert.Equal(1, listener.Metrics.ConnectionsRejected);
        await a.SendFrameAsync("a"u8);
        Assert.Equal("a"u8.ToArray(), await a.ReadFrameOrThrowAsync());

        b.Dispose();
        await TestListener.EventuallyAsync(() => listener.Metrics.ConnectionsOpen == 1, "a slot frees up");
        using var d = await RawKafkaClient.ConnectAsync(listener.Port);
        await d.SendFrameAsync("d"u8);
        Assert.Equal("d"u8.ToArray(), await d.ReadFrameOrThrowAsync());
    }
}

public sealed class KafkaListenerOptionsTests
{
    [Fact]
    public void Defaults_are_the_documented_ones()
    {
        var options = new KafkaListenerOptions();
        Assert.Equal("0.0.0.0", options.BindAddress);
        Assert.Equal(9092, options.Port);
        Assert.Equal(104_857_600, options.MaxFrameBytes);
        Assert.Equal(100, options.MaxInFlightRequestsPerConnection);
        Assert.True(options.ZeroCopy);
        Assert.Equal(10_000, options.MaxConnections);
        Assert.Equal(TimeSpan.FromSeconds(30), options.ShutdownTimeout);
        options.Validate();
        Assert.Equal("bind=0.0.0.0:9092 maxFrame=104857600 maxInFlight=100 zeroCopy=on maxConnections=10000 shutdownTimeout=00:00:30 backlog=512", options.ToString());
    }

    public static TheoryData<string, Action<KafkaListenerOptions>> Invalid => new()
    {
        { "BindAddress", o => o.BindAddress = "localhost" },
        { "Port", o => o.Port = -1 },
        { "Port", o => o.Port = 65536 },
        { "MaxFrameBytes", o => o.MaxFrameBytes = 0 },
        { "MaxFrameBytes", o => o.MaxFrameBytes = int.MaxValue },
        { "MaxInFlightRequestsPerConnection", o => o.MaxInFlightRequestsPerConnection = 0 },
        { "MaxConnections", o => o.MaxConnections = 0 },
        { "ShutdownTimeout", o => o.ShutdownTimeout = TimeSpan.Zero },
        { "ListenBacklog", o => o.ListenBacklog = 0 },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Validate_names_the_bad_setting(string name, Action<KafkaListenerOptions> spoil)
    {
        var options = new KafkaListenerOptions();
        spoil(options);
        var error = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Equal(name, error.ParamName);
        Assert.Throws<ArgumentException>(() => new KafkaListener(options, new EchoProcessor()));
    }
}
