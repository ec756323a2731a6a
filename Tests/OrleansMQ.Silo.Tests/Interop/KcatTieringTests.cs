using System.Globalization;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Tests.Broker;
using OrleansMQ.Storage.Tests.Tiering;
using Xunit;

namespace OrleansMQ.Silo.Tests.Interop;

/// <summary>
/// Tiered storage end to end: kcat produces into a silo with 1 MiB segments offloading at once to
/// a real Azurite, and reads everything back from offset 0 once the sealed segments live only in
/// the blob tier, also after a restart whose local tier folder is gone.
/// </summary>
public sealed class KcatTieringTests : IAsyncLifetime
{
    private readonly AzuriteFixture _azurite = new();
    private string _kcat = null!;

    public async Task InitializeAsync()
    {
        _kcat = ExternalTool.Require("kcat");
        await _azurite.InitializeAsync();
    }

    public Task DisposeAsync() => _azurite.DisposeAsync();

    private readonly string _container = "silo" + Guid.NewGuid().ToString("N")[..16];

    private Dictionary<string, string?> TieringSettings() => new()
    {
        ["OrleansMQ:Storage:SegmentSize"] = (1 << 20).ToString(CultureInfo.InvariantCulture),
        ["OrleansMQ:Storage:MaxBatchBytes"] = (512 << 10).ToString(CultureInfo.InvariantCulture),
        ["OrleansMQ:Storage:Tiering:Enabled"] = "true",
        ["OrleansMQ:Storage:Tiering:ConnectionString"] = _azurite.ConnectionString,
        ["OrleansMQ:Storage:Tiering:Container"] = _container,
        ["OrleansMQ:Storage:Tiering:LocalRetentionMs"] = "0",
        ["OrleansMQ:Storage:Tiering:CheckIntervalMs"] = "200",
        ["OrleansMQ:Storage:Tiering:ReadBlockSize"] = "65536",
        ["OrleansMQ:Storage:Tiering:CacheBytes"] = (512 << 10).ToString(CultureInfo.InvariantCulture),
        ["OrleansMQ:Storage:Tiering:MaxAttempts"] = "2",
    };

    private Task<ExternalTool.Result> Kcat(TestSilo silo, string? stdin, params string[] args) =>
        ExternalTool.RunAsync(_kcat, ["-b", silo.Bootstrap, "-X", "socket.timeout.ms=10000", .. args], stdin, TimeSpan.FromSeconds(90));

    private static async Task WaitUntil(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting until " + what);
            await Task.Delay(100);
        }
    }

    private static Task WaitForOffload(TestSilo silo, int minSegments) => WaitUntil(
        () => silo.Engine.Tier is { } tier && tier.Segments.Count >= minSegments && silo.Engine.CommitLog.Segments.Count == 1 && tier.Segments[^1].EndPosition == silo.Engine.CommitLog.MinPosition,
        "the sealed segments are offloaded and deleted locally");

    [Fact]
    public async Task Kcat_reads_offloaded_records_byte_identical_also_after_a_restart_without_local_segments()
    {
        const int count = 3000;
        var records = Enumerable.Range(0, count).Select(i => $"rec-{i:D5}-" + new string((char)('a' + (i % 26)), 900 + (i % 97))).ToList();
        await using var silo = await TestSilo.StartAsync(TieringSettings());
        var produce = await Kcat(silo, string.Join('\n', records) + "\n", "-P", "-t", "tiered", "-X", "linger.ms=20", "-X", "batch.size=200000");
        Assert.True(produce.ExitCode == 0, produce.Stderr);

        await WaitForOffload(silo, minSegments: 2); // ~3 MB in 1 MiB segments
        Assert.True(silo.Engine.TryGetPartition("tiered", 0, out var log));
        Assert.Equal(0, log.LogStartOffset);
        Assert.Equal(count, log.HighWatermark);
        string logDir = Path.Combine(silo.DataDirectory, "commitlog");
        // A dropped segment's file goes when its last reader releases it (the dispatcher may hold it a moment).
        var offloaded = silo.Engine.Tier!.Segments.Select(s => OrleansMQ.Storage.Log.Segment.FileNameFor(s.StartPosition)).ToList();
        await WaitUntil(() => !Directory.GetFiles(logDir).Select(Path.GetFileName).Intersect(offloaded).Any(), "the offloaded segment files are deleted locally");

        var consumed = await Kcat(silo, null, "-C", "-t", "tiered", "-o", "beginning", "-e", "-q", "-f", "%o %s\n");
        Assert.True(consumed.ExitCode == 0, consumed.Stderr);
        Assert.Equal(records.Select((r, i) => $"{i} {r}"), consumed.Lines);

        // In the container the blobs sit under <cluster id>/<node id>/, so silos can share it.
        using (var root = _azurite.CreateStore(_container))
        {
            var names = new List<string>();
            await foreach (var item in root.ListAsync(""))
            {
                names.Add(item.Name);
            }

            Assert.NotEmpty(names);
            Assert.All(names, n => Assert.Matches(@"^orleansmq/[0-9]+/(segments|manifests)/", n));
        }

        // Operators see the tier in /metrics.
        using (var http = new HttpClient { BaseAddress = silo.HttpBaseAddress })
        {
            string metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
            Assert.Contains($"orleansmq_tier_segments{{}} {silo.Engine.Tier!.Segments.Count}\n", metrics, StringComparison.Ordinal);
            Assert.Matches(@"orleansmq_tier_uploaded_segments_total\{\} [1-9]", metrics);
            Assert.Matches(@"orleansmq_tier_cache_misses_total\{\} [1-9]", metrics);
        }

        // Restart with an empty local tier folder: the manifests in the container are the truth.
        await silo.RestartAsync(() => Directory.Delete(Path.Combine(silo.DataDirectory, "tier"), recursive: true));
        await WaitUntil(() => silo.Engine.Tier!.IsLoaded, "the manifests are listed");
        Assert.True(silo.Engine.TryGetPartition("tiered", 0, out log));
        Assert.Equal(0, log.LogStartOffset);
        var again = await Kcat(silo, null, "-C", "-t", "tiered", "-o", "beginning", "-e", "-q", "-f", "%o %s\n");
        Assert.True(again.ExitCode == 0, again.Stderr);
        Assert.Equal(records.Select((r, i) => $"{i} {r}"), again.Lines);
    }

    [Fact]
    public async Task After_a_restart_with_offloaded_history_a_retried_idempotent_batch_is_still_a_duplicate()
    {
        await using var silo = await TestSilo.StartAsync(TieringSettings());
        var records = Enumerable.Range(0, 3000).Select(i => $"old-{i:D5}-" + new string('o', 900));
        var produce = await Kcat(silo, string.Join('\n', records) + "\n", "-P", "-t", "idem-tiered", "-X", "linger.ms=20", "-X", "batch.size=200000");
        Assert.True(produce.ExitCode == 0, produce.Stderr);
        await WaitForOffload(silo, minSegments: 2);

        // A producer writes on the local tail; its acknowledgement is lost, the silo restarts, it retries.
        long pid;
        byte[] batch;
        long offset;
        using (var client = await silo.ConnectAsync())
        {
            var init = await client.SendAsync<InitProducerIdRequest, InitProducerIdResponse>(new InitProducerIdRequest { TransactionalId = null, TransactionTimeoutMs = 60_000 }, 2);
            Assert.Equal(ErrorCode.None, init.ErrorCode);
            pid = init.ProducerId;
            batch = BrokerKit.IdempotentBatch(pid, 0, 0);
            offset = await BrokerKit.ProduceOkAsync(client, "idem-tiered", 0, batch);
        }

        Assert.Equal(3000, offset);
        await silo.RestartAsync();
        await WaitUntil(() => silo.Engine.Tier!.IsLoaded, "the manifests are listed");
        using (var client = await silo.ConnectAsync())
        {
            var retry = await BrokerKit.ProduceAsync(client, "idem-tiered", 0, batch);
            Assert.Equal(ErrorCode.None, retry.ErrorCode);
            Assert.Equal(offset, retry.BaseOffset); // the original offset: recognised, not appended again
            Assert.Equal(3001, await BrokerKit.LatestOffsetAsync(client, "idem-tiered"));
            var next = await BrokerKit.ProduceAsync(client, "idem-tiered", 0, BrokerKit.IdempotentBatch(pid, 0, 1));
            Assert.Equal(ErrorCode.None, next.ErrorCode);
            Assert.Equal(3001, next.BaseOffset);
        }
    }

    [Fact]
    public async Task While_the_blob_service_is_down_remote_partitions_answer_storage_error_and_local_ones_are_served()
    {
        var records = Enumerable.Range(0, 2000).Select(i => $"old-{i:D5}-" + new string('x', 1000)).ToList();
        await using var silo = await TestSilo.StartAsync(TieringSettings());
        var produce = await Kcat(silo, string.Join('\n', records) + "\n", "-P", "-t", "remote", "-X", "linger.ms=20", "-X", "batch.size=200000");
        Assert.True(produce.ExitCode == 0, produce.Stderr);
        await WaitForOffload(silo, minSegments: 1);
        var fresh = await Kcat(silo, "a\nb\nc\n", "-P", "-t", "fresh");
        Assert.True(fresh.ExitCode == 0, fresh.Stderr);

        await _azurite.StopAsync(graceful: true);
        await silo.RestartAsync(); // an empty read cache: nothing remote can be served from memory
        using (var client = await silo.ConnectAsync())
        {
            var request = new FetchRequest
            {
                MaxWaitMs = 0,
                MinBytes = 0,
                MaxBytes = 50 << 20,
                Topics =
                [
                    new FetchRequest.Topic { Name = "remote", Partitions = [new FetchRequest.Partition { PartitionIndex = 0, FetchOffset = 0, PartitionMaxBytes = 1 << 20 }] },
                    new FetchRequest.Topic { Name = "fresh", Partitions = [new FetchRequest.Partition { PartitionIndex = 0, FetchOffset = 0, PartitionMaxBytes = 1 << 20 }] },
                ],
            };
            var response = await client.SendAsync<FetchRequest, FetchResponse>(request, 12);
            var remote = response.Topics.Single(t => t.Name == "remote").Partitions.Single();
            var local = response.Topics.Single(t => t.Name == "fresh").Partitions.Single();
            Assert.Equal(ErrorCode.KafkaStorageError, remote.ErrorCode);
            Assert.Equal(ErrorCode.None, local.ErrorCode);
            Assert.Equal(3, local.HighWatermark);
            Assert.NotNull(local.Records);
            Assert.True(local.Records.Value.Length > 0);
        }

        await _azurite.StartAsync();
        var again = await Kcat(silo, null, "-C", "-t", "remote", "-o", "beginning", "-e", "-q", "-f", "%s\n");
        Assert.True(again.ExitCode == 0, again.Stderr);
        Assert.Equal(records, again.Lines);
    }
}
