using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using OrleansMQ.Silo.Tests.Broker;
using OrleansMQ.Silo.Tests.Interop;
using Xunit;

namespace OrleansMQ.Silo.Tests.Http;

/// <summary>REST Proxy v3 paths against a real silo: cluster, topics, partitions, configs, records (single and streamed), groups and lag.</summary>
public sealed class RestV3Tests : IAsyncLifetime, IDisposable
{
    private static Task<JsonElement> JsonAsync(HttpResponseMessage response, HttpStatusCode expected = HttpStatusCode.OK) => HttpAssert.JsonAsync(response, expected);

    private static Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, int? errorCode = null) => HttpAssert.ProblemAsync(response, status, errorCode);

    private TestSilo _silo = null!;
    private HttpClient _http = null!;
    private string _cluster = "";

    public async Task InitializeAsync()
    {
        _silo = await TestSilo.StartAsync();
        _http = new HttpClient { BaseAddress = _silo.HttpBaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        _cluster = _silo.Identity.ClusterId;
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _silo.DisposeAsync();
    }

    public void Dispose() => _http?.Dispose();

    private async Task<JsonElement> GetAsync(string path, HttpStatusCode expected = HttpStatusCode.OK) =>
        await JsonAsync(await _http.GetAsync(new Uri(path, UriKind.Relative)), expected);

    private Task<HttpResponseMessage> PostAsync(string path, string body, string contentType = "application/json")
    {
        var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return _http.PostAsync(new Uri(path, UriKind.Relative), content);
    }

    [Fact]
    public async Task Cluster_and_broker_resources()
    {
        var list = await GetAsync("/v3/clusters");
        Assert.Equal("KafkaClusterList", list.GetProperty("kind").GetString());
        var cluster = Assert.Single(list.GetProperty("data").EnumerateArray());
        Assert.Equal(_cluster, cluster.GetProperty("cluster_id").GetString());
        Assert.Equal($"{_silo.HttpBaseAddress.ToString().TrimEnd('/')}/v3/clusters/{_cluster}/topics", cluster.GetProperty("topics").GetProperty("related").GetString());
        Assert.Equal($"crn:///kafka={_cluster}", cluster.GetProperty("metadata").GetProperty("resource_name").GetString());

        var one = await GetAsync($"/v3/clusters/{_cluster}");
        Assert.Equal("KafkaCluster", one.GetProperty("kind").GetString());
        var broker = Assert.Single((await GetAsync($"/v3/clusters/{_cluster}/brokers")).GetProperty("data").EnumerateArray());
        Assert.Equal(_silo.Identity.NodeId, broker.GetProperty("broker_id").GetInt32());
        Assert.Equal(_silo.Identity.AdvertisedPort, broker.GetProperty("port").GetInt32());

        await AssertProblemAsync(await _http.GetAsync(new Uri("/v3/clusters/not-this-one/topics", UriKind.Relative)), HttpStatusCode.NotFound, 404);
    }

    [Fact]
    public async Task Topic_life_cycle_partitions_and_configs()
    {
        string topics = $"/v3/clusters/{_cluster}/topics";
        var created = await JsonAsync(await PostAsync(topics, """{"topic_name":"v3-orders","partitions_count":3,"replication_factor":1,"configs":[{"name":"retention.ms","value":"3600000"}]}"""), HttpStatusCode.Created);
        Assert.Equal("KafkaTopic", created.GetProperty("kind").GetString());
        Assert.Equal(3, created.GetProperty("partitions_count").GetInt32());
        Assert.False(created.GetProperty("is_internal").GetBoolean());
        Assert.True(_silo.Topics.Catalog.TryGet("v3-orders", out var meta));
        Assert.Equal(3, meta.Partitions.Length);

        var list = await GetAsync(topics);
        Assert.Contains("v3-orders", list.GetProperty("data").EnumerateArray().Select(t => t.GetProperty("topic_name").GetString()));
        Assert.Equal("v3-orders", (await GetAsync($"{topics}/v3-orders")).GetProperty("topic_name").GetString());

        var partitions = (await GetAsync($"{topics}/v3-orders/partitions")).GetProperty("data").EnumerateArray().ToList();
        Assert.Equal([0, 1, 2], partitions.Select(p => p.GetProperty("partition_id").GetInt32()));
        var p1 = await GetAsync($"{topics}/v3-orders/partitions/1");
        Assert.Equal(0, p1.GetProperty("log_end_offset").GetInt64());
        await AssertProblemAsync(await _http.GetAsync(new Uri($"{topics}/v3-orders/partitions/3", UriKind.Relative)), HttpStatusCode.NotFound, 404);

        var configs = (await GetAsync($"{topics}/v3-orders/configs")).GetProperty("data").EnumerateArray().ToList();
        var retention = configs.Single(c => c.GetProperty("name").GetString() == "retention.ms");
        Assert.Equal("3600000", retention.GetProperty("value").GetString());
        Assert.False(retention.GetProperty("is_default").GetBoolean());
        Assert.True(configs.Single(c => c.GetProperty("name").GetString() == "cleanup.policy").GetProperty("is_default").GetBoolean());

        // Exists: REST Proxy's 40002; invalid settings: 400; bad body: 400.
        await AssertProblemAsync(await PostAsync(topics, """{"topic_name":"v3-orders","partitions_count":1}"""), HttpStatusCode.BadRequest, 40002);
        await AssertProblemAsync(await PostAsync(topics, """{"topic_name":"v3-bad","partitions_count":0}"""), HttpStatusCode.BadRequest, 400);
        await AssertProblemAsync(await PostAsync(topics, """{"topic_name":"bad name!"}"""), HttpStatusCode.BadRequest, 400);
        await AssertProblemAsync(await PostAsync(topics, """{"partitions_count":1}"""), HttpStatusCode.BadRequest, 400);
        await AssertProblemAsync(await PostAsync(topics, "{oops"), HttpStatusCode.BadRequest, 400);
        Assert.False(_silo.Topics.Catalog.TryGet("v3-bad", out _));

        using (var delete = await _http.DeleteAsync(new Uri($"{topics}/v3-orders", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }

        await AssertProblemAsync(await _http.GetAsync(new Uri($"{topics}/v3-orders", UriKind.Relative)), HttpStatusCode.NotFound, 404);
        await AssertProblemAsync(await _http.DeleteAsync(new Uri($"{topics}/v3-orders", UriKind.Relative)), HttpStatusCode.NotFound, 404);
        await AssertProblemAsync(await _http.DeleteAsync(new Uri($"{topics}/__consumer_offsets", UriKind.Relative)), HttpStatusCode.NotFound, 404); // internal, not a listed topic
    }

    [Fact]
    public async Task One_record_with_types_headers_and_timestamp_is_stored_as_sent_and_kcat_reads_it()
    {
        string kcat = ExternalTool.Require("kcat");
        var created = await _silo.Topics.CreateAsync("v3-records", 2, 1, [], validateOnly: false);
        Assert.True(created.IsOk, created.Message);
        string body = $$$"""
            {"partition_id":1,
             "headers":[{"name":"trace","value":"{{{Convert.ToBase64String("abc"u8.ToArray())}}}"}],
             "key":{"type":"STRING","data":"order-7"},
             "value":{"type":"JSON","data":{"qty":2}},
             "timestamp":"2026-01-02T03:04:05.678Z"}
            """;
        var report = await JsonAsync(await PostAsync($"/v3/clusters/{_cluster}/topics/v3-records/records", body));
        Assert.Equal(200, report.GetProperty("error_code").GetInt32());
        Assert.Equal("v3-records", report.GetProperty("topic_name").GetString());
        Assert.Equal(1, report.GetProperty("partition_id").GetInt32());
        Assert.Equal(0, report.GetProperty("offset").GetInt64());
        Assert.Equal("2026-01-02T03:04:05.678Z", report.GetProperty("timestamp").GetString());
        Assert.Equal("STRING", report.GetProperty("key").GetProperty("type").GetString());
        Assert.Equal(7, report.GetProperty("key").GetProperty("size").GetInt32());
        Assert.Equal("""{"qty":2}""".Length, report.GetProperty("value").GetProperty("size").GetInt32());

        var kc = await ExternalTool.RunAsync(kcat, ["-b", _silo.Bootstrap, "-C", "-t", "v3-records", "-p", "1", "-o", "beginning", "-e", "-q", "-f", "%k|%s|%h|%T\n"], null, TimeSpan.FromSeconds(60));
        Assert.True(kc.ExitCode == 0, kc.Stderr);
        Assert.Equal(["order-7|{\"qty\":2}|trace=abc|" + DateTimeOffset.Parse("2026-01-02T03:04:05.678Z", System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds()], kc.Lines);

        // BINARY and no key: the bytes exactly; keyless records spread round-robin.
        byte[] raw = [0, 1, 2, 250, 255];
        var binary = await JsonAsync(await PostAsync($"/v3/clusters/{_cluster}/topics/v3-records/records", $$$"""{"value":{"type":"BINARY","data":"{{{Convert.ToBase64String(raw)}}}"}}"""));
        int partition = binary.GetProperty("partition_id").GetInt32();
        long offset = binary.GetProperty("offset").GetInt64();
        Assert.Equal(JsonValueKind.Null, binary.GetProperty("key").ValueKind);
        var browse = await GetAsync($"/orleansmq/v1/topics/v3-records/partitions/{partition}/messages?offset={offset}&count=1");
        Assert.Equal(Convert.ToBase64String(raw), browse.GetProperty("records")[0].GetProperty("value").GetString());
    }

    [Fact]
    public async Task Single_record_errors_are_problems_and_nothing_is_written()
    {
        var created = await _silo.Topics.CreateAsync("v3-errors", 1, 1, [], validateOnly: false);
        Assert.True(created.IsOk, created.Message);
        string path = $"/v3/clusters/{_cluster}/topics/v3-errors/records";
        await AssertProblemAsync(await PostAsync(path, """{"value":{"type":"BINARY","data":"!!!"}}"""), HttpStatusCode.BadRequest, 400);
        await AssertProblemAsync(await PostAsync(path, """{"value":{"type":"AVRO","data":1}}"""), HttpStatusCode.BadRequest, 400);
        await AssertProblemAsync(await PostAsync(path, """{"value":{"type":"STRING","data":5}}"""), HttpStatusCode.BadRequest, 400);
        await AssertProblemAsync(await PostAsync(path, """{"partition_id":4,"value":{"data":1}}"""), HttpStatusCode.NotFound, 404);
        await AssertProblemAsync(await PostAsync(path, """{"value":{"data":1},"timestamp":"yesterday"}"""), HttpStatusCode.BadRequest, 400);
        await AssertProblemAsync(await PostAsync(path, """{}"""), HttpStatusCode.BadRequest, 400);
        await AssertProblemAsync(await PostAsync(path, """{"value":"""), HttpStatusCode.BadRequest, 400);
        await AssertProblemAsync(await PostAsync(path, """{"value":{"type":"STRING","data":"x"}}""", "text/plain"), HttpStatusCode.UnsupportedMediaType, 415);
        await AssertProblemAsync(await PostAsync($"/v3/clusters/{_cluster}/topics/v3-nope/records", """{"value":{"data":1}}"""), HttpStatusCode.NotFound, 404);
        string big = new('x', 1_100_000); // over the default max.message.bytes (1 MiB)
        await AssertProblemAsync(await PostAsync(path, $$$"""{"value":{"type":"STRING","data":"{{{big}}}"}}"""), HttpStatusCode.RequestEntityTooLarge, 413);
        Assert.Equal(0, (await GetAsync("/orleansmq/v1/topics/v3-errors/partitions/0/offsets")).GetProperty("high_watermark").GetInt64());

        // The silo keeps serving: the next good record is offset 0.
        var ok = await JsonAsync(await PostAsync(path, """{"value":{"type":"STRING","data":"fine"}}"""));
        Assert.Equal(0, ok.GetProperty("offset").GetInt64());
    }

    [Fact]
    public async Task Streamed_records_get_one_report_each_in_order_as_they_arrive()
    {
        var created = await _silo.Topics.CreateAsync("v3-stream", 1, 1, [], validateOnly: false);
        Assert.True(created.IsOk, created.Message);
        string path = $"/v3/clusters/{_cluster}/topics/v3-stream/records";

        // A chunked body written record by record on a raw connection (HttpClient's HTTP/1.1 sends
        // the whole body before reading the answer); each report must come back before the next record is sent.
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(_silo.HttpBaseAddress.Host, _silo.HttpBaseAddress.Port);
        var stream = tcp.GetStream();
        stream.ReadTimeout = 30_000;
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"));
        var reader = new StreamReader(stream, Encoding.UTF8);

        async Task SendAsync(string json)
        {
            byte[] data = Encoding.UTF8.GetBytes(json);
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"{data.Length:x}\r\n"));
            await stream.WriteAsync(data);
            await stream.WriteAsync("\r\n"u8.ToArray());
        }

        // The next delivery report: chunk-size lines and blank lines skipped, the JSON line parsed.
        async Task<JsonElement> ReportAsync()
        {
            while (true)
            {
                string? line = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
                Assert.NotNull(line);
                if (line.StartsWith('{'))
                {
                    return JsonDocument.Parse(line).RootElement.Clone();
                }
            }
        }

        await SendAsync("""{"value":{"type":"STRING","data":"one"}}""");
        Assert.Equal("HTTP/1.1 200 OK", await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)));
        var first = await ReportAsync();
        Assert.Equal(200, first.GetProperty("error_code").GetInt32());
        Assert.Equal(0, first.GetProperty("offset").GetInt64());

        await SendAsync("""{"value":{"type":"BINARY","data":"not base64!"}}""");
        var second = await ReportAsync();
        Assert.Equal(400, second.GetProperty("error_code").GetInt32());

        await SendAsync("""  {"value":{"type":"STRING","data":"three"}}""");
        var third = await ReportAsync();
        Assert.Equal(200, third.GetProperty("error_code").GetInt32());
        Assert.Equal(1, third.GetProperty("offset").GetInt64());

        await stream.WriteAsync("0\r\n\r\n"u8.ToArray()); // end of the body: the response ends with its last chunk
        string? last;
        do
        {
            last = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        while (last is not null && last != "0");
        Assert.Equal("0", last);

        // Several records in a body with a length: one report per record, all 200.
        var many = await _http.PostAsync(new Uri(path, UriKind.Relative), new StringContent(
            string.Concat(Enumerable.Range(0, 5).Select(i => $$$"""{"key":{"type":"STRING","data":"k{{{i}}}"},"value":{"type":"STRING","data":"v{{{i}}}"}}""" + "\n")),
            new MediaTypeHeaderValue("application/json")));
        Assert.Equal(HttpStatusCode.OK, many.StatusCode);
        var reports = (await many.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal([2L, 3, 4, 5, 6], reports.Select(r => r.GetProperty("offset").GetInt64()));
        Assert.Equal(7, (await GetAsync("/orleansmq/v1/topics/v3-stream/partitions/0/offsets")).GetProperty("high_watermark").GetInt64());
    }

    [Fact]
    public async Task Consumer_groups_with_lags_and_summary_follow_a_kcat_group()
    {
        string kcat = ExternalTool.Require("kcat");
        var created = await _silo.Topics.CreateAsync("v3-lag", 2, 1, [], validateOnly: false);
        Assert.True(created.IsOk, created.Message);
        var produce = await ExternalTool.RunAsync(kcat, ["-b", _silo.Bootstrap, "-P", "-t", "v3-lag", "-p", "0"], "a\nb\nc\nd\n", TimeSpan.FromSeconds(60));
        Assert.True(produce.ExitCode == 0, produce.Stderr);
        await _silo.Groups.WhenLoaded;

        await using (var consumer = ExternalTool.StartCollecting(kcat, [
            "-b", _silo.Bootstrap, "-G", "v3-group", "-u", "-f", "%p %o %s\n", "-X", "client.id=v3-client", "-X", "auto.offset.reset=earliest", "v3-lag"]))
        {
            await consumer.WaitUntilAsync(lines => lines.Count >= 4, TimeSpan.FromSeconds(60), "kcat to read 4 records");
            string groupPath = $"/v3/clusters/{_cluster}/consumer-groups/v3-group";
            var deadline = DateTime.UtcNow.AddSeconds(30); // librdkafka auto-commits every 5 s
            JsonElement lags;
            while (true)
            {
                lags = await GetAsync(groupPath + "/lags");
                if (lags.GetProperty("data").EnumerateArray().Any(l => l.GetProperty("partition_id").GetInt32() == 0 && l.GetProperty("current_offset").ValueKind == JsonValueKind.Number && l.GetProperty("current_offset").GetInt64() == 4))
                {
                    break;
                }

                Assert.True(DateTime.UtcNow < deadline, "the commit of offset 4 never showed: " + lags);
                await Task.Delay(100);
            }

            var p0 = lags.GetProperty("data").EnumerateArray().Single(l => l.GetProperty("partition_id").GetInt32() == 0);
            Assert.Equal(4, p0.GetProperty("log_end_offset").GetInt64());
            Assert.Equal(0, p0.GetProperty("lag").GetInt64());
            Assert.Equal("v3-client", p0.GetProperty("client_id").GetString());
            Assert.False(string.IsNullOrEmpty(p0.GetProperty("consumer_id").GetString()));

            var group = await GetAsync(groupPath);
            Assert.Equal("STABLE", group.GetProperty("state").GetString());
            Assert.Equal("range", group.GetProperty("partition_assignor").GetString());
            Assert.Contains("v3-group", (await GetAsync($"/v3/clusters/{_cluster}/consumer-groups")).GetProperty("data").EnumerateArray().Select(g => g.GetProperty("consumer_group_id").GetString()));
            await consumer.StopAsync();
        }

        // Stopped, then 3 more records: the lag shows them, the group is empty.
        produce = await ExternalTool.RunAsync(kcat, ["-b", _silo.Bootstrap, "-P", "-t", "v3-lag", "-p", "0"], "e\nf\ng\n", TimeSpan.FromSeconds(60));
        Assert.True(produce.ExitCode == 0, produce.Stderr);
        var summary = await GetAsync($"/v3/clusters/{_cluster}/consumer-groups/v3-group/lag-summary");
        Assert.Equal("KafkaConsumerGroupLagSummary", summary.GetProperty("kind").GetString());
        Assert.Equal(3, summary.GetProperty("max_lag").GetInt64());
        Assert.Equal(3, summary.GetProperty("total_lag").GetInt64());
        Assert.Equal("v3-lag", summary.GetProperty("max_lag_topic_name").GetString());
        Assert.Equal(0, summary.GetProperty("max_lag_partition_id").GetInt32());
        Assert.Equal("EMPTY", (await GetAsync($"/v3/clusters/{_cluster}/consumer-groups/v3-group")).GetProperty("state").GetString());

        await AssertProblemAsync(await _http.GetAsync(new Uri($"/v3/clusters/{_cluster}/consumer-groups/nobody/lags", UriKind.Relative)), HttpStatusCode.NotFound, 404);
        await AssertProblemAsync(await _http.GetAsync(new Uri($"/v3/clusters/{_cluster}/consumer-groups/nobody", UriKind.Relative)), HttpStatusCode.NotFound, 404);
    }
}
