using System.Diagnostics;
using System.Globalization;
using OrleansMQ.Silo.Groups;
using OrleansMQ.Silo.Tests.Broker;
using Xunit;
using Xunit.Abstractions;
using static OrleansMQ.Silo.Tests.Interop.GroupInterop;

namespace OrleansMQ.Silo.Tests.Interop;

/// <summary>
/// kcat -G (librdkafka 2.0.2's balanced consumer, the classic group protocol) against a real silo:
/// three consumers share a 6-partition topic, a SIGKILLed one's partitions move to the others
/// within the session timeout, consumers stopped cleanly resume from their committed offsets, and
/// the group survives silo restarts (with consumers stopped and with consumers running).
/// </summary>
public sealed class KcatGroupTests : IAsyncLifetime
{
    private const int Partitions = 6;
    private const int SessionTimeoutMs = 6000;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private readonly List<ExternalTool.RunningTool> _consumers = [];
    private readonly ITestOutputHelper _output;
    private TestSilo _silo = null!;
    private string _kcat = null!;

    public KcatGroupTests(ITestOutputHelper output) => _output = output;

    public async Task InitializeAsync()
    {
        _kcat = ExternalTool.Require("kcat");
        // A fixed port: after a silo restart the consumers reconnect to the address they know.
        _silo = await TestSilo.StartAsync(new()
        {
            ["OrleansMQ:Broker:Port"] = TestSilo.FreePort().ToString(CultureInfo.InvariantCulture),
            ["OrleansMQ:Groups:InitialRebalanceDelayMs"] = "0",
        });
    }

    public async Task DisposeAsync()
    {
        foreach (var c in _consumers)
        {
            await c.DisposeAsync();
        }

        await _silo.DisposeAsync();
    }

    private async Task<string> CreateTopicAsync(string name)
    {
        var created = await _silo.Topics.CreateAsync(name, Partitions, 1, [], false);
        Assert.True(created.Error == OrleansMQ.Silo.Topics.TopicError.None, created.Message);
        return name;
    }

    /// <summary>
    /// A balanced consumer printing "partition offset value" per message. It auto-commits every 5 s
    /// (librdkafka's default: kcat's -X auto.commit.interval.ms lands on the legacy topic property)
    /// and when it stops cleanly or loses partitions in a rebalance.
    /// </summary>
    private ExternalTool.RunningTool StartConsumer(string group, string topic, string clientId)
    {
        var consumer = ExternalTool.StartCollecting(_kcat,
        [
            // -E: keep running when every broker is down (the silo restarting); kcat exits by default.
            "-b", _silo.Bootstrap, "-G", group, "-E", "-u", "-f", "%p %o %s\n",
            "-X", $"client.id={clientId}",
            "-X", "auto.offset.reset=earliest",
            "-X", $"session.timeout.ms={SessionTimeoutMs}",
            "-X", "heartbeat.interval.ms=1000",
            "-X", "socket.timeout.ms=10000",
            "-d", "cgrp", // the group protocol as the client sees it, on stderr: shown when a test fails
            topic,
        ]);
        _consumers.Add(consumer);
        return consumer;
    }

    private static List<Consumed> Parse(ExternalTool.RunningTool consumer) =>
        consumer.Lines.Select(l => l.Split(' ', 3)).Where(p => p.Length == 3)
            .Select(p => new Consumed(int.Parse(p[0], CultureInfo.InvariantCulture), long.Parse(p[1], CultureInfo.InvariantCulture), p[2])).ToList();

    /// <summary>For failure messages: what each consumer printed on stderr (rebalances, errors).</summary>
    private string Diagnostics() =>
        string.Concat(_consumers.Select(c => $"\n--- kcat pid {c.Id} (exited: {c.HasExited}) stderr:\n{Tail(c.Stderr)}"));

    private static string Tail(string text) => text.Length <= 3000 ? text : "…" + text[^3000..];

    private static IEnumerable<Consumed> All(IEnumerable<ExternalTool.RunningTool> consumers) => consumers.SelectMany(Parse);

    [Fact]
    public async Task Three_kcat_consumers_share_the_partitions_and_a_killed_ones_move_to_the_others()
    {
        string topic = await CreateTopicAsync("kcat-group-share");
        const string group = "kcat-share";
        string[] ids = ["c1", "c2", "c3"];
        var consumers = ids.ToDictionary(id => id, id => StartConsumer(group, topic, id));
        var balanced = await WaitBalancedAsync(_silo, group, topic, Partitions, ids, Wait, Diagnostics);

        // Steady state: everything consumed exactly once, each message by the owner of its partition.
        var first = await ProduceAsync(_silo, topic, "a", 0, 3000);
        await WaitConsumedAsync(() => All(consumers.Values), first, Wait, "first batch", Diagnostics);
        AssertExactlyOnce(All(consumers.Values), first);
        var owned = Assignments(balanced, topic);
        foreach (var (id, consumer) in consumers)
        {
            var partitions = Parse(consumer).Select(c => c.Partition).Distinct().Order().ToArray();
            Assert.Equal(owned[id], partitions);
        }

        Assert.Equal(Enumerable.Range(0, Partitions), All(consumers.Values).Select(c => c.Partition).Distinct().Order());
        await WaitLagZeroAsync(_silo, group, topic, Partitions, Wait, Diagnostics);

        // SIGKILL: no LeaveGroup, no final commit. The group notices when its session expires.
        // Bound: the session timeout, plus a heartbeat interval and a rebalance, rounded up to 3 s.
        var clock = Stopwatch.StartNew();
        var bound = TimeSpan.FromMilliseconds(SessionTimeoutMs + 3000);
        await consumers["c1"].KillAsync();
        var second = await ProduceAsync(_silo, topic, "b", 3000, 600);
        var survivors = await WaitBalancedAsync(_silo, group, topic, Partitions, ["c2", "c3"], bound - clock.Elapsed, Diagnostics);
        _output.WriteLine($"SIGKILL to rebalanced: {clock.ElapsedMilliseconds} ms");
        await WaitConsumedAsync(() => All(consumers.Values), second, bound - clock.Elapsed, "second batch after the kill", Diagnostics);
        _output.WriteLine($"SIGKILL to everything consumed: {clock.ElapsedMilliseconds} ms");
        var moved = Assignments(survivors, topic);
        Assert.All(owned["c1"], p => Assert.Contains(moved.Values, v => v.Contains(p)));

        // Nothing lost, nothing delivered twice (the first batch was committed before the kill).
        AssertExactlyOnce(All(consumers.Values), [.. first, .. second]);
        Assert.DoesNotContain(Parse(consumers["c1"]), c => c.Value.StartsWith('b'));
        await WaitLagZeroAsync(_silo, group, topic, Partitions, Wait, Diagnostics);
    }

    [Fact]
    public async Task Kcat_consumers_resume_from_committed_offsets_after_a_clean_stop_and_a_silo_restart()
    {
        string topic = await CreateTopicAsync("kcat-group-resume");
        const string group = "kcat-resume";
        var round1 = new[] { StartConsumer(group, topic, "r1"), StartConsumer(group, topic, "r2") };
        await WaitBalancedAsync(_silo, group, topic, Partitions, ["r1", "r2"], Wait, Diagnostics);
        var first = await ProduceAsync(_silo, topic, "a", 0, 1200);
        await WaitConsumedAsync(() => All(round1), first, Wait, "first batch", Diagnostics);

        // A clean stop (SIGTERM) commits what was consumed and leaves the group.
        foreach (var c in round1)
        {
            await c.StopAsync();
        }

        AssertExactlyOnce(All(round1), first);
        var lag = await WaitLagZeroAsync(_silo, group, topic, Partitions, TimeSpan.FromSeconds(5), Diagnostics);
        Assert.Equal(GroupState.Empty, lag.State);

        // New messages while nobody consumes; new consumers start at the committed offsets.
        var second = await ProduceAsync(_silo, topic, "b", 1200, 600);
        var round2 = new[] { StartConsumer(group, topic, "r3"), StartConsumer(group, topic, "r4") };
        // Both must be members before they are stopped: one that has not finished starting (on a
        // loaded machine its partner can consume the whole batch first) dies of the SIGTERM
        // before kcat installs its handler (exit 143).
        await WaitBalancedAsync(_silo, group, topic, Partitions, ["r3", "r4"], Wait, Diagnostics);
        await WaitConsumedAsync(() => All(round2), second, Wait, "second batch", Diagnostics);
        AssertExactlyOnce(All(round2), second);
        Assert.DoesNotContain(All(round2), c => c.Value.StartsWith('a')); // nothing before the committed offsets
        foreach (var c in round2)
        {
            await c.StopAsync();
        }

        await WaitLagZeroAsync(_silo, group, topic, Partitions, TimeSpan.FromSeconds(5), Diagnostics);

        // The committed offsets survive a silo restart (same port); consumers started after it resume from them.
        await _silo.RestartAsync();
        var third = await ProduceAsync(_silo, topic, "c", 1800, 600);
        var restored = await _silo.Groups.DescribeLagAsync(group);
        Assert.NotNull(restored);
        Assert.Equal(GroupState.Empty, restored.State);
        Assert.Equal(600, restored.TotalLag);
        var round3 = new[] { StartConsumer(group, topic, "r5"), StartConsumer(group, topic, "r6") };
        await WaitBalancedAsync(_silo, group, topic, Partitions, ["r5", "r6"], Wait, Diagnostics);
        await WaitConsumedAsync(() => All(round3), third, Wait, "third batch after the silo restart", Diagnostics);
        AssertExactlyOnce(All(round3), third);
        Assert.DoesNotContain(All(round3), c => c.Value.StartsWith('a') || c.Value.StartsWith('b'));
        foreach (var c in round3)
        {
            await c.StopAsync();
        }

        await WaitLagZeroAsync(_silo, group, topic, Partitions, TimeSpan.FromSeconds(5), Diagnostics);
    }

    [Fact]
    public async Task Kcat_consumers_keep_consuming_across_a_silo_restart()
    {
        string topic = await CreateTopicAsync("kcat-group-restart");
        const string group = "kcat-restart";
        string[] ids = ["s1", "s2", "s3"];
        var consumers = ids.Select(id => StartConsumer(group, topic, id)).ToArray();
        await WaitBalancedAsync(_silo, group, topic, Partitions, ids, Wait, Diagnostics);
        var first = await ProduceAsync(_silo, topic, "a", 0, 900);
        await WaitConsumedAsync(() => All(consumers), first, Wait, "first batch", Diagnostics);
        await WaitLagZeroAsync(_silo, group, topic, Partitions, Wait, Diagnostics);

        // The consumers stay up; the silo goes away and comes back on the same port with the same data.
        await _silo.RestartAsync();
        var second = await ProduceAsync(_silo, topic, "b", 900, 900);
        await WaitConsumedAsync(() => All(consumers), second, Wait, "second batch after the silo restart", Diagnostics);

        // No message lost; the first batch (committed before the restart) is not delivered again.
        AssertExactlyOnce(All(consumers), [.. first, .. second]);
        Assert.All(consumers, c => Assert.False(c.HasExited, c.Stderr));
        await WaitBalancedAsync(_silo, group, topic, Partitions, ids, Wait, Diagnostics);

        // Members restored by the restart still commit and leave cleanly: lag 0, the group ends empty.
        foreach (var c in consumers)
        {
            await c.StopAsync();
        }

        var lag = await WaitLagZeroAsync(_silo, group, topic, Partitions, TimeSpan.FromSeconds(5), Diagnostics);
        Assert.Equal(GroupState.Empty, lag.State);
    }
}
