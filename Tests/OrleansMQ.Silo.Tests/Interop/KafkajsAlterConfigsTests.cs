using System.Text.Json;
using OrleansMQ.Silo.Tests.Broker;
using Xunit;

namespace OrleansMQ.Silo.Tests.Interop;

/// <summary>
/// kafkajs 2.2.4's admin alterConfigs (AlterConfigs, non-incremental) against a real silo: the new
/// set shows in kafkajs' describeConfigs, the left-out config goes back to its default, the new
/// max.message.bytes refuses a larger produce, and refusals reach kafkajs as their Kafka errors.
/// </summary>
public sealed class KafkajsAlterConfigsTests : IAsyncLifetime
{
    private TestSilo _silo = null!;

    public async Task InitializeAsync() => _silo = await TestSilo.StartAsync();

    public async Task DisposeAsync() => await _silo.DisposeAsync();

    [Fact]
    public async Task Kafkajs_alterConfigs_replaces_the_topic_configs_and_the_broker_enforces_them()
    {
        string node = ExternalTool.Require("node");
        string dir = KafkajsTests.ScriptDirectory();
        Assert.True(Directory.Exists(Path.Combine(dir, "node_modules", "kafkajs")), "kafkajs is not installed; infra/test.sh runs npm ci in Tests/interop/kafkajs");

        var r = await ExternalTool.RunAsync(node, ["alter-configs.js", _silo.Bootstrap, "js-configs"], timeout: TimeSpan.FromSeconds(90), workingDirectory: dir);
        Assert.True(r.ExitCode == 0, $"kafkajs script failed: {r.Stderr}");
        var steps = r.Lines.Select(l => JsonDocument.Parse(l).RootElement).ToDictionary(e => e.GetProperty("step").GetString()!);

        Assert.True(steps["alter"].GetProperty("ok").GetBoolean(), steps["alter"].ToString());
        var configs = steps["describeAfterAlter"].GetProperty("configs");
        Assert.Equal("2048", configs.GetProperty("max.message.bytes").GetProperty("value").GetString());
        Assert.Equal("604800000", configs.GetProperty("retention.ms").GetProperty("value").GetString()); // not in the new set: the default
        Assert.True(configs.GetProperty("retention.ms").GetProperty("isDefault").GetBoolean());

        Assert.False(steps["alterUnknown"].GetProperty("ok").GetBoolean());
        Assert.Equal("INVALID_CONFIG", steps["alterUnknown"].GetProperty("type").GetString());
        Assert.False(steps["alterBroker"].GetProperty("ok").GetBoolean());
        Assert.Equal("INVALID_REQUEST", steps["alterBroker"].GetProperty("type").GetString());

        Assert.False(steps["produceLarge"].GetProperty("ok").GetBoolean());
        Assert.Contains("MESSAGE_TOO_LARGE", steps["produceLarge"].ToString(), StringComparison.Ordinal);
        Assert.True(steps["produceSmall"].GetProperty("ok").GetBoolean(), steps["produceSmall"].ToString());
    }
}
