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
    public void A_bad_setting_is_refused_with_its_name(string flag, string value, string named)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => SiloHost.Build([flag, value, "--data", Path.Combine(Path.GetTempPath(), "omq-never")]).Dispose());
        Assert.Contains(named, ex.Message, StringComparison.Ordinal);
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
    }
}
