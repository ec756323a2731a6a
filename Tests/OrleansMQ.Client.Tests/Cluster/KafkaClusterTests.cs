using OrleansMQ.Client.Cluster;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Tests.Broker;
using Xunit;

namespace OrleansMQ.Client.Tests.Cluster;

/// <summary>Connections, version negotiation, metadata and coordinators against a real silo.</summary>
public sealed class KafkaClusterTests : IAsyncLifetime
{
    private TestSilo _silo = null!;

    public async Task InitializeAsync() => _silo = await TestSilo.StartAsync(new() { ["OrleansMQ:Broker:Port"] = TestSilo.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture) });

    public async Task DisposeAsync() => await _silo.DisposeAsync();

    [Fact]
    public async Task Negotiates_versions_and_reads_metadata_with_auto_create()
    {
        await using var cluster = new KafkaCluster(new ClientOptions { BootstrapServers = _silo.Bootstrap });
        var connection = await cluster.GetAnyConnectionAsync();
        Assert.Equal((short)9, connection.VersionFor(ApiKey.Produce));
        Assert.Equal((short)12, connection.VersionFor(ApiKey.Fetch));
        Assert.Null(connection.VersionFor(ApiKey.EndTxn)); // the silo does not speak it (no transactions)

        var topic = await cluster.GetTopicAsync("client-auto", allowAutoCreate: true);
        Assert.Single(topic.Partitions);
        Assert.Equal(0, topic.Partitions[0].Leader);
        var error = await Assert.ThrowsAsync<KafkaException>(() => cluster.GetTopicAsync("client-missing"));
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, error.ErrorCode);
        Assert.Equal(_silo.Port, cluster.Metadata!.Brokers[0].Port);
    }

    [Fact]
    public async Task Many_requests_in_flight_on_one_connection_are_matched_to_their_answers()
    {
        await using var cluster = new KafkaCluster(new ClientOptions { BootstrapServers = _silo.Bootstrap });
        var connection = await cluster.GetAnyConnectionAsync();
        var answers = await Task.WhenAll(Enumerable.Range(0, 200).Select(i =>
            connection.SendAsync<FindCoordinatorRequest, FindCoordinatorResponse>(new FindCoordinatorRequest { Key = $"g{i}" })));
        Assert.All(answers, a => Assert.Equal(ErrorCode.None, a.ErrorCode));
        Assert.Equal(0, connection.InFlight);
    }

    [Fact]
    public async Task A_restarted_broker_is_reconnected_on_the_next_request()
    {
        await using var cluster = new KafkaCluster(new ClientOptions { BootstrapServers = _silo.Bootstrap, ReconnectBackoff = TimeSpan.FromMilliseconds(20) });
        await cluster.RefreshMetadataAsync(null);
        var before = await cluster.GetConnectionAsync(0);
        await _silo.RestartAsync();
        await Task.Delay(100);
        Assert.False(before.IsAlive);
        var metadata = await cluster.RefreshMetadataAsync(null);
        Assert.Equal(_silo.Port, metadata.Brokers[0].Port);
        var after = await cluster.GetConnectionAsync(0);
        Assert.True(after.IsAlive);
        Assert.NotSame(before, after);
    }

    [Fact]
    public async Task No_reachable_broker_is_a_clear_connection_error()
    {
        int port = TestSilo.FreePort();
        await using var cluster = new KafkaCluster(new ClientOptions { BootstrapServers = $"127.0.0.1:{port}", ConnectTimeout = TimeSpan.FromSeconds(1) });
        var error = await Assert.ThrowsAsync<KafkaConnectionException>(() => cluster.RefreshMetadataAsync(null));
        Assert.True(error.IsRetriable);
        Assert.Contains($"127.0.0.1:{port}", error.Message, StringComparison.Ordinal);
    }
}
