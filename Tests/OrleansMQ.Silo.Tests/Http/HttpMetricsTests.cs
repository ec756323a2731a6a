using System.Globalization;
using System.Text.RegularExpressions;
using OrleansMQ.Silo.Tests.Broker;
using OrleansMQ.Silo.Tests.Interop;
using Xunit;

namespace OrleansMQ.Silo.Tests.Http;

/// <summary>
/// /metrics after real kcat traffic: per-API request and byte counters, request latency and flush
/// latency histograms that agree with what was sent, disk figures.
/// </summary>
public sealed partial class HttpMetricsTests
{
    // Values as the exporter writes them: integers, or doubles in their shortest form (1.5E-05).
    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>-?[0-9]+(\.[0-9]+)?(E[-+]?[0-9]+)?)$")]
    private static partial Regex SampleLine();

    private static List<(string Name, string Labels, double Value)> Parse(string text)
    {
        var samples = new List<(string, string, double)>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith('#'))
            {
                continue;
            }

            var m = SampleLine().Match(line);
            Assert.True(m.Success, "bad sample line: " + line);
            samples.Add((m.Groups["name"].Value, m.Groups["labels"].Value, double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture)));
        }

        return samples;
    }

    private static double Value(List<(string Name, string Labels, double Value)> samples, string name, string labels) =>
        samples.Single(s => s.Name == name && s.Labels == labels).Value;

    [Fact]
    public async Task Kafka_traffic_shows_per_api_counters_latency_and_flush_histograms()
    {
        string kcat = ExternalTool.Require("kcat");
        await using var silo = await TestSilo.StartAsync(new() { ["OrleansMQ:Storage:Flush"] = "sync" });
        using var http = new HttpClient { BaseAddress = silo.HttpBaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var created = await silo.Topics.CreateAsync("metered", 1, 1, [], validateOnly: false);
        Assert.True(created.IsOk, created.Message);

        // 50 messages of 1000 bytes, one Produce request each (linger 0, batch of one).
        string payload = new('m', 1000);
        string input = string.Concat(Enumerable.Repeat(payload + "\n", 50));
        var produce = await ExternalTool.RunAsync(kcat, ["-b", silo.Bootstrap, "-P", "-t", "metered", "-X", "linger.ms=0", "-X", "batch.num.messages=1", "-X", "acks=all"], input, TimeSpan.FromSeconds(60));
        Assert.True(produce.ExitCode == 0, produce.Stderr);
        var consume = await ExternalTool.RunAsync(kcat, ["-b", silo.Bootstrap, "-C", "-t", "metered", "-o", "beginning", "-c", "50", "-e", "-q"], null, TimeSpan.FromSeconds(60));
        Assert.True(consume.ExitCode == 0, consume.Stderr);
        Assert.Equal(50, consume.Lines.Length);

        string text = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        var samples = Parse(text);

        // Produce: at least the 50 requests, and at least the 50 KB of values went in.
        double produceRequests = Value(samples, "orleansmq_kafka_api_requests_total", "api=\"Produce\"");
        Assert.InRange(produceRequests, 50, 60);
        Assert.True(Value(samples, "orleansmq_kafka_api_request_bytes_total", "api=\"Produce\"") >= 50 * 1000);

        // Fetch: the 50 KB of records went out (by sendfile), Metadata and ApiVersions were asked.
        Assert.True(Value(samples, "orleansmq_kafka_api_response_bytes_total", "api=\"Fetch\"") >= 50 * 1000);
        Assert.True(Value(samples, "orleansmq_kafka_api_requests_total", "api=\"Metadata\"") >= 2);
        Assert.True(Value(samples, "orleansmq_kafka_api_requests_total", "api=\"ApiVersions\"") >= 2);

        // The latency histogram counts every answered Produce once, buckets are cumulative.
        var buckets = samples.Where(s => s.Name == "orleansmq_kafka_request_duration_seconds_bucket" && s.Labels.StartsWith("api=\"Produce\",", StringComparison.Ordinal)).ToList();
        Assert.Equal(18, buckets.Count);
        for (int i = 1; i < buckets.Count; i++)
        {
            Assert.True(buckets[i].Value >= buckets[i - 1].Value, $"bucket {buckets[i].Labels} below the previous one");
        }

        Assert.EndsWith("le=\"+Inf\"", buckets[^1].Labels, StringComparison.Ordinal);
        double count = Value(samples, "orleansmq_kafka_request_duration_seconds_count", "api=\"Produce\"");
        Assert.Equal(count, buckets[^1].Value);
        Assert.Equal(produceRequests, count);
        Assert.True(Value(samples, "orleansmq_kafka_request_duration_seconds_sum", "api=\"Produce\"") > 0);

        // Sync flush: every acks=all produce waited for a flush pass, so there were passes, timed.
        double flushes = Value(samples, "orleansmq_commitlog_flush_duration_seconds_count", "");
        Assert.True(flushes >= 1, "no flush pass recorded");
        Assert.Equal(flushes, Value(samples, "orleansmq_commitlog_flush_duration_seconds_bucket", "le=\"+Inf\""));
        Assert.True(Value(samples, "orleansmq_commitlog_flush_duration_seconds_sum", "") > 0, "flush passes were counted but not timed");
        Assert.Contains("# TYPE orleansmq_commitlog_flush_duration_seconds histogram", text, StringComparison.Ordinal); // a histogram, as Prometheus' histogram_quantile wants

        // Disk: the data folder's file system and the CommitLog's own files.
        Assert.True(Value(samples, "orleansmq_disk_total_bytes", "") > 0);
        Assert.InRange(Value(samples, "orleansmq_disk_available_bytes", ""), 1, Value(samples, "orleansmq_disk_total_bytes", ""));
        Assert.True(Value(samples, "orleansmq_commitlog_disk_bytes", "") > 0);
        Assert.True(Value(samples, "orleansmq_commitlog_segments", "") >= 1);

        // HTTP latency: the scrape before this one is counted.
        var second = Parse(await http.GetStringAsync(new Uri("/metrics", UriKind.Relative)));
        Assert.True(Value(second, "orleansmq_http_request_duration_seconds_count", "method=\"GET\"") >= 1);
    }

    [Fact]
    public async Task Grains_show_their_activations_and_calls_and_produce_calls_no_grain()
    {
        string kcat = ExternalTool.Require("kcat");
        await using var silo = await TestSilo.StartAsync();
        using var http = new HttpClient { BaseAddress = silo.HttpBaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        Assert.True((await silo.Topics.CreateAsync("granular", 1, 1, [], validateOnly: false)).IsOk);

        static double Sum(List<(string Name, string Labels, double Value)> samples, string name, string type) =>
            samples.Where(s => s.Name == name && s.Labels == $"type=\"{type}\"").Sum(s => s.Value);

        var before = Parse(await http.GetStringAsync(new Uri("/metrics", UriKind.Relative)));
        Assert.True(Sum(before, "orleansmq_grain_activations", "topic") >= 1, "the topic's grain is in memory after CreateTopics");
        Assert.True(Sum(before, "orleansmq_grain_calls_total", "topic") >= 1, "CreateTopics called the topic's grain");

        // 200 Produce requests and a fetch: the data path reads the silo's topic cache, not a grain.
        string input = string.Concat(Enumerable.Range(0, 200).Select(i => $"m{i}\n"));
        var produce = await ExternalTool.RunAsync(kcat, ["-b", silo.Bootstrap, "-P", "-t", "granular", "-X", "linger.ms=0", "-X", "batch.num.messages=1"], input, TimeSpan.FromSeconds(60));
        Assert.True(produce.ExitCode == 0, produce.Stderr);
        var consume = await ExternalTool.RunAsync(kcat, ["-b", silo.Bootstrap, "-C", "-t", "granular", "-o", "beginning", "-c", "200", "-e", "-q"], null, TimeSpan.FromSeconds(60));
        Assert.Equal(200, consume.Lines.Length);
        var after = Parse(await http.GetStringAsync(new Uri("/metrics", UriKind.Relative)));
        double callsDuringData = after.Where(x => x.Name == "orleansmq_grain_calls_total").Sum(x => x.Value) - before.Where(x => x.Name == "orleansmq_grain_calls_total").Sum(x => x.Value);
        Assert.True(callsDuringData < 10, $"{callsDuringData} grain calls during 200 produce requests and a fetch");

        // A commit is a call to the group's grain, which is then in memory.
        var (error, _) = await silo.Groups.CommitOffsetsAsync("metered-group", "", null, -1, [new OrleansMQ.Silo.Groups.OffsetCommitItem("granular", 0, 200, -1, null)]);
        Assert.Equal(OrleansMQ.Silo.Groups.GroupError.None, error);
        var grouped = Parse(await http.GetStringAsync(new Uri("/metrics", UriKind.Relative)));
        Assert.True(Sum(grouped, "orleansmq_grain_activations", "consumergroup") >= 1, "the group's grain is in memory");
        Assert.True(Sum(grouped, "orleansmq_grain_calls_total", "consumergroup") >= 1, "the commit called the group's grain");

        // The console's stats carry the same figures.
        using var stats = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync(new Uri("/orleansmq/v1/stats", UriKind.Relative)));
        Assert.True(stats.RootElement.GetProperty("grain_activations").GetInt64() >= 2);
        Assert.True(stats.RootElement.GetProperty("grain_calls").GetInt64() >= 2);
    }
}
