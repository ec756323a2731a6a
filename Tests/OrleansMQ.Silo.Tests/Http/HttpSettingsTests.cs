using OrleansMQ.Silo.Hosting;
using OrleansMQ.Silo.Http;
using OrleansMQ.Silo.Tests.Broker;
using Xunit;

namespace OrleansMQ.Silo.Tests.Http;

/// <summary>The <c>OrleansMQ:Http</c> section: defaults, validation naming the setting, and turning the gateway off.</summary>
public sealed class HttpSettingsTests
{
    [Theory]
    [InlineData("--http-port", "70000", "OrleansMQ:Http:Port")]
    [InlineData("--OrleansMQ:Http:ListenAddress", "not-an-ip", "OrleansMQ:Http:ListenAddress")]
    [InlineData("--OrleansMQ:Http:MaxRequestBodyBytes", "0", "OrleansMQ:Http:MaxRequestBodyBytes")]
    [InlineData("--OrleansMQ:Http:ConsumerInstanceTimeoutMs", "0", "OrleansMQ:Http:ConsumerInstanceTimeoutMs")]
    [InlineData("--OrleansMQ:Http:MaxConsumerInstances", "-1", "OrleansMQ:Http:MaxConsumerInstances")]
    [InlineData("--OrleansMQ:Http:ConsumerRequestTimeoutMs", "-5", "OrleansMQ:Http:ConsumerRequestTimeoutMs")]
    [InlineData("--OrleansMQ:Http:ConsumerRequestMaxBytes", "0", "OrleansMQ:Http:ConsumerRequestMaxBytes")]
    public void A_bad_setting_is_refused_with_its_name(string flag, string value, string named)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => SiloHost.Build([flag, value, "--data", Path.Combine(Path.GetTempPath(), "omq-never")]).Dispose());
        Assert.Contains(named, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Defaults_listen_on_8080()
    {
        var http = new HttpSettings();
        Assert.True(http.Enabled);
        Assert.Equal(8080, http.Port);
        Assert.Equal("0.0.0.0", http.ListenAddress);
        Assert.Equal(10L << 20, http.MaxRequestBodyBytes);
        Assert.Empty(http.ApiKeys);
        Assert.Equal(300_000, http.ConsumerInstanceTimeoutMs);
        Assert.Equal(100, http.MaxConsumerInstances);
        Assert.Equal(1000, http.ConsumerRequestTimeoutMs);
        Assert.Equal(64L << 20, http.ConsumerRequestMaxBytes);
    }

    [Fact]
    public async Task A_disabled_gateway_binds_nothing_and_the_broker_still_runs()
    {
        await using var silo = await TestSilo.StartAsync(new() { ["OrleansMQ:Http:Enabled"] = "false" });
        Assert.Equal(0, silo.HttpBaseAddress.Port);
        using var client = await silo.ConnectAsync();
    }
}
