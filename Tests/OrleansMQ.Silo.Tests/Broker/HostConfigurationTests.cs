using OrleansMQ.Silo.Hosting;
using OrleansMQ.Silo.Kafka;
using Xunit;

namespace OrleansMQ.Silo.Tests.Broker;

/// <summary>Settings are validated at start and a bad one is named in the error.</summary>
public sealed class HostConfigurationTests
{
    [Theory]
    [InlineData("--port", "70000", "OrleansMQ:Broker:Port")]
    [InlineData("--flush", "maybe", "OrleansMQ:Storage:Flush")]
    [InlineData("--segment-size", "1000", "SegmentSize")]
    [InlineData("--node-id", "-1", "OrleansMQ:Broker:NodeId")]
    [InlineData("--listen", "not-an-ip", "BindAddress")]
    [InlineData("--cluster", "Zookeeper", "OrleansMQ:Cluster:Mode")]
    [InlineData("--cluster", "AzureTable", "OrleansMQ:Cluster:ConnectionString")]
    [InlineData("--cluster", "Redis", "OrleansMQ:Cluster:RedisConnectionString")]
    [InlineData("--silo-port", "70000", "OrleansMQ:Cluster:SiloPort")]
    [InlineData("--gateway-port", "-1", "OrleansMQ:Cluster:GatewayPort")]
    [InlineData("--OrleansMQ:Cluster:AdvertisedAddress", "silo-1.example", "OrleansMQ:Cluster:AdvertisedAddress")]
    [InlineData("--OrleansMQ:Cluster:ClusterId", " ", "OrleansMQ:Cluster:ClusterId")]
    public void A_bad_setting_is_refused_with_its_name(string flag, string value, string named)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => SiloHost.Build([flag, value, "--data", Path.Combine(Path.GetTempPath(), "omq-never")]).Dispose());
        Assert.Contains(named, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--port", "OrleansMQ:Broker:Port")]
    [InlineData("--http-port", "OrleansMQ:Http:Port")]
    [InlineData("--silo-port", "OrleansMQ:Cluster:SiloPort")]
    public void A_port_in_use_is_refused_with_the_setting_and_the_port(string flag, string named)
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Any, 0);
        taken.Start();
        string port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        string[] args = ["--data", Path.Combine(Path.GetTempPath(), "omq-never"), "--port", "0", "--http-port", "0", "--silo-port", "0", "--gateway-port", "0", flag, port];
        var ex = Assert.ThrowsAny<ArgumentException>(() => SiloHost.Build(args).Dispose());
        Assert.Contains(named, ex.Message, StringComparison.Ordinal);
        Assert.Contains(port, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_silo_process_stops_with_one_line_naming_a_port_in_use()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        string port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var result = await Interop.ExternalTool.RunAsync(
            Path.Combine(AppContext.BaseDirectory, "OrleansMQ.Silo"),
            ["--data", Path.Combine(Path.GetTempPath(), "omq-never-" + Guid.NewGuid().ToString("N")), "--listen", "127.0.0.1", "--port", port, "--http-port", "0", "--silo-port", "0", "--gateway-port", "0"],
            timeout: TimeSpan.FromSeconds(60));
        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("OrleansMQ:Broker:Port", line, StringComparison.Ordinal);
        Assert.Contains(port, line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stdout + result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task One_process_runs_one_host_for_storage_orleans_kafka_and_http()
    {
        await using var silo = new Cluster.SiloProcess("one-host", new Dictionary<string, string> { ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information" });
        await silo.StartAsync();
        using (var client = await silo.ConnectAsync())
        {
            // Kafka answers (StartAsync already saw HTTP's /readyz answer 200).
            await BrokerKit.CreateTopicOkAsync(client, "one-host-topic");
            Assert.Contains("one-host-topic", await BrokerKit.AllTopicNamesAsync(client));
        }

        await silo.StopAsync();
        int started = silo.Output.Split('\n').Count(l => l.Contains("Application started", StringComparison.Ordinal));
        Assert.Equal(1, started);
    }

    [Fact]
    public void Defaults_serve_one_embedded_node_on_9092()
    {
        var broker = new BrokerSettings();
        Assert.Equal(9092, broker.Port);
        Assert.Equal(0, broker.NodeId);
        Assert.Equal("localhost", broker.EffectiveAdvertisedHost);
        Assert.True(broker.AutoCreateTopics);
        Assert.Equal("data", new StorageSettings().DataDirectory);
        var cluster = new ClusterSettings();
        Assert.Equal(ClusterMode.Localhost, cluster.Mode);
        Assert.True(cluster.IsSingleSilo);
        Assert.Equal(11111, cluster.SiloPort);
    }
}
