using System.Buffers;
using Xunit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OrleansMQ.Silo.Groups;
using OrleansMQ.Silo.Hosting;
using OrleansMQ.Silo.Kafka;
using OrleansMQ.Silo.Kafka.Network;
using OrleansMQ.Silo.Topics;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Tests.Network;
using OrleansMQ.Storage.Engine;

namespace OrleansMQ.Silo.Tests.Broker;

/// <summary>
/// A real silo in this process: storage in a temp folder, the Kafka listener on 127.0.0.1 with a
/// free port. Small segments keep each silo's memory and disk modest. <see cref="RestartAsync"/>
/// stops it cleanly and starts a new one on the same data (a new port, unless the port was fixed).
/// </summary>
public sealed class TestSilo : IAsyncDisposable
{
    private readonly Dictionary<string, string?> _settings;
    private IHost _host;

    private TestSilo(string dataDirectory, Dictionary<string, string?> settings, IHost host)
    {
        DataDirectory = dataDirectory;
        _settings = settings;
        _host = host;
    }

    public string DataDirectory { get; }

    public int Port => Listener.Port;

    public string Bootstrap => $"127.0.0.1:{Port}";

    public StorageEngine Engine => _host.Services.GetRequiredService<StorageEngine>();

    /// <summary>The HTTP gateway's base address (a free port per silo).</summary>
    public Uri HttpBaseAddress => new($"http://127.0.0.1:{_host.Services.GetRequiredService<OrleansMQ.Silo.Http.HttpGatewayHostedService>().Port}/");

    /// <summary>The silo host's services.</summary>
    public IServiceProvider Services => _host.Services;

    /// <summary>The Kafka listener (bound once the silo started).</summary>
    public KafkaListener Listener => _host.Services.GetRequiredService<KafkaListener>();

    /// <summary>The broker's node id, advertised address and cluster id.</summary>
    public BrokerIdentity Identity => _host.Services.GetRequiredService<BrokerIdentity>();

    public TopicService Topics => _host.Services.GetRequiredService<TopicService>();

    public GroupService Groups => _host.Services.GetRequiredService<GroupService>();

    /// <summary>
    /// The headers of every batch storage holds for <paramref name="topic"/>-<paramref name="partition"/>,
    /// read from the engine (not through Kafka): what a client really sent, e.g. its compression codec.
    /// </summary>
    public List<OrleansMQ.Protocol.Batches.RecordBatchInfo> StoredBatches(string topic, int partition)
    {
        Assert.True(Engine.TryGetPartition(topic, partition, out var log), $"{topic}-{partition} is not in storage");
        var infos = new List<OrleansMQ.Protocol.Batches.RecordBatchInfo>();
        long offset = 0;
        while (offset < log.HighWatermark)
        {
            var buffer = new ArrayBufferWriter<byte>();
            Engine.Read(log, offset, int.MaxValue, buffer, out var status);
            Assert.True(buffer.WrittenCount > 0, $"{topic}-{partition}: nothing read at offset {offset} ({status})");
            foreach (var batch in BrokerKit.SplitBatches(buffer.WrittenMemory))
            {
                Assert.Equal(OrleansMQ.Protocol.Batches.BatchError.None, OrleansMQ.Protocol.Batches.RecordBatch.TryReadInfo(batch, out var info));
                infos.Add(info);
                offset = info.LastOffset + 1;
            }
        }

        return infos;
    }

    /// <param name="groupsLoadGate">When given, the group coordinator stays loading until it completes.</param>
    public static async Task<TestSilo> StartAsync(Dictionary<string, string?>? overrides = null, string? dataDirectory = null, Task? groupsLoadGate = null)
    {
        dataDirectory ??= Path.Combine(Path.GetTempPath(), "omq-silo-" + Guid.NewGuid().ToString("N"));
        var settings = new Dictionary<string, string?>
        {
            ["OrleansMQ:Storage:DataDirectory"] = dataDirectory,
            ["OrleansMQ:Storage:SegmentSize"] = (16L << 20).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["OrleansMQ:Storage:MaxBatchBytes"] = (4 << 20).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["OrleansMQ:Broker:ListenAddress"] = "127.0.0.1",
            ["OrleansMQ:Broker:Port"] = "0",
            ["OrleansMQ:Http:ListenAddress"] = "127.0.0.1",
            ["OrleansMQ:Http:Port"] = "0",
            // Orleans: a free silo port, no client gateway (tests that need one set a port).
            ["OrleansMQ:Cluster:SiloPort"] = "0",
            ["OrleansMQ:Cluster:GatewayPort"] = "0",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (k, v) in overrides ?? new())
        {
            settings[k] = v;
        }

        var host = Build(settings);
        if (groupsLoadGate is not null)
        {
            host.Services.GetRequiredService<KafkaServerHostedService>().GroupsLoadGate = groupsLoadGate;
        }

        await host.StartAsync().ConfigureAwait(false);
        return new TestSilo(dataDirectory, settings, host);
    }

    /// <summary>
    /// A port a silo (in this process or a child) or a helper process will bind later, for example
    /// one that must keep its port across <see cref="RestartAsync"/> (clients reconnect to the
    /// address they were given): pass it as <c>OrleansMQ:Broker:Port</c>. Picked below the kernel's
    /// ephemeral range (32768 and up here), because a port taken from that range and released can
    /// be handed to any outgoing connection before the silo binds it — silos failed to start with
    /// AddressAlreadyInUse that way, a child's Orleans port once and an in-process silo's Kafka
    /// port (which binds after Orleans has started) once. Checked bindable on 0.0.0.0, never
    /// handed out twice in one test run; 10000–19999, clear of the ranges infra/cluster.sh's test uses.
    /// </summary>
    public static int FreePort()
    {
        for (int attempt = 0; attempt < 200; attempt++)
        {
            int port = Random.Shared.Next(10_000, 20_000);
            // Test classes run in parallel: never hand one port to two silos that have not bound yet.
            if (!HandedOut.TryAdd(port, 0))
            {
                continue;
            }

            try
            {
                using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Any, port);
                probe.Start();
                probe.Stop();
                return port;
            }
            catch (System.Net.Sockets.SocketException)
            {
            }
        }

        throw new InvalidOperationException("No free port in 10000-19999 after 200 tries.");
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, byte> HandedOut = new();

    private static IHost Build(Dictionary<string, string?> settings) =>
        SiloHost.Build([], c => c.AddInMemoryCollection(settings));

    /// <summary>Clean stop, then a new silo on the same data (and the same settings: a new port unless one was fixed with <see cref="FreePort"/>).</summary>
    /// <param name="whileStopped">Runs between the stop and the start (e.g. to remove files from the data folder).</param>
    public async Task RestartAsync(Action? whileStopped = null)
    {
        await _host.StopAsync().ConfigureAwait(false);
        _host.Dispose();
        whileStopped?.Invoke();
        _host = Build(_settings);
        await _host.StartAsync().ConfigureAwait(false);
    }

    public async Task<KafkaTestClient> ConnectAsync() => new(await RawKafkaClient.ConnectAsync(Port).ConfigureAwait(false));

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _host.StopAsync().ConfigureAwait(false);
        }
        finally
        {
            _host.Dispose();
            try
            {
                Directory.Delete(DataDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}

/// <summary>Sends requests encoded with our codec and decodes the responses, over a raw socket.</summary>
public sealed class KafkaTestClient : IDisposable
{
    private readonly RawKafkaClient _raw;
    private int _correlationId;

    internal KafkaTestClient(RawKafkaClient raw) => _raw = raw;

    internal RawKafkaClient Raw => _raw;

    public async Task<TResponse> SendAsync<TRequest, TResponse>(TRequest request, short version, string? clientId = "omq-tests")
        where TRequest : IKafkaMessage<TRequest>
        where TResponse : IKafkaMessage<TResponse>
    {
        int correlationId = await SendOnlyAsync(request, version, clientId).ConfigureAwait(false);
        return await ReceiveAsync<TResponse>(TRequest.ApiKey, version, correlationId).ConfigureAwait(false);
    }

    public async Task<int> SendOnlyAsync<TRequest>(TRequest request, short version, string? clientId = "omq-tests")
        where TRequest : IKafkaMessage<TRequest>
    {
        int correlationId = Interlocked.Increment(ref _correlationId);
        await _raw.SendFrameAsync(Encode(request, version, correlationId, clientId)).ConfigureAwait(false);
        return correlationId;
    }

    public async Task<TResponse> ReceiveAsync<TResponse>(ApiKey api, short version, int expectedCorrelationId)
        where TResponse : IKafkaMessage<TResponse>
    {
        var frame = await _raw.ReadFrameOrThrowAsync().ConfigureAwait(false);
        return Decode<TResponse>(frame, api, version, expectedCorrelationId);
    }

    public static byte[] Encode<TRequest>(TRequest request, short version, int correlationId, string? clientId = "omq-tests")
        where TRequest : IKafkaMessage<TRequest>
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new KafkaWriter(buffer);
        new RequestHeader(TRequest.ApiKey, version, correlationId, clientId).Write(ref writer);
        request.Write(ref writer, version);
        return buffer.WrittenSpan.ToArray();
    }

    public static TResponse Decode<TResponse>(byte[] frame, ApiKey api, short version, int expectedCorrelationId)
        where TResponse : IKafkaMessage<TResponse>
    {
        var reader = new KafkaReader(frame);
        int correlationId = ResponseHeader.Read(ref reader, api, version);
        Assert.Equal(expectedCorrelationId, correlationId);
        var response = TResponse.Read(ref reader, version);
        Assert.True(reader.IsAtEnd, $"{reader.Remaining} bytes left after the {api} v{version} response");
        return response;
    }

    public void Dispose() => _raw.Dispose();
}
