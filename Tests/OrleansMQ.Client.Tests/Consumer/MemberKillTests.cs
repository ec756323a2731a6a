using System.Diagnostics;
using System.Globalization;
using OrleansMQ.Client.Consumer;
using OrleansMQ.Silo.Groups;
using OrleansMQ.Silo.Tests.Broker;
using OrleansMQ.Silo.Tests.Interop;
using Xunit;
using static OrleansMQ.Client.Tests.Consumer.ConsumerTestKit;

namespace OrleansMQ.Client.Tests.Consumer;

/// <summary>
/// A group member in another process (`omq consume -g`) is SIGKILLed: no LeaveGroup, no commit,
/// just silence. Our in-process member must get its partitions within the session timeout plus a
/// few seconds, and go on consuming.
/// </summary>
public sealed class MemberKillTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private TestSilo _silo = null!;

    public async Task InitializeAsync() => _silo = await TestSilo.StartAsync(new() { ["OrleansMQ:Groups:InitialRebalanceDelayMs"] = "0" });

    public async Task DisposeAsync() => await _silo.DisposeAsync();

    [Fact]
    public async Task A_killed_members_partitions_move_to_the_survivor_within_the_session_timeout()
    {
        string topic = await CreateTopicAsync(_silo, "kill", 4);
        const string Group = "kill-group";
        string omq = Path.Combine(AppContext.BaseDirectory, "omq.dll");
        await using var other = ExternalTool.StartCollecting(ExternalTool.Require("dotnet"),
            [omq, "consume", topic, "-g", Group, "--from", "beginning", "-f", "%p %o\\n", "--session-timeout-ms", "6000", "-b", _silo.Bootstrap, "--client-id", "omq-victim"]);
        await WaitForMembersAsync(Group, 1, other);

        var options = new ConsumerOptions
        {
            Client = new ClientOptions { BootstrapServers = _silo.Bootstrap, ClientId = "survivor" },
            GroupId = Group,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            SessionTimeout = TimeSpan.FromSeconds(6),
            HeartbeatInterval = TimeSpan.FromSeconds(1),
        };
        await using var survivor = new Collector(new KafkaConsumer(options), c => c.Subscribe([topic]));
        await WaitForMembersAsync(Group, 2, other);
        await WaitUntilAsync(() => survivor.Consumer.Assignment.Count == 2, Wait, () => $"survivor owns {survivor.Consumer.Assignment.Count}\n{other.Stderr}");

        var clock = Stopwatch.StartNew();
        await other.KillAsync();
        await WaitUntilAsync(() => survivor.Consumer.Assignment.Count == 4, TimeSpan.FromSeconds(15), () => $"survivor owns {survivor.Consumer.Assignment.Count}");
        var moved = clock.Elapsed;
        Assert.True(moved < TimeSpan.FromSeconds(6 + 3), $"partitions moved after {moved.TotalSeconds:F1} s (session 6 s)");

        // And it consumes what arrives on every partition.
        for (int p = 0; p < 4; p++)
        {
            await ProduceAsync(_silo, topic, [$"k:after{p}"], partition: p);
        }

        await WaitUntilAsync(() => survivor.Values.Count(v => v.StartsWith("after", StringComparison.Ordinal)) == 4, Wait, () => string.Join(",", survivor.Values));
    }

    private async Task WaitForMembersAsync(string group, int members, ExternalTool.RunningTool other)
    {
        await WaitUntilAsync(
            () =>
            {
                var d = _silo.Groups.DescribeAsync(group).GetAwaiter().GetResult();
                return d.State == GroupState.Stable && d.Members.Count == members;
            },
            Wait,
            () => $"group not stable with {members.ToString(CultureInfo.InvariantCulture)} members\n{other.Stderr}");
    }
}
