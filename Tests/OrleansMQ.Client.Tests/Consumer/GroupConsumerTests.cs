using System.Diagnostics;
using System.Globalization;
using OrleansMQ.Client.Consumer;
using OrleansMQ.Client.Consumer.Assignment;
using OrleansMQ.Protocol;
using OrleansMQ.Silo.Tests.Broker;
using OrleansMQ.Silo.Tests.Interop;
using Xunit;
using Xunit.Abstractions;
using static OrleansMQ.Client.Tests.Consumer.ConsumerTestKit;

namespace OrleansMQ.Client.Tests.Consumer;

/// <summary>A real silo (fixed port, no initial rebalance delay) and helpers for group tests.</summary>
public abstract class GroupTestBase : IAsyncLifetime
{
    private protected const int Partitions = 4;
    private protected static readonly TimeSpan Wait = TimeSpan.FromSeconds(40);
    private protected readonly List<IAsyncDisposable> _cleanup = [];
    private protected TestSilo _silo = null!;

    public async Task InitializeAsync() => _silo = await TestSilo.StartAsync(new()
    {
        ["OrleansMQ:Broker:Port"] = TestSilo.FreePort().ToString(CultureInfo.InvariantCulture),
        ["OrleansMQ:Groups:InitialRebalanceDelayMs"] = "0",
    });

    public async Task DisposeAsync()
    {
        foreach (var d in Enumerable.Reverse(_cleanup))
        {
            await d.DisposeAsync();
        }

        await _silo.DisposeAsync();
    }

    private protected ConsumerOptions Options(string group, string clientId, params IPartitionAssignor[] assignors) => new()
    {
        Client = new ClientOptions { BootstrapServers = _silo.Bootstrap, ClientId = clientId, ReconnectBackoff = TimeSpan.FromMilliseconds(50), ReconnectBackoffMax = TimeSpan.FromSeconds(1) },
        GroupId = group,
        AutoOffsetReset = AutoOffsetReset.Earliest,
        SessionTimeout = TimeSpan.FromSeconds(6),
        HeartbeatInterval = TimeSpan.FromMilliseconds(500),
        MaxPollInterval = TimeSpan.FromSeconds(20),
        AutoCommitInterval = TimeSpan.FromMilliseconds(500),
        Assignors = assignors.Length == 0 ? [Assignors.Range] : assignors,
    };

    private protected Collector Start(ConsumerOptions options, string topic, Func<ConsumeResult, Task>? onRecord = null)
    {
        var consumer = new KafkaConsumer(options);
        var collector = new Collector(consumer, c => c.Subscribe([topic]), onRecord);
        _cleanup.Add(collector);
        return collector;
    }

    private protected Task<Silo.Groups.GroupDescription> WaitBalancedAsync(string group, string topic, params string[] clientIds) =>
        GroupInterop.WaitBalancedAsync(_silo, group, topic, Partitions, clientIds, Wait);
}

/// <summary>Group consumption against a real silo: sharing, commits, kcat members, cooperative-sticky, fencing, growth.</summary>
public sealed class GroupConsumerTests : GroupTestBase
{
    [Theory]
    [InlineData("range")]
    [InlineData("roundrobin")]
    public async Task Two_consumers_share_a_topic_and_every_message_is_consumed_once(string assignor)
    {
        string topic = await CreateTopicAsync(_silo, "share", Partitions);
        var a = Start(Options("g-share", "a", Assignors.Get(assignor)), topic);
        var b = Start(Options("g-share", "b", Assignors.Get(assignor)), topic);
        var d = await WaitBalancedAsync("g-share", topic, "a", "b");
        Assert.Equal(2, d.Members.Count);
        Assert.Equal(assignor, d.ProtocolName);

        var expected = await GroupInterop.ProduceAsync(_silo, topic, "m", 0, 400);
        await WaitUntilAsync(() => a.Records.Count + b.Records.Count >= 400, Wait, () => $"{a.Records.Count}+{b.Records.Count}");
        await Task.Delay(500);
        AssertExactlyOnce(a.Values.Concat(b.Values), expected);
        Assert.NotEmpty(a.Records);
        Assert.NotEmpty(b.Records);
        Assert.Empty(a.Records.Select(r => r.Partition).Intersect(b.Records.Select(r => r.Partition)));
        await WaitUntilAsync(() => a.Consumer.Assignment.Count == 2 && b.Consumer.Assignment.Count == 2, Wait, () => "assignments");
        await GroupInterop.WaitLagZeroAsync(_silo, "g-share", topic, Partitions, Wait);
    }

    [Fact]
    public async Task Auto_commit_and_manual_commit_let_a_new_consumer_resume_where_the_last_stopped()
    {
        string topic = await CreateTopicAsync(_silo, "resume", Partitions);
        var first = await GroupInterop.ProduceAsync(_silo, topic, "one", 0, 100);

        // Auto commit: everything consumed is committed (periodically and on close).
        await using (var c1 = new Collector(new KafkaConsumer(Options("g-resume", "c1")), c => c.Subscribe([topic])))
        {
            await WaitUntilAsync(() => c1.Records.Count >= 100, Wait, () => $"{c1.Records.Count}");
            AssertExactlyOnce(c1.Values, first);
        }

        var second = await GroupInterop.ProduceAsync(_silo, topic, "two", 100, 100);

        // Manual commit: 60 records, commit, close without auto commit.
        var manual = new List<string>();
        await using (var c2 = new KafkaConsumer(Options("g-resume", "c2") with { EnableAutoCommit = false }))
        {
            c2.Subscribe([topic]);
            using var cts = new CancellationTokenSource(Wait);
            await foreach (var r in c2.ConsumeAsync(cts.Token))
            {
                manual.Add(System.Text.Encoding.UTF8.GetString(r.Value!));
                if (manual.Count == 60)
                {
                    break;
                }
            }

            await c2.CommitAsync();
            var committed = await c2.CommittedAsync(c2.Assignment);
            Assert.Equal(60, committed.Values.Sum(o => o) - 100);
        }

        await using (var c3 = new Collector(new KafkaConsumer(Options("g-resume", "c3")), c => c.Subscribe([topic])))
        {
            await WaitUntilAsync(() => c3.Records.Count >= 40, Wait, () => $"{c3.Records.Count}");
            await Task.Delay(1000);
            AssertExactlyOnce(manual.Concat(c3.Values), second);
        }
    }

    [Fact]
    public async Task Committing_in_the_revoked_callback_hands_over_exactly_where_the_consumer_stopped()
    {
        string topic = await CreateTopicAsync(_silo, "revoke", Partitions);
        var revokes = 0;
        var first = new KafkaConsumer(Options("g-revoke", "first") with { EnableAutoCommit = false });
        first.PartitionsRevoked = async parts =>
        {
            Interlocked.Increment(ref revokes);
            await first.CommitAsync();
        };
        var a = new Collector(first, c => c.Subscribe([topic]));
        _cleanup.Add(a);
        await WaitBalancedAsync("g-revoke", topic, "first");
        var before = await GroupInterop.ProduceAsync(_silo, topic, "pre", 0, 200);
        await WaitUntilAsync(() => a.Records.Count >= 200, Wait, () => $"{a.Records.Count}");

        // The second member's join makes the first revoke everything (eager) and commit in the callback.
        var b = Start(Options("g-revoke", "second") with { EnableAutoCommit = false }, topic);
        await WaitBalancedAsync("g-revoke", topic, "first", "second");
        Assert.True(Volatile.Read(ref revokes) >= 1);
        var after = await GroupInterop.ProduceAsync(_silo, topic, "post", 200, 200);
        await WaitUntilAsync(() => a.Records.Count + b.Records.Count >= 400, Wait, () => $"{a.Records.Count}+{b.Records.Count}");
        await Task.Delay(1000);
        AssertExactlyOnce(a.Values.Concat(b.Values), [.. before, .. after]);
    }

    [Fact]
    public async Task The_leader_rebalances_when_a_topic_gains_partitions()
    {
        string topic = await CreateTopicAsync(_silo, "grow", Partitions);
        var c = Start(Options("g-grow", "c") with { Client = new ClientOptions { BootstrapServers = _silo.Bootstrap, ClientId = "c", MetadataMaxAge = TimeSpan.FromSeconds(1) } }, topic);
        await WaitBalancedAsync("g-grow", topic, "c");
        var grown = await _silo.Topics.AddPartitionsAsync(topic, 6, false);
        Assert.True(grown.Error == OrleansMQ.Silo.Topics.TopicError.None, grown.Message);
        await WaitUntilAsync(() => c.Consumer.Assignment.Count == 6, Wait, () => $"{c.Consumer.Assignment.Count} partitions");
        await ProduceAsync(_silo, topic, ["k:on5"], partition: 5);
        await WaitUntilAsync(() => c.Values.Contains("on5"), Wait, () => $"{c.Records.Count}");
    }

    [Fact]
    public async Task A_fatal_group_error_surfaces_from_ConsumeAsync_with_its_error_code()
    {
        string topic = await CreateTopicAsync(_silo, "fatal", 1);
        await using var consumer = new KafkaConsumer(Options("g-fatal", "f") with { SessionTimeout = TimeSpan.FromSeconds(1), HeartbeatInterval = TimeSpan.FromMilliseconds(100) });
        consumer.Subscribe([topic]);
        using var cts = new CancellationTokenSource(Wait);
        var error = await Assert.ThrowsAsync<KafkaException>(async () =>
        {
            await foreach (var r in consumer.ConsumeAsync(cts.Token))
            {
            }
        });
        Assert.Equal(Protocol.Kafka.ErrorCode.InvalidSessionTimeout, error.ErrorCode);
        Assert.Contains("g-fatal", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_static_member_replaced_by_a_newer_instance_is_fenced()
    {
        string topic = await CreateTopicAsync(_silo, "fenced", Partitions);
        var lost = new List<TopicPartition>();
        var old = new KafkaConsumer(Options("g-fenced", "old") with { GroupInstanceId = "instance-1" });
        old.PartitionsLost = parts =>
        {
            lock (lost)
            {
                lost.AddRange(parts);
            }

            return Task.CompletedTask;
        };
        var oldCollector = new Collector(old, c => c.Subscribe([topic]));
        _cleanup.Add(oldCollector);
        await WaitBalancedAsync("g-fenced", topic, "old");

        // The same instance id again (a restarted process): it takes over, the old one is fenced.
        var replacement = Start(Options("g-fenced", "new") with { GroupInstanceId = "instance-1" }, topic);
        await WaitUntilAsync(() => oldCollector.Error is not null, Wait, () => "old member not fenced");
        var error = Assert.IsType<KafkaException>(oldCollector.Error);
        Assert.Equal(Protocol.Kafka.ErrorCode.FencedInstanceId, error.ErrorCode);
        Assert.Empty(old.Assignment);
        lock (lost)
        {
            Assert.Equal(Partitions, lost.Count);
        }

        await WaitUntilAsync(() => replacement.Consumer.Assignment.Count == Partitions, Wait, () => $"{replacement.Consumer.Assignment.Count}");
        var expected = await GroupInterop.ProduceAsync(_silo, topic, "f", 0, 50);
        await WaitUntilAsync(() => replacement.Records.Count >= 50, Wait, () => $"{replacement.Records.Count}");
        AssertExactlyOnce(replacement.Values, expected);
    }

    [Fact]
    public async Task Our_consumers_and_kcat_members_share_a_group_with_range()
    {
        string kcat = ExternalTool.Require("kcat");
        string topic = await CreateTopicAsync(_silo, "mixed", Partitions);
        var ours = Start(Options("g-mixed", "ours"), topic);
        var theirs = ExternalTool.StartCollecting(kcat,
        [
            "-b", _silo.Bootstrap, "-G", "g-mixed", "-E", "-u", "-f", "%p %o %s\n",
            "-X", "client.id=kcat",
            "-X", "partition.assignment.strategy=range",
            "-X", "auto.offset.reset=earliest",
            "-X", "session.timeout.ms=6000",
            "-X", "heartbeat.interval.ms=500",
            topic,
        ]);
        _cleanup.Add(theirs);
        await WaitBalancedAsync("g-mixed", topic, "ours", "kcat");

        var expected = await GroupInterop.ProduceAsync(_silo, topic, "x", 0, 300);
        IEnumerable<string> KcatValues() => theirs.Lines.Select(l => l.Split(' ', 3)).Where(p => p.Length == 3).Select(p => p[2]);
        await WaitUntilAsync(() => ours.Records.Count + KcatValues().Count() >= 300, Wait, () => $"{ours.Records.Count}+{KcatValues().Count()}");
        await Task.Delay(500);
        AssertExactlyOnce(ours.Values.Concat(KcatValues()), expected);
        Assert.NotEmpty(ours.Records);
        Assert.NotEmpty(KcatValues());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Our_consumer_and_a_kcat_member_share_a_group_with_cooperative_sticky(bool kcatLeads)
    {
        string kcat = ExternalTool.Require("kcat");
        string group = "g-mixed-coop-" + kcatLeads;
        string topic = await CreateTopicAsync(_silo, "mixed-coop", Partitions);
        ExternalTool.RunningTool StartKcat()
        {
            var tool = ExternalTool.StartCollecting(kcat,
            [
                "-b", _silo.Bootstrap, "-G", group, "-E", "-u", "-f", "%p %o %s\n",
                "-X", "client.id=kcat",
                "-X", "partition.assignment.strategy=cooperative-sticky",
                "-X", "auto.offset.reset=earliest",
                "-X", "session.timeout.ms=6000",
                "-X", "heartbeat.interval.ms=500",
                topic,
            ]);
            _cleanup.Add(tool);
            return tool;
        }

        ExternalTool.RunningTool? theirs = kcatLeads ? StartKcat() : null;
        if (kcatLeads)
        {
            await WaitBalancedAsync(group, topic, "kcat");
        }

        var ours = Start(Options(group, "ours", Assignors.CooperativeSticky), topic);
        if (!kcatLeads)
        {
            await WaitBalancedAsync(group, topic, "ours");
            theirs = StartKcat();
        }

        var d = await WaitBalancedAsync(group, topic, "ours", "kcat");
        Assert.Equal("cooperative-sticky", d.ProtocolName);

        var expected = await GroupInterop.ProduceAsync(_silo, topic, "y", 0, 300);
        IEnumerable<string> KcatValues() => theirs!.Lines.Select(l => l.Split(' ', 3)).Where(p => p.Length == 3).Select(p => p[2]);
        await WaitUntilAsync(() => ours.Records.Count + KcatValues().Count() >= 300, Wait, () => $"{ours.Records.Count}+{KcatValues().Count()}");
        await Task.Delay(500);
        AssertExactlyOnce(ours.Values.Concat(KcatValues()), expected);
        await WaitUntilAsync(() => ours.Consumer.Assignment.Count == 2, Wait, () => $"{ours.Consumer.Assignment.Count}");
    }

    [Fact]
    public async Task Cooperative_sticky_keeps_the_partitions_that_do_not_move()
    {
        string topic = await CreateTopicAsync(_silo, "coop", Partitions);
        var revokedFromFirst = new List<TopicPartition>();
        var firstOptions = Options("g-coop", "first", Assignors.CooperativeSticky);
        var firstConsumer = new KafkaConsumer(firstOptions);
        firstConsumer.PartitionsRevoked = parts =>
        {
            lock (revokedFromFirst)
            {
                revokedFromFirst.AddRange(parts);
            }

            return Task.CompletedTask;
        };
        var first = new Collector(firstConsumer, c => c.Subscribe([topic]));
        _cleanup.Add(first);
        await WaitBalancedAsync("g-coop", topic, "first");
        await WaitUntilAsync(() => firstConsumer.Assignment.Count == Partitions, Wait, () => $"first owns {firstConsumer.Assignment.Count}");

        // Keep records flowing while the second member joins.
        using var produce = new CancellationTokenSource();
        var producing = Task.Run(async () =>
        {
            for (int i = 0; !produce.IsCancellationRequested; i += 20)
            {
                await GroupInterop.ProduceAsync(_silo, topic, "c", i, 20);
                await Task.Delay(100);
            }
        });

        var second = Start(Options("g-coop", "second", Assignors.CooperativeSticky), topic);
        var d = await WaitBalancedAsync("g-coop", topic, "first", "second");
        Assert.Equal("cooperative-sticky", d.ProtocolName);
        await produce.CancelAsync();
        await producing;

        // Only the two partitions that moved were revoked; the first member kept the other two all along.
        await WaitUntilAsync(() => firstConsumer.Assignment.Count == 2 && second.Consumer.Assignment.Count == 2, Wait, () => $"first {firstConsumer.Assignment.Count}, second {second.Consumer.Assignment.Count}");
        var kept = firstConsumer.Assignment;
        lock (revokedFromFirst)
        {
            Assert.Equal(2, revokedFromFirst.Count);
            Assert.Empty(revokedFromFirst.Intersect(kept));
        }
    }
}

/// <summary>Group consumption through failures: a member that dies, a slow callback, a silo restart.</summary>
public sealed class GroupFailureTests(ITestOutputHelper output) : GroupTestBase
{
    [Fact]
    public async Task A_consumer_that_dies_without_leaving_loses_its_partitions_to_the_other_within_the_session_timeout()
    {
        string topic = await CreateTopicAsync(_silo, "failover", Partitions);
        var survivor = Start(Options("g-fail", "survivor"), topic);
        // A static member does not leave the group when it goes away: the coordinator notices only when its session times out.
        var victim = Start(Options("g-fail", "victim") with { GroupInstanceId = "victim-1" }, topic);
        await WaitBalancedAsync("g-fail", topic, "survivor", "victim");
        await WaitUntilAsync(() => victim.Consumer.Assignment.Count == 2, Wait, () => $"victim owns {victim.Consumer.Assignment.Count}");

        var first = await GroupInterop.ProduceAsync(_silo, topic, "before", 0, 200);
        await WaitUntilAsync(() => survivor.Records.Count + victim.Records.Count >= 200, Wait, () => $"{survivor.Records.Count}+{victim.Records.Count}");
        await GroupInterop.WaitLagZeroAsync(_silo, "g-fail", topic, Partitions, Wait);

        var clock = Stopwatch.StartNew();
        _cleanup.Remove(victim);
        await victim.DisposeAsync();
        await WaitUntilAsync(() => survivor.Consumer.Assignment.Count == Partitions, TimeSpan.FromSeconds(6 + 10), () => $"survivor owns {string.Join(",", survivor.Consumer.Assignment)}");
        output.WriteLine($"partitions moved after {clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(6 + 6), $"took {clock.Elapsed}");

        var second = await GroupInterop.ProduceAsync(_silo, topic, "after", 0, 200);
        await WaitUntilAsync(() => second.All(survivor.Values.ToHashSet().Contains), Wait, () => $"{survivor.Records.Count}");
        AssertExactlyOnce(survivor.Values.Concat(victim.Values), [.. first, .. second]);
    }

    [Fact]
    public async Task Heartbeats_go_on_while_a_slow_revoke_callback_runs()
    {
        string topic = await CreateTopicAsync(_silo, "slow", Partitions);
        int lost = 0;
        int revoked = 0;
        var first = new KafkaConsumer(Options("g-slow", "first"));
        first.PartitionsRevoked = async _ =>
        {
            Interlocked.Increment(ref revoked);
            await Task.Delay(TimeSpan.FromSeconds(8)); // longer than the 6 s session timeout
        };
        first.PartitionsLost = _ =>
        {
            Interlocked.Increment(ref lost);
            return Task.CompletedTask;
        };
        var a = new Collector(first, c => c.Subscribe([topic]));
        _cleanup.Add(a);
        await WaitBalancedAsync("g-slow", topic, "first");
        var b = Start(Options("g-slow", "second"), topic);
        await WaitBalancedAsync("g-slow", topic, "first", "second");
        Assert.Equal(1, Volatile.Read(ref revoked));
        Assert.Equal(0, Volatile.Read(ref lost));
        var expected = await GroupInterop.ProduceAsync(_silo, topic, "s", 0, 100);
        await WaitUntilAsync(() => a.Records.Count + b.Records.Count >= 100, Wait, () => $"{a.Records.Count}+{b.Records.Count}");
        AssertExactlyOnce(a.Values.Concat(b.Values), expected);
    }

    [Fact]
    public async Task A_silo_restart_while_consuming_loses_nothing()
    {
        string topic = await CreateTopicAsync(_silo, "restart", Partitions);
        var c = Start(Options("g-restart", "c"), topic);
        await WaitBalancedAsync("g-restart", topic, "c");
        var first = await GroupInterop.ProduceAsync(_silo, topic, "r", 0, 200);
        await WaitUntilAsync(() => c.Records.Count >= 100, Wait, () => $"{c.Records.Count}");

        await _silo.RestartAsync();
        var second = await GroupInterop.ProduceAsync(_silo, topic, "r", 200, 200);
        await WaitUntilAsync(() => first.Concat(second).All(c.Values.ToHashSet().Contains), TimeSpan.FromSeconds(60), () => $"{c.Values.Distinct().Count()} of 400; error {c.Error}");
        Assert.Null(c.Error);
        await GroupInterop.WaitLagZeroAsync(_silo, "g-restart", topic, Partitions, Wait);
    }
}
