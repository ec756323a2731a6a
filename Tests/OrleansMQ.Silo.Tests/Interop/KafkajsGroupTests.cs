using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using OrleansMQ.Silo.Groups;
using OrleansMQ.Silo.Tests.Broker;
using Xunit;
using Xunit.Abstractions;
using static OrleansMQ.Silo.Tests.Interop.GroupInterop;

namespace OrleansMQ.Silo.Tests.Interop;

/// <summary>
/// kafkajs 2.2.4 group consumers (Tests/interop/kafkajs/consumer.js: consumer.run with
/// eachMessage) against a real silo, with auto commit and with manual commits
/// (consumer.commitOffsets): consumers share a 4-partition topic and consume everything once, a
/// consumer that disconnects hands its partitions over, consumers resume from their committed
/// offsets after a stop and across silo restarts.
/// </summary>
public sealed class KafkajsGroupTests : IAsyncLifetime
{
    private const int Partitions = 4;
    private const int SessionTimeoutMs = 6000; // consumer.js
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private readonly List<ExternalTool.RunningTool> _consumers = [];
    private readonly ITestOutputHelper _output;
    private TestSilo _silo = null!;
    private string _node = null!;
    private string _dir = null!;

    public KafkajsGroupTests(ITestOutputHelper output) => _output = output;

    public async Task InitializeAsync()
    {
        _node = ExternalTool.Require("node");
        ExternalTool.Require("kcat"); // produces the test messages
        _dir = KafkajsTests.ScriptDirectory();
        Assert.True(Directory.Exists(Path.Combine(_dir, "node_modules", "kafkajs")), "kafkajs is not installed; infra/test.sh runs npm ci in Tests/interop/kafkajs");
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

    private ExternalTool.RunningTool StartConsumer(string group, string topic, string clientId, string mode)
    {
        var consumer = ExternalTool.StartCollecting(_node, ["consumer.js", _silo.Bootstrap, topic, group, clientId, mode], _dir);
        _consumers.Add(consumer);
        return consumer;
    }

    private static IEnumerable<JsonElement> Events(ExternalTool.RunningTool consumer, string name)
    {
        foreach (var line in consumer.Lines)
        {
            if (!line.StartsWith('{'))
            {
                continue;
            }

            var e = JsonDocument.Parse(line).RootElement;
            if (e.GetProperty("event").GetString() == name)
            {
                yield return e;
            }
        }
    }

    private static List<Consumed> Parse(ExternalTool.RunningTool consumer) =>
        Events(consumer, "msg").Select(e => new Consumed(e.GetProperty("p").GetInt32(), long.Parse(e.GetProperty("o").GetString()!, CultureInfo.InvariantCulture), e.GetProperty("v").GetString()!)).ToList();

    private static IEnumerable<Consumed> All(IEnumerable<ExternalTool.RunningTool> consumers) => consumers.SelectMany(Parse);

    private string Diagnostics() =>
        string.Concat(_consumers.Select(c => $"\n--- node pid {c.Id} (exited: {c.HasExited}) events: {string.Join(" ", c.Lines.Where(l => !l.Contains("\"msg\"", StringComparison.Ordinal)).TakeLast(10))}\nstderr:\n{Tail(c.Stderr)}"));

    private static string Tail(string text) => text.Length <= 3000 ? text : "…" + text[^3000..];

    [Fact]
    public async Task Kafkajs_consumers_with_auto_commit_share_hand_over_and_resume_after_a_silo_restart()
    {
        string topic = await CreateTopicAsync("js-group-auto");
        const string group = "js-auto";
        const string mode = "auto";
        string[] ids = ["j1", "j2", "j3"];
        var consumers = ids.ToDictionary(id => id, id => StartConsumer(group, topic, id, mode));
        var balanced = await WaitBalancedAsync(_silo, group, topic, Partitions, ids, Wait, Diagnostics);

        // Everything consumed once, each message by the owner of its partition.
        var first = await ProduceAsync(_silo, topic, "a", 0, 400);
        await WaitConsumedAsync(() => All(consumers.Values), first, Wait, "first batch", Diagnostics);
        AssertExactlyOnce(All(consumers.Values), first);
        var owned = Assignments(balanced, topic);
        foreach (var (id, consumer) in consumers)
        {
            Assert.Equal(owned[id], Parse(consumer).Select(c => c.Partition).Distinct().Order().ToArray());
        }

        // A clean disconnect (commit, LeaveGroup): its partitions move without waiting for a session timeout.
        var clock = Stopwatch.StartNew();
        await consumers["j1"].StopAsync();
        await WaitBalancedAsync(_silo, group, topic, Partitions, ["j2", "j3"], TimeSpan.FromMilliseconds(SessionTimeoutMs), Diagnostics);
        _output.WriteLine($"LeaveGroup to rebalanced: {clock.ElapsedMilliseconds} ms");
        var second = await ProduceAsync(_silo, topic, "b", 400, 200);
        await WaitConsumedAsync(() => All(consumers.Values), second, Wait, "second batch after j1 left", Diagnostics);
        Assert.DoesNotContain(Parse(consumers["j1"]), c => c.Value.StartsWith('b'));
        AssertExactlyOnce(All(consumers.Values), [.. first, .. second]);

        // Everyone stops cleanly: lag 0, the group is empty, and stays so across a silo restart.
        await consumers["j2"].StopAsync();
        await consumers["j3"].StopAsync();
        Assert.Equal(GroupState.Empty, (await WaitLagZeroAsync(_silo, group, topic, Partitions, TimeSpan.FromSeconds(5), Diagnostics)).State);
        await _silo.RestartAsync();
        var third = await ProduceAsync(_silo, topic, "c", 600, 200);
        var restored = await _silo.Groups.DescribeLagAsync(group);
        Assert.NotNull(restored);
        Assert.Equal(GroupState.Empty, restored.State);
        Assert.Equal(200, restored.TotalLag);

        // New consumers resume from the committed offsets: only the new messages, once.
        var again = new[] { StartConsumer(group, topic, "j4", mode), StartConsumer(group, topic, "j5", mode) };
        await WaitConsumedAsync(() => All(again), third, Wait, "third batch after the silo restart", Diagnostics);
        AssertExactlyOnce(All(again), third);
        Assert.DoesNotContain(All(again), c => !c.Value.StartsWith('c'));
        await WaitLagZeroAsync(_silo, group, topic, Partitions, Wait, Diagnostics);
    }

    [Fact]
    public async Task Kafkajs_consumers_with_manual_commits_keep_consuming_across_a_silo_restart_and_resume_after_a_stop()
    {
        string topic = await CreateTopicAsync("js-group-manual");
        const string group = "js-manual";
        const string mode = "manual";
        string[] ids = ["m1", "m2"];
        var consumers = ids.Select(id => StartConsumer(group, topic, id, mode)).ToArray();
        await WaitBalancedAsync(_silo, group, topic, Partitions, ids, Wait, Diagnostics);
        var first = await ProduceAsync(_silo, topic, "a", 0, 300);
        await WaitConsumedAsync(() => All(consumers), first, Wait, "first batch", Diagnostics);
        await WaitLagZeroAsync(_silo, group, topic, Partitions, Wait, Diagnostics); // every message committed by the consumer itself

        // The silo restarts under running consumers (same port, same data): they reconnect and go on.
        await _silo.RestartAsync();
        var second = await ProduceAsync(_silo, topic, "b", 300, 300);
        await WaitConsumedAsync(() => All(consumers), second, Wait, "second batch after the silo restart", Diagnostics);
        AssertExactlyOnce(All(consumers), [.. first, .. second]);
        Assert.All(consumers, c => Assert.False(c.HasExited, c.Stderr));
        await WaitBalancedAsync(_silo, group, topic, Partitions, ids, Wait, Diagnostics);
        await WaitLagZeroAsync(_silo, group, topic, Partitions, Wait, Diagnostics);

        // Both stop; one new consumer takes every partition and reads only what came after.
        foreach (var c in consumers)
        {
            await c.StopAsync();
        }

        var third = await ProduceAsync(_silo, topic, "c", 600, 100);
        var alone = StartConsumer(group, topic, "m3", mode);
        await WaitBalancedAsync(_silo, group, topic, Partitions, ["m3"], Wait, Diagnostics);
        await WaitConsumedAsync(() => Parse(alone), third, Wait, "third batch", Diagnostics);
        AssertExactlyOnce(Parse(alone), third);
        Assert.DoesNotContain(Parse(alone), c => !c.Value.StartsWith('c'));
        await WaitLagZeroAsync(_silo, group, topic, Partitions, Wait, Diagnostics);
    }
}
