using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OrleansMQ.Silo.Grains;
using OrleansMQ.Silo.Hosting;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Broker.Benchmarks;

/// <summary>
/// Managed heap per consumer group, with a silo hosted in this process (so the heap can be
/// measured after a forced, compacting full GC, and nothing needs to be exposed by the silo).
/// <list type="number">
/// <item>Silo 1 (fresh data): 100 warm-up groups, heap H0; then N groups ("a-*") each get K
/// committed offsets over the wire (standalone OffsetCommit v7, K partitions in one request; no
/// members), clients closed, heap H1. The groups' grains are still activated (idle timeout:
/// 10 min): <b>activated</b> = (H1 − H0) / N.</item>
/// <item>Silo 1 stops cleanly (writes the offsets snapshot); silo 2 starts on the same data and
/// loads the groups (snapshot + replay), activating none: heap H2. Silo 2 gets N more groups
/// ("b-*") the same way and stops; silo 3 loads all 2N + 100: heap H3.
/// <b>idle</b> = (H3 − H2) / N: two silos that differ only in the number of loaded groups. A
/// group whose grain deactivated after its idle timeout keeps what a loaded one has (its
/// StoredGroup in the OffsetStore).</item>
/// </list>
/// </summary>
internal static class GroupMemoryRun
{
    private const int WarmGroups = 100;
    private static readonly CultureInfo Culture = CultureInfo.InvariantCulture;

    public static async Task<int> RunAsync(GroupBenchOptions o)
    {
        bool ownDirectory = o.DataDirectory.Length == 0;
        string root = ownDirectory ? Path.Combine(Path.GetTempPath(), "omq-bench-groups-mem-" + Guid.NewGuid().ToString("N")) : o.DataDirectory;
        string data = Path.Combine(root, "groups");
        int n = o.MemoryGroups;
        int k = o.OffsetsPerGroup;
        try
        {
            long h0, h1, h2, h3;
            int activations, loaded2, loaded3;
            double commitSeconds, load2Ms, load3Ms;
            await using (var silo = await InProcessSilo.StartAsync(data).ConfigureAwait(false))
            {
                GroupSetup.EnsureTopic(silo.EndPoint, o.Topic, k);
                await CommitAsync(silo.EndPoint, o.Topic, "warm", WarmGroups, k).ConfigureAwait(false);
                h0 = Heap();
                var clock = Stopwatch.StartNew();
                await CommitAsync(silo.EndPoint, o.Topic, "a", n, k).ConfigureAwait(false);
                commitSeconds = clock.Elapsed.TotalSeconds;
                h1 = Heap();
                activations = silo.ActivationCount;
            }

            await using (var silo = await InProcessSilo.StartAsync(data).ConfigureAwait(false))
            {
                load2Ms = silo.LoadMs;
                loaded2 = silo.Kafka.Groups.Store.Groups.Count;
                h2 = Heap();
                await CheckAsync(silo, "a-0", k).ConfigureAwait(false);
                await CommitAsync(silo.EndPoint, o.Topic, "b", n, k).ConfigureAwait(false);
            }

            await using (var silo = await InProcessSilo.StartAsync(data).ConfigureAwait(false))
            {
                load3Ms = silo.LoadMs;
                loaded3 = silo.Kafka.Groups.Store.Groups.Count;
                h3 = Heap();
                await CheckAsync(silo, "b-0", k).ConfigureAwait(false);
            }

            double activated = (h1 - h0) / (double)n;
            double idle = (h3 - h2) / (double)n;
            Console.WriteLine(string.Create(Culture,
                $"memory: {n:N0} groups x {k} committed offsets (standalone commits, no members; topic name {o.Topic.Length} chars, group ids up to {("a-" + (n - 1)).Length} chars), committed in {commitSeconds:0.00} s"));
            Console.WriteLine(string.Create(Culture,
                $"  activated ({activations:N0} grains in memory): heap {Mb(h0)} -> {Mb(h1)} MB = {activated:N0} bytes/group"));
            Console.WriteLine(string.Create(Culture,
                $"  idle (after a restart, none activated): {loaded2:N0} groups loaded in {load2Ms:0} ms, heap {Mb(h2)} MB; {loaded3:N0} groups loaded in {load3Ms:0} ms, heap {Mb(h3)} MB = {idle:N0} bytes/group"));
            Console.WriteLine(string.Create(Culture,
                $"RESULT memory groups={n} offsets_per_group={k} activated_bytes_per_group={activated:0} idle_bytes_per_group={idle:0} h0={h0} h1={h1} h2={h2} h3={h3} load2_ms={load2Ms:0} load3_ms={load3Ms:0} commit_s={commitSeconds:0.00}"));
            return 0;
        }
        finally
        {
            if (ownDirectory)
            {
                try
                {
                    Directory.Delete(root, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        }
    }

    /// <summary>The replayed group has its offsets.</summary>
    private static async Task CheckAsync(InProcessSilo silo, string groupId, int k)
    {
        var fetched = (await silo.Kafka.Groups.FetchOffsetsAsync(groupId, null).ConfigureAwait(false)).Offsets ?? [];
        if (fetched.Count != k || fetched.Any(f => f.Offset != 1000 + f.Partition))
        {
            throw new InvalidOperationException($"group {groupId} came back with {fetched.Count} offsets");
        }
    }

    /// <summary>Groups prefix-0 .. prefix-(count-1), each K offsets (1000 + partition) in one standalone OffsetCommit, 8 connections in parallel.</summary>
    private static async Task CommitAsync(IPEndPoint endPoint, string topic, string prefix, int count, int k)
    {
        const int Connections = 8;
        int next = -1;
        await Task.WhenAll(Enumerable.Range(0, Connections).Select(async _ =>
        {
            using var wire = await GroupWire.ConnectAsync(endPoint).ConfigureAwait(false);
            for (int g = Interlocked.Increment(ref next); g < count; g = Interlocked.Increment(ref next))
            {
                var request = new OffsetCommitRequest
                {
                    GroupId = $"{prefix}-{g}",
                    GenerationId = -1,
                    MemberId = "",
                    Topics = [new OffsetCommitRequest.Topic { Name = topic, Partitions = Enumerable.Range(0, k).Select(p => new OffsetCommitRequest.Partition { PartitionIndex = p, CommittedOffset = 1000 + p, CommittedMetadata = "" }).ToList() }],
                };
                var response = await wire.CallAsync<OffsetCommitRequest, OffsetCommitResponse>(request, OffsetCommitRun.CommitVersion).ConfigureAwait(false);
                var error = response.Topics.SelectMany(t => t.Partitions).Select(p => p.ErrorCode).FirstOrDefault(e => e != ErrorCode.None);
                if (error != ErrorCode.None)
                {
                    throw new InvalidOperationException($"OffsetCommit {request.GroupId}: {error}");
                }
            }
        })).ConfigureAwait(false);
    }

    /// <summary>Bytes in the managed heap after full, blocking, compacting collections (finalizers run in between).</summary>
    private static long Heap()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static string Mb(long bytes) => (bytes / 1e6).ToString("0.0", Culture);

    /// <summary>A silo in this process: storage in <c>dir</c>, Kafka on 127.0.0.1 with a free port; started when groups are loaded.</summary>
    private sealed class InProcessSilo : IAsyncDisposable
    {
        private readonly IHost _host;

        private InProcessSilo(IHost host, double loadMs)
        {
            _host = host;
            LoadMs = loadMs;
            Kafka = host.Services.GetRequiredService<KafkaServerHostedService>();
            EndPoint = new IPEndPoint(IPAddress.Loopback, Kafka.Port);
        }

        public KafkaServerHostedService Kafka { get; }

        public IPEndPoint EndPoint { get; }

        public double LoadMs { get; }

        /// <summary>Grains in memory: not exposed by the Orleans runtime here (-1).</summary>
        public int ActivationCount => Kafka is null ? 0 : -1;

        public static async Task<InProcessSilo> StartAsync(string dataDirectory)
        {
            var settings = new Dictionary<string, string?>
            {
                ["OrleansMQ:Storage:DataDirectory"] = dataDirectory,
                ["OrleansMQ:Storage:SegmentSize"] = (64L << 20).ToString(CultureInfo.InvariantCulture),
                ["OrleansMQ:Broker:ListenAddress"] = "127.0.0.1",
                ["OrleansMQ:Broker:Port"] = "0",
                ["OrleansMQ:Http:ListenAddress"] = "127.0.0.1",
                ["OrleansMQ:Http:Port"] = "0",
                ["OrleansMQ:Cluster:SiloPort"] = "0",
                ["OrleansMQ:Cluster:GatewayPort"] = "0",
                ["Logging:LogLevel:Default"] = "Warning",
                ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Warning",
            };
            var host = SiloHost.Build([], c => c.AddInMemoryCollection(settings));
            var clock = Stopwatch.StartNew();
            await host.StartAsync().ConfigureAwait(false);
            await host.Services.GetRequiredService<KafkaServerHostedService>().Groups.WhenLoaded.ConfigureAwait(false);
            return new InProcessSilo(host, clock.Elapsed.TotalMilliseconds);
        }

        public async ValueTask DisposeAsync()
        {
            await _host.StopAsync().ConfigureAwait(false);
            _host.Dispose();
        }
    }
}
