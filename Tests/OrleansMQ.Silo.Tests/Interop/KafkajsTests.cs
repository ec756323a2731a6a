using System.Text.Json;
using OrleansMQ.Protocol.Batches;
using OrleansMQ.Silo.Tests.Broker;
using Xunit;

namespace OrleansMQ.Silo.Tests.Interop;

/// <summary>
/// kafkajs 2.2.4 (the JavaScript client) against a real silo: admin create/list/metadata/configs,
/// idempotent produce (plain and gzip), list offsets (latest, earliest, by time). What kafkajs
/// produced is read back with kcat. Installed by infra/test.sh (npm ci in Tests/interop/kafkajs).
/// </summary>
public sealed class KafkajsTests : IAsyncLifetime
{
    private TestSilo _silo = null!;

    public async Task InitializeAsync() => _silo = await TestSilo.StartAsync();

    public async Task DisposeAsync() => await _silo.DisposeAsync();

    internal static string ScriptDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "Tests", "interop", "kafkajs");
            if (File.Exists(Path.Combine(candidate, "interop.js")))
            {
                return candidate;
            }
        }

        Assert.Fail("Tests/interop/kafkajs not found");
        return "";
    }

    [Fact]
    public async Task Kafkajs_admin_producer_and_offsets_work_unchanged()
    {
        string node = ExternalTool.Require("node");
        string dir = ScriptDirectory();
        Assert.True(Directory.Exists(Path.Combine(dir, "node_modules", "kafkajs")), "kafkajs is not installed; infra/test.sh runs npm ci in Tests/interop/kafkajs");

        var r = await ExternalTool.RunAsync(node, ["interop.js", _silo.Bootstrap, "js-orders"], timeout: TimeSpan.FromSeconds(90), workingDirectory: dir);
        Assert.True(r.ExitCode == 0, $"kafkajs script failed: {r.Stderr}");
        var steps = r.Lines.Select(l => JsonDocument.Parse(l).RootElement).ToDictionary(e => e.GetProperty("step").GetString()!);

        Assert.True(steps["createTopics"].GetProperty("created").GetBoolean());
        Assert.False(steps["createTopicsAgain"].GetProperty("created").GetBoolean()); // TOPIC_ALREADY_EXISTS
        Assert.True(steps["listTopics"].GetProperty("found").GetBoolean());
        Assert.Equal(3, steps["metadata"].GetProperty("partitions").GetArrayLength());

        var produce = steps["produce"];
        Assert.All(produce.GetProperty("plain").EnumerateArray(), p => Assert.Equal("0", p.GetProperty("base").GetString()));
        Assert.All(produce.GetProperty("gzip").EnumerateArray(), p => Assert.Equal("10", p.GetProperty("base").GetString()));

        Assert.All(steps["offsets"].GetProperty("offsets").EnumerateArray(), o =>
        {
            Assert.Equal("0", o.GetProperty("low").GetString());
            Assert.Equal("20", o.GetProperty("high").GetString());
        });
        Assert.All(steps["offsetsByTimestamp"].GetProperty("offsets").EnumerateArray(), o => Assert.Equal("0", o.GetProperty("offset").GetString()));
        var configs = steps["describeConfigs"].GetProperty("entries").EnumerateArray().ToDictionary(e => e.GetProperty("name").GetString()!, e => e.GetProperty("value").GetString());
        Assert.Equal("3600000", configs["retention.ms"]);
        Assert.Equal("delete", configs["cleanup.policy"]);

        // What kafkajs produced, read by another client (kcat), in order per partition.
        string kcat = ExternalTool.Require("kcat");
        var consumed = await ExternalTool.RunAsync(kcat, ["-b", _silo.Bootstrap, "-C", "-t", "js-orders", "-p", "1", "-o", "beginning", "-e", "-q", "-f", "%k|%s\n"]);
        Assert.Equal(
            Enumerable.Range(0, 30).Where(i => i % 3 == 1).Select(i => $"key-1|plain-{i}").Concat(Enumerable.Range(0, 30).Where(i => i % 3 == 1).Select(i => $"key-1|gzip-{i}")),
            consumed.Lines);

        // The gzip produce really was gzip in storage (offsets 10+ of every partition), the plain one was not.
        for (int partition = 0; partition < 3; partition++)
        {
            var stored = _silo.StoredBatches("js-orders", partition);
            Assert.Equal(20, stored.Sum(b => b.RecordCount));
            Assert.All(stored, b => Assert.Equal(b.BaseOffset >= 10 ? CompressionCodec.Gzip : CompressionCodec.None, b.Compression));
        }
    }
}
