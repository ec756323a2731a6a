using System.Diagnostics;
using OrleansMQ.Client;
using OrleansMQ.Client.Admin;
using OrleansMQ.Silo.Tests.Interop;
using Xunit;
using Xunit.Abstractions;

namespace OrleansMQ.Silo.Tests.Cluster;

/// <summary>
/// Two silo processes in cluster mode over a real Azurite table service (membership and grain
/// state): one topic, one group, whichever silo a client talks to; a silo leaving hands its grains
/// to the other.
/// </summary>
#pragma warning disable CA1001 // the silos are disposed in DisposeAsync (IAsyncLifetime)
public sealed class AzureTableClusterTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private readonly AzuriteTables _azurite = new();
    private readonly ITestOutputHelper _log;
    private readonly string _clusterId = "t" + Guid.NewGuid().ToString("N")[..10];
    private SiloProcess _a = null!;
    private SiloProcess _b = null!;
#pragma warning restore CA1001

    public AzureTableClusterTests(ITestOutputHelper log) => _log = log;

    public async Task InitializeAsync()
    {
        await _azurite.InitializeAsync();
        _a = new SiloProcess("silo-a", ClusterSettings(nodeId: 1));
        _b = new SiloProcess("silo-b", ClusterSettings(nodeId: 2));
        // A first, so the directory and the topic's grain most likely live there (then A's stop moves them).
        await _a.StartAsync();
        await _b.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _b.DisposeAsync();
        await _a.DisposeAsync();
        await _azurite.DisposeAsync();
    }

    private Dictionary<string, string> ClusterSettings(int nodeId) => new()
    {
        ["OrleansMQ__Cluster__Mode"] = "AzureTable",
        ["OrleansMQ__Cluster__ConnectionString"] = _azurite.ConnectionString,
        ["OrleansMQ__Cluster__ClusterId"] = _clusterId,
        ["OrleansMQ__Cluster__ServiceId"] = _clusterId,
        ["OrleansMQ__Cluster__AdvertisedAddress"] = "127.0.0.1",
        ["OrleansMQ__Broker__NodeId"] = nodeId.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["OrleansMQ__Groups__InitialRebalanceDelayMs"] = "0",
    };

    private string Diagnostics() => $"\n--- silo A ---\n{_a.Output}\n--- silo B ---\n{_b.Output}";

    private static KafkaAdminClient Admin(SiloProcess silo) => new(new ClientOptions { BootstrapServers = silo.Bootstrap });

    private static ExternalTool.RunningTool Member(SiloProcess silo, string group, string topic, string clientId) => ExternalTool.StartCollecting(
        ExternalTool.Require("kcat"),
        [
            "-b", silo.Bootstrap, "-G", group, "-u", "-f", "%p %o %s\n",
            "-X", $"client.id={clientId}",
            "-X", "auto.offset.reset=earliest",
            "-X", "session.timeout.ms=6000",
            "-X", "heartbeat.interval.ms=500",
            topic,
        ]);

    private static async Task<GroupDescription> WaitGroupAsync(KafkaAdminClient admin, string group, Func<GroupDescription, bool> done, string what, Func<string> diagnostics)
    {
        var clock = Stopwatch.StartNew();
        string last = "";
        while (true)
        {
            try
            {
                var d = await admin.DescribeGroupAsync(group);
                last = $"{d.State}: " + string.Join("; ", d.Members.Select(m => $"{m.ClientId}=[{string.Join(',', m.Assignment.Select(a => a.Partition))}]"));
                if (done(d))
                {
                    return d;
                }
            }
            catch (KafkaException ex)
            {
                last = ex.Message;
            }

            Assert.True(clock.Elapsed < Wait, $"{what}: not reached in {Wait.TotalSeconds} s; last seen {last}{diagnostics()}");
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task A_topic_and_a_group_are_one_across_two_silos_and_survive_a_silo_leaving()
    {
        // A topic created through A is the same topic through B: configs, partitions, identity.
        await using (var adminA = Admin(_a))
        {
            await adminA.CreateTopicAsync(new NewTopic("orders", 4) { Configs = new Dictionary<string, string?> { ["retention.ms"] = "3600000" } });
        }

        await using var adminB = Admin(_b);
        var described = await adminB.DescribeTopicAsync("orders");
        Assert.Equal(4, described.Partitions.Count);
        Assert.Equal("3600000", described.Configs.Single(c => c.Name == "retention.ms").Value);
        var again = await Assert.ThrowsAsync<KafkaException>(() => adminB.CreateTopicAsync(new NewTopic("orders", 2)));
        Assert.Equal(OrleansMQ.Protocol.Kafka.ErrorCode.TopicAlreadyExists, again.ErrorCode);

        // Members connected to different silos join one group and split its partitions.
        await using var onA = Member(_a, "g", "orders", "member-a");
        await using var onB = Member(_b, "g", "orders", "member-b");
        var balanced = await WaitGroupAsync(adminB, "g", d => d.State == "Stable" && d.Members.Count == 2 && d.Members.All(m => m.Assignment.Count == 2), "two members, two partitions each", Diagnostics);
        Assert.Equal(Enumerable.Range(0, 4), balanced.Members.SelectMany(m => m.Assignment).Select(a => a.Partition).Order());
        await using (var adminA = Admin(_a))
        {
            // The same group seen through A: one group grain in the cluster.
            var throughA = await adminA.DescribeGroupAsync("g");
            Assert.Equal(balanced.Members.Select(m => m.MemberId).Order(), throughA.Members.Select(m => m.MemberId).Order());
        }

        // A leaves: its activations (topic, directory, maybe the group) move to B, whose member rejoins and owns everything.
        await onA.KillAsync();
        await _a.StopAsync();
        await WaitGroupAsync(adminB, "g", d => d.State == "Stable" && d.Members.Count == 1 && d.Members[0].ClientId == "member-b" && d.Members[0].Assignment.Count == 4, "member-b alone with all four partitions", Diagnostics);
        var afterStop = await adminB.DescribeTopicAsync("orders");
        Assert.Equal(4, afterStop.Partitions.Count);
        Assert.Equal("3600000", afterStop.Configs.Single(c => c.Name == "retention.ms").Value);

        // And B serves data to its member: records produced through B reach member-b.
        await ExternalTool.RunAsync(ExternalTool.Require("kcat"), ["-b", _b.Bootstrap, "-P", "-t", "orders", "-p", "3"], stdin: "after-a-left\n");
        await onB.WaitUntilAsync(lines => lines.Any(l => l.EndsWith("after-a-left", StringComparison.Ordinal)), Wait, "member-b receives a record produced after A left");
        _log.WriteLine(Diagnostics());
    }
}
