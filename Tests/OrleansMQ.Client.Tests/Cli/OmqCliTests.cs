using System.Text.Json;
using OrleansMQ.Cli;
using OrleansMQ.Client.Admin;
using OrleansMQ.Silo.Tests.Broker;
using Xunit;

namespace OrleansMQ.Client.Tests.Cli;

/// <summary>omq end to end, in-process (OmqCli.RunAsync with captured stdout/stderr) against a real silo.</summary>
public sealed class OmqCliTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private TestSilo _silo = null!;

    public async Task InitializeAsync() => _silo = await TestSilo.StartAsync(new() { ["OrleansMQ:Groups:InitialRebalanceDelayMs"] = "0" });

    public async Task DisposeAsync() => await _silo.DisposeAsync();

    private sealed record Run(int Exit, string Out, string Err)
    {
        public string[] Lines => Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        public override string ToString() => $"exit {Exit}\nstdout:\n{Out}\nstderr:\n{Err}";
    }

    /// <summary>Runs omq with -b pointing at the silo (unless <paramref name="bootstrap"/> is false) and no OMQ_BOOTSTRAP in the environment.</summary>
    private async Task<Run> OmqAsync(string[] args, bool bootstrap = true, Func<string, string?>? environment = null)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        string[] all = bootstrap ? [.. args, "-b", _silo.Bootstrap] : args;
        int exit = await OmqCli.RunAsync(all, stdout, stderr, environment ?? (_ => null));
        return new Run(exit, stdout.ToString(), stderr.ToString());
    }

    private static void AssertOk(Run run) => Assert.True(run.Exit == 0 && run.Err.Length == 0, run.ToString());

    private static void AssertFails(Run run, int exit, string errorText)
    {
        Assert.True(run.Exit == exit, run.ToString());
        Assert.Contains(errorText, run.Err, StringComparison.Ordinal);
        Assert.Single(run.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries)); // one line
    }

    [Fact]
    public async Task Help_at_every_level_exits_0_and_usage_errors_exit_2()
    {
        var root = await OmqAsync(["--help"], bootstrap: false);
        AssertOk(root);
        Assert.Contains("Usage: omq <command>", root.Out, StringComparison.Ordinal);
        Assert.Contains("omq consume orders --from beginning -e", root.Out, StringComparison.Ordinal);
        Assert.Contains("--bootstrap", root.Out, StringComparison.Ordinal);
        Assert.Contains("OMQ_BOOTSTRAP", root.Out, StringComparison.Ordinal);

        var topics = await OmqAsync(["topics", "-h"], bootstrap: false);
        AssertOk(topics);
        Assert.Contains("describe", topics.Out, StringComparison.Ordinal);
        var create = await OmqAsync(["topics", "create", "--help"], bootstrap: false);
        AssertOk(create);
        Assert.Contains("--partitions <N>", create.Out, StringComparison.Ordinal);
        var reset = await OmqAsync(["groups", "reset-offsets", "--help"], bootstrap: false);
        AssertOk(reset);
        Assert.Contains("--to-datetime", reset.Out, StringComparison.Ordinal);
        Assert.Contains("--execute", reset.Out, StringComparison.Ordinal);
        AssertOk(await OmqAsync(["help"], bootstrap: false));

        var none = await OmqAsync([], bootstrap: false);
        Assert.Equal(2, none.Exit);
        Assert.Contains("Usage: omq", none.Err, StringComparison.Ordinal);
        AssertFails(await OmqAsync(["bogus"], bootstrap: false), 2, "unknown command 'bogus'");
        AssertFails(await OmqAsync(["topics"], bootstrap: false), 2, "missing command");
        AssertFails(await OmqAsync(["topics", "list", "--bogus"]), 2, "unknown option '--bogus'");
        AssertFails(await OmqAsync(["topics", "create"]), 2, "missing <topic>");
        AssertFails(await OmqAsync(["topics", "create", "t", "--partitions", "many"]), 2, "--partitions needs an integer");
        AssertFails(await OmqAsync(["topics", "list", "-o", "xml"]), 2, "--output must be table or json");
        AssertFails(await OmqAsync(["groups", "reset-offsets", "g", "--topic", "t"]), 2, "exactly one of --to-earliest");
        AssertFails(await OmqAsync(["groups", "reset-offsets", "g", "--to-latest"]), 2, "--topic T");
    }

    [Theory]
    [InlineData("produce", "--key-separator <SEP>")]
    [InlineData("consume", "--exit-at-end")]
    [InlineData("bench", "--producers <N>")]
    public async Task Produce_consume_and_bench_have_help(string command, string option)
    {
        var help = await OmqAsync([command, "--help"], bootstrap: false);
        AssertOk(help);
        Assert.Contains(option, help.Out, StringComparison.Ordinal);
        Assert.Contains("Examples:", help.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Topics_create_list_describe_and_delete()
    {
        var created = await OmqAsync(["topics", "create", "cli-orders", "--partitions", "3", "--config", "retention.ms=3600000"]);
        AssertOk(created);
        Assert.Contains("Created topic 'cli-orders' with 3 partition(s)", created.Out, StringComparison.Ordinal);

        var validated = await OmqAsync(["topics", "create", "cli-dry", "-p", "2", "--validate-only"]);
        AssertOk(validated);
        Assert.Contains("Validated (not created)", validated.Out, StringComparison.Ordinal);

        var list = await OmqAsync(["topics", "list"]);
        AssertOk(list);
        Assert.Equal(["TOPIC", "PARTITIONS", "INTERNAL"], list.Lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(list.Lines, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is ["cli-orders", "3", "no"]);
        Assert.DoesNotContain(list.Lines, l => l.StartsWith("cli-dry", StringComparison.Ordinal));
        // Columns are aligned: every row starts its second column where the header does.
        int column = list.Lines[0].IndexOf("PARTITIONS", StringComparison.Ordinal);
        Assert.All(list.Lines.Skip(1), l => Assert.NotEqual(' ', l[column]));

        var json = await OmqAsync(["topics", "list", "--output", "json"]);
        AssertOk(json);
        var topics = JsonDocument.Parse(json.Out).RootElement;
        var orders = topics.EnumerateArray().Single(t => t.GetProperty("name").GetString() == "cli-orders");
        Assert.Equal(3, orders.GetProperty("partitionCount").GetInt32());

        await Kcat.ProduceAsync(_silo, "cli-orders", 1, 4);
        var describe = await OmqAsync(["topics", "describe", "cli-orders", "--offsets"]);
        AssertOk(describe);
        Assert.Contains("Topic: cli-orders  Partitions: 3", describe.Out, StringComparison.Ordinal);
        Assert.Contains(describe.Lines, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is ["1", "0", "0", "0", "0", "4"]);
        Assert.Contains(describe.Lines, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is ["retention.ms", "3600000", "topic"]);

        var describeJson = await OmqAsync(["topics", "describe", "cli-orders", "-o", "json"]);
        AssertOk(describeJson);
        var d = JsonDocument.Parse(describeJson.Out).RootElement[0];
        Assert.Equal(3, d.GetProperty("partitions").GetArrayLength());
        Assert.Contains(d.GetProperty("configs").EnumerateArray(), c => c.GetProperty("name").GetString() == "retention.ms" && c.GetProperty("source").GetString() == "DynamicTopicConfig");

        AssertOk(await OmqAsync(["topics", "add-partitions", "cli-orders", "--partitions", "4"]));
        AssertFails(await OmqAsync(["topics", "add-partitions", "cli-orders", "--partitions", "2"]), 1, "INVALID_PARTITIONS");

        var deleted = await OmqAsync(["topics", "delete", "cli-orders"]);
        AssertOk(deleted);
        Assert.Contains("Deleted topic 'cli-orders'.", deleted.Out, StringComparison.Ordinal);
        Assert.DoesNotContain((await OmqAsync(["topics", "list"])).Lines, l => l.StartsWith("cli-orders", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Topic_errors_exit_1_with_the_code_name()
    {
        AssertOk(await OmqAsync(["topics", "create", "cli-dup"]));
        AssertFails(await OmqAsync(["topics", "create", "cli-dup"]), 1, "omq: error: TOPIC_ALREADY_EXISTS:");
        var ifNotExists = await OmqAsync(["topics", "create", "cli-dup", "--if-not-exists"]);
        AssertOk(ifNotExists);
        Assert.Contains("already exists", ifNotExists.Out, StringComparison.Ordinal);
        AssertFails(await OmqAsync(["topics", "create", "bad name!"]), 1, "INVALID_TOPIC_EXCEPTION");
        AssertFails(await OmqAsync(["topics", "describe", "cli-missing"]), 1, "UNKNOWN_TOPIC_OR_PARTITION");
        AssertFails(await OmqAsync(["topics", "delete", "cli-missing"]), 1, "UNKNOWN_TOPIC_OR_PARTITION");
        AssertOk(await OmqAsync(["topics", "delete", "cli-missing", "--if-exists"]));
        AssertFails(await OmqAsync(["groups", "describe", "cli-no-such-group"]), 1, "GROUP_ID_NOT_FOUND");
    }

    [Fact]
    public async Task Configs_describe_shows_topic_and_broker_configs()
    {
        AssertOk(await OmqAsync(["topics", "create", "cli-configs", "--config", "retention.bytes=1048576"]));
        var topic = await OmqAsync(["configs", "describe", "--topic", "cli-configs"]);
        AssertOk(topic);
        Assert.Equal(["CONFIG", "VALUE", "SOURCE"], topic.Lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(topic.Lines, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is ["retention.bytes", "1048576", "topic"]);
        Assert.Contains(topic.Lines, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is ["cleanup.policy", "delete", "default"]);

        var broker = await OmqAsync(["configs", "describe", "--broker", "0", "--key", "broker.id", "-o", "json"]);
        AssertOk(broker);
        var config = Assert.Single(JsonDocument.Parse(broker.Out).RootElement.GetProperty("configs").EnumerateArray());
        Assert.Equal("0", config.GetProperty("value").GetString());

        AssertFails(await OmqAsync(["configs", "describe"]), 2, "give --topic T or --broker N");
        AssertFails(await OmqAsync(["configs", "describe", "--topic", "cli-nope"]), 1, "UNKNOWN_TOPIC_OR_PARTITION");
    }

    [Fact]
    public async Task Bootstrap_comes_from_the_option_then_OMQ_BOOTSTRAP_then_localhost()
    {
        AssertOk(await OmqAsync(["topics", "create", "cli-env"]));
        var fromEnv = await OmqAsync(["topics", "list"], bootstrap: false, environment: name => name == "OMQ_BOOTSTRAP" ? _silo.Bootstrap : null);
        AssertOk(fromEnv);
        Assert.Contains(fromEnv.Lines, l => l.StartsWith("cli-env", StringComparison.Ordinal));

        int port = TestSilo.FreePort();
        var unreachable = await OmqAsync(["topics", "list", "-b", $"127.0.0.1:{port}", "--timeout", "2"], bootstrap: false);
        AssertFails(unreachable, 1, "NETWORK_EXCEPTION");
        Assert.Contains($"127.0.0.1:{port}", unreachable.Err, StringComparison.Ordinal);
        AssertFails(await OmqAsync(["topics", "list", "-b", "nonsense"], bootstrap: false), 2, "--bootstrap");
    }

    [Fact]
    public async Task Groups_list_describe_with_lag_reset_offsets_and_delete()
    {
        const string topic = "cli-group-topic";
        const string group = "cli-group";
        AssertOk(await OmqAsync(["topics", "create", topic, "--partitions", "2"]));
        await Kcat.ProduceAsync(_silo, topic, 0, 6);
        await Kcat.ProduceAsync(_silo, topic, 1, 4);
        await using var admin = new KafkaAdminClient(new ClientOptions { BootstrapServers = _silo.Bootstrap });
        await using (var consumer = Kcat.StartConsumer(_silo, group, topic, "cli-kcat"))
        {
            await Kcat.WaitAsync(() => admin.DescribeGroupLagAsync(group), l => l.Group.State == "Stable" && l.Partitions.Count == 2 && l.TotalLag == 0 && l.Partitions.All(p => p.CommittedOffset is not null),
                Wait, "stable group with lag 0", () => consumer.Stderr);

            var list = await OmqAsync(["groups", "list"]);
            AssertOk(list);
            Assert.Contains(list.Lines, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [group, "Stable", "consumer"]);

            var describe = await OmqAsync(["groups", "describe", group]);
            AssertOk(describe);
            Assert.Contains($"Group: {group}  State: Stable", describe.Out, StringComparison.Ordinal);
            Assert.Contains("Members: 1  Total lag: 0", describe.Out, StringComparison.Ordinal);
            Assert.Contains(describe.Lines, l => l.Contains("cli-kcat", StringComparison.Ordinal) && l.EndsWith($"{topic}:0,1", StringComparison.Ordinal));
            Assert.Contains(describe.Lines, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [topic, "0", "6", "6", "0", _, _, "cli-kcat"]);
            Assert.Contains(describe.Lines, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [topic, "1", "4", "4", "0", _, _, "cli-kcat"]);

            AssertFails(await OmqAsync(["groups", "reset-offsets", group, "--topic", topic, "--to-earliest", "--execute"]), 1, "NON_EMPTY_GROUP");
            AssertFails(await OmqAsync(["groups", "delete", group]), 1, "NON_EMPTY_GROUP");
            await consumer.StopAsync();
        }

        await Kcat.WaitAsync(() => admin.DescribeGroupAsync(group), d => d.State == "Empty", Wait, "group empty");

        // Dry run by default: shows the plan, changes nothing.
        var dry = await OmqAsync(["groups", "reset-offsets", group, "--topic", topic, "--to-earliest"]);
        Assert.Equal(0, dry.Exit);
        Assert.Contains("Dry run", dry.Err, StringComparison.Ordinal);
        Assert.Contains(dry.Lines, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [group, topic, "0", "6", "0"]);
        Assert.Equal(0, (await admin.DescribeGroupLagAsync(group)).TotalLag);

        var executed = await OmqAsync(["groups", "reset-offsets", "--group", group, "--all-topics", "--to-offset", "2", "--execute"]);
        Assert.Equal(0, executed.Exit);
        Assert.Contains("reset for 2 partition(s)", executed.Err, StringComparison.Ordinal);
        var lagJson = await OmqAsync(["groups", "describe", group, "-o", "json"]);
        AssertOk(lagJson);
        var doc = JsonDocument.Parse(lagJson.Out).RootElement;
        Assert.Equal("Empty", doc.GetProperty("state").GetString());
        Assert.Equal(6, doc.GetProperty("totalLag").GetInt64()); // (6-2) + (4-2)
        Assert.All(doc.GetProperty("partitions").EnumerateArray(), p => Assert.Equal(2, p.GetProperty("committedOffset").GetInt64()));

        var toTime = await OmqAsync(["groups", "reset-offsets", group, "--topic", topic, "--to-datetime", DateTimeOffset.UtcNow.AddHours(1).ToString("O", System.Globalization.CultureInfo.InvariantCulture), "--execute", "-o", "json"]);
        Assert.Equal(0, toTime.Exit);
        Assert.Equal([6L, 4L], JsonDocument.Parse(toTime.Out).RootElement.GetProperty("partitions").EnumerateArray().Select(p => p.GetProperty("newOffset").GetInt64()));
        AssertFails(await OmqAsync(["groups", "reset-offsets", group, "--topic", topic, "--to-datetime", "yesterday"]), 2, "--to-datetime needs an ISO-8601 time");

        var deletedOffsets = await OmqAsync(["groups", "delete-offsets", group, "--topic", topic, "--partition", "1"]);
        AssertOk(deletedOffsets);
        Assert.Equal([0], (await admin.ListGroupOffsetsAsync(group)).Select(o => o.Partition));

        var deleted = await OmqAsync(["groups", "delete", group]);
        AssertOk(deleted);
        Assert.Contains($"Deleted group '{group}'.", deleted.Out, StringComparison.Ordinal);
        Assert.DoesNotContain((await OmqAsync(["groups", "list"])).Lines, l => l.StartsWith(group, StringComparison.Ordinal));
        AssertFails(await OmqAsync(["groups", "delete", group]), 1, "GROUP_ID_NOT_FOUND");
    }
}
