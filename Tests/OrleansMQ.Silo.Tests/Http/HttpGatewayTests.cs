using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Tests.Broker;
using OrleansMQ.Silo.Tests.Interop;
using Xunit;

namespace OrleansMQ.Silo.Tests.Http;

/// <summary>The HTTP gateway against a real in-process silo: health, metrics, REST Proxy v2 produce, browse API, errors.</summary>
public sealed partial class HttpGatewayTests : IAsyncLifetime, IDisposable
{
    private static Task<JsonElement> JsonAsync(HttpResponseMessage response, HttpStatusCode expected = HttpStatusCode.OK) => HttpAssert.JsonAsync(response, expected);

    private static Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, int? errorCode = null) => HttpAssert.ProblemAsync(response, status, errorCode);

    private const string JsonV2 = "application/vnd.kafka.json.v2+json";
    private const string BinaryV2 = "application/vnd.kafka.binary.v2+json";
    private TestSilo _silo = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _silo = await TestSilo.StartAsync();
        _http = new HttpClient { BaseAddress = _silo.HttpBaseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _silo.DisposeAsync();
    }

    public void Dispose() => _http?.Dispose();

    private async Task CreateTopicAsync(string name, int partitions, bool indexKeys = false)
    {
        var configs = indexKeys ? new[] { new KeyValuePair<string, string?>("orleansmq.index.keys", "true") } : [];
        var r = await _silo.Topics.CreateAsync(name, partitions, 1, configs, validateOnly: false);
        Assert.True(r.IsOk, r.Message);
    }

    private Task<HttpResponseMessage> PostAsync(string path, string body, string contentType)
    {
        var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return _http.PostAsync(new Uri(path, UriKind.Relative), content);
    }

    private async Task<JsonElement> GetJsonAsync(string path, HttpStatusCode expected = HttpStatusCode.OK) =>
        await JsonAsync(await _http.GetAsync(new Uri(path, UriKind.Relative)), expected);

    [Fact]
    public async Task Health_and_readiness()
    {
        Assert.Equal(HttpStatusCode.OK, (await _http.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);
        await _silo.Groups.WhenLoaded;
        Assert.Equal(HttpStatusCode.OK, (await _http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task Metrics_are_prometheus_text()
    {
        await CreateTopicAsync("metrics-topic", 2);
        await PostAsync("/topics/metrics-topic", """{"records":[{"value":"x"}]}""", JsonV2);
        await _silo.Groups.WhenLoaded;
        var response = await _http.GetAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        string text = await response.Content.ReadAsStringAsync();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            Assert.True(line.StartsWith("# HELP ", StringComparison.Ordinal) || line.StartsWith("# TYPE ", StringComparison.Ordinal) || SampleLine().IsMatch(line), "bad line: " + line);
        }

        // A series without labels is written "name{} value" by the exporter (docs/http.md); labels in name order.
        Assert.Contains("orleansmq_commitlog_committed_position{} ", text, StringComparison.Ordinal);
        Assert.Contains("orleansmq_commitlog_segments{} ", text, StringComparison.Ordinal);
        Assert.Contains("orleansmq_kafka_bytes_in_total{} ", text, StringComparison.Ordinal);
        Assert.Contains("orleansmq_partition_log_end_offset{partition=\"1\",topic=\"metrics-topic\"} ", text, StringComparison.Ordinal);
        Assert.Contains("orleansmq_http_requests_total{method=\"POST\",status=\"200\"}", text, StringComparison.Ordinal);
    }

    // Values as the exporter writes them: integers, or doubles in their shortest form (1.5E-05).
    [GeneratedRegex(@"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*=""([^""\\]|\\.)*"",?)*\})? -?[0-9]+(\.[0-9]+)?(E[-+]?[0-9]+)?$")]
    private static partial Regex SampleLine();

    [Fact]
    public async Task Json_produce_answers_like_rest_proxy_and_keyed_records_follow_murmur2()
    {
        await CreateTopicAsync("rest-json", 4);
        var response = await PostAsync("/topics/rest-json", """{"records":[{"key":"k1","value":{"a":1}},{"value":[1,2]},{"key":"k1","value":"again"}]}""", JsonV2);
        Assert.Equal("application/vnd.kafka.v2+json", response.Content.Headers.ContentType?.MediaType);
        var json = await JsonAsync(response);
        Assert.Equal(JsonValueKind.Null, json.GetProperty("key_schema_id").ValueKind);
        Assert.Equal(JsonValueKind.Null, json.GetProperty("value_schema_id").ValueKind);
        var offsets = json.GetProperty("offsets").EnumerateArray().ToList();
        Assert.Equal(3, offsets.Count);
        int expected = Murmur2.Partition(Encoding.UTF8.GetBytes("\"k1\""), 4);
        Assert.Equal(expected, offsets[0].GetProperty("partition").GetInt32());
        Assert.Equal(expected, offsets[2].GetProperty("partition").GetInt32());
        Assert.Equal(offsets[0].GetProperty("offset").GetInt64() + 1, offsets[2].GetProperty("offset").GetInt64());
        Assert.Equal(JsonValueKind.Null, offsets[0].GetProperty("error_code").ValueKind);

        // Read back through the browse API: the JSON value is stored as its JSON text.
        var messages = await GetJsonAsync($"/orleansmq/v1/topics/rest-json/partitions/{expected}/messages?offset=0&count=10");
        var records = messages.GetProperty("records").EnumerateArray().ToList();
        Assert.Equal(2, records.Count);
        Assert.Equal("\"k1\"", records[0].GetProperty("key_text").GetString());
        Assert.Equal("{\"a\":1}", records[0].GetProperty("value_text").GetString());
        Assert.Equal(Convert.ToBase64String(Encoding.UTF8.GetBytes("{\"a\":1}")), records[0].GetProperty("value").GetString());
    }

    [Fact]
    public async Task Binary_values_decode_exactly_with_json_escapes_and_wrapped_lines()
    {
        await CreateTopicAsync("rest-b64", 1);
        // "////" is 0xFF 0xFF 0xFF, written with JSON's optional "\/" escape; "aGVs\nbG8=" is "hello" wrapped
        // as MIME base64 is; a key-less record keeps a null key (not an empty one).
        var json = await JsonAsync(await PostAsync("/topics/rest-b64", """{"records":[{"value":"\/\/\/\/"},{"value":"aGVs\nbG8="},{"key":"","value":"AA=="}]}""", BinaryV2));
        Assert.Equal([0L, 1, 2], json.GetProperty("offsets").EnumerateArray().Select(o => o.GetProperty("offset").GetInt64()));
        var records = (await GetJsonAsync("/orleansmq/v1/topics/rest-b64/partitions/0/messages?offset=0&count=3")).GetProperty("records").EnumerateArray().ToList();
        Assert.Equal("////", records[0].GetProperty("value").GetString());
        Assert.Equal("hello", records[1].GetProperty("value_text").GetString());
        Assert.Equal(JsonValueKind.Null, records[0].GetProperty("key").ValueKind);
        Assert.Equal("", records[2].GetProperty("key").GetString());
        Assert.Equal("AA==", records[2].GetProperty("value").GetString());
    }

    [Fact]
    public async Task Binary_produce_to_a_partition_and_offsets()
    {
        await CreateTopicAsync("rest-bin", 3);
        string body = $$"""{"records":[{"key":"{{Convert.ToBase64String([1, 2])}}","value":"{{Convert.ToBase64String([0xff, 0])}}"},{"value":"{{Convert.ToBase64String("hi"u8.ToArray())}}"}]}""";
        var json = await JsonAsync(await PostAsync("/topics/rest-bin/partitions/2", body, BinaryV2));
        Assert.All(json.GetProperty("offsets").EnumerateArray(), o => Assert.Equal(2, o.GetProperty("partition").GetInt32()));
        var offsets = await GetJsonAsync("/orleansmq/v1/topics/rest-bin/partitions/2/offsets");
        Assert.Equal(0, offsets.GetProperty("log_start_offset").GetInt64());
        Assert.Equal(2, offsets.GetProperty("high_watermark").GetInt64());
        var records = (await GetJsonAsync("/orleansmq/v1/topics/rest-bin/partitions/2/messages?offset=0&count=5")).GetProperty("records").EnumerateArray().ToList();
        Assert.Equal(Convert.ToBase64String([0xff, 0]), records[0].GetProperty("value").GetString());
        Assert.Equal(JsonValueKind.Null, records[0].GetProperty("value_text").ValueKind); // not UTF-8
        Assert.Equal("hi", records[1].GetProperty("value_text").GetString());
        Assert.Equal(JsonValueKind.Null, records[1].GetProperty("key").ValueKind);
    }

    [Fact]
    public async Task Null_keys_round_robin()
    {
        await CreateTopicAsync("rest-rr", 3);
        var json = await JsonAsync(await PostAsync("/topics/rest-rr", """{"records":[{"value":1},{"value":2},{"value":3}]}""", JsonV2));
        Assert.Equal(3, json.GetProperty("offsets").EnumerateArray().Select(o => o.GetProperty("partition").GetInt32()).Distinct().Count());
    }

    [Fact]
    public async Task Topics_list_and_metadata()
    {
        await CreateTopicAsync("rest-meta", 2);
        var list = await GetJsonAsync("/topics");
        Assert.Contains("rest-meta", list.EnumerateArray().Select(e => e.GetString()));
        var meta = await GetJsonAsync("/topics/rest-meta");
        Assert.Equal("rest-meta", meta.GetProperty("name").GetString());
        Assert.Equal(JsonValueKind.Object, meta.GetProperty("configs").ValueKind);
        var partitions = meta.GetProperty("partitions").EnumerateArray().ToList();
        Assert.Equal(2, partitions.Count);
        Assert.Equal(0, partitions[1].GetProperty("leader").GetInt32());
        Assert.True(partitions[1].GetProperty("replicas")[0].GetProperty("leader").GetBoolean());
        await AssertProblemAsync(await _http.GetAsync(new Uri("/topics/nope", UriKind.Relative)), HttpStatusCode.NotFound, 40401);

        var partitionList = await GetJsonAsync("/topics/rest-meta/partitions");
        Assert.Equal([0, 1], partitionList.EnumerateArray().Select(p => p.GetProperty("partition").GetInt32()));
        var one = await GetJsonAsync("/topics/rest-meta/partitions/1");
        Assert.Equal(1, one.GetProperty("partition").GetInt32());
        Assert.Equal(_silo.Identity.NodeId, one.GetProperty("leader").GetInt32());
        Assert.True(one.GetProperty("replicas")[0].GetProperty("in_sync").GetBoolean());
        await AssertProblemAsync(await _http.GetAsync(new Uri("/topics/rest-meta/partitions/2", UriKind.Relative)), HttpStatusCode.NotFound, 40402);
        await AssertProblemAsync(await _http.GetAsync(new Uri("/topics/nope/partitions", UriKind.Relative)), HttpStatusCode.NotFound, 40401);
        var brokers = await GetJsonAsync("/brokers");
        Assert.Equal([_silo.Identity.NodeId], brokers.GetProperty("brokers").EnumerateArray().Select(b => b.GetInt32()));
    }

    [Fact]
    public async Task Produce_to_a_new_topic_follows_the_auto_create_setting()
    {
        // On (the default, as Kafka's auto.create.topics.enable): the topic appears with the default partitions.
        var json = await JsonAsync(await PostAsync("/topics/rest-auto", """{"records":[{"value":"first"}]}""", JsonV2));
        Assert.Equal(0, json.GetProperty("offsets")[0].GetProperty("offset").GetInt64());
        var meta = await GetJsonAsync("/topics/rest-auto");
        Assert.Equal(_silo.Topics.DefaultPartitions, meta.GetProperty("partitions").GetArrayLength());

        // Off: 404 40401 and no topic.
        await using var strict = await TestSilo.StartAsync(new() { ["OrleansMQ:Broker:AutoCreateTopics"] = "false" });
        using var http = new HttpClient { BaseAddress = strict.HttpBaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        using var content = new StringContent("""{"records":[{"value":1}]}""", Encoding.UTF8);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(JsonV2);
        await AssertProblemAsync(await http.PostAsync(new Uri("/topics/missing-topic", UriKind.Relative), content), HttpStatusCode.NotFound, 40401);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(new Uri("/topics/missing-topic", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task Bad_input_is_a_problem_and_nothing_is_half_written()
    {
        await CreateTopicAsync("rest-bad", 1);
        await AssertProblemAsync(await PostAsync("/topics/rest-bad", "{not json", JsonV2), HttpStatusCode.BadRequest, 400);
        await AssertProblemAsync(await PostAsync("/topics/rest-bad", """{"nope":1}""", JsonV2), HttpStatusCode.UnprocessableEntity, 42201);
        await AssertProblemAsync(await PostAsync("/topics/bad%20name!", """{"records":[{"value":1}]}""", JsonV2), HttpStatusCode.UnprocessableEntity, 42202);
        await AssertProblemAsync(await PostAsync("/topics/rest-bad/partitions/5", """{"records":[{"value":1}]}""", JsonV2), HttpStatusCode.NotFound, 40402);
        await AssertProblemAsync(await PostAsync("/topics/rest-bad", """{"records":[{"value":"aGk="},{"value":"!!notbase64"}]}""", BinaryV2), HttpStatusCode.UnprocessableEntity, 42205);
        await AssertProblemAsync(await PostAsync("/topics/rest-bad", """{"records":[]}""", "text/plain"), HttpStatusCode.UnsupportedMediaType, 415);
        string big = """{"records":[{"value":" """ + new string('x', 11 << 20) + """ "}]}""";
        // Expect: 100-continue, as curl sends for large bodies: the 413 comes before the body is sent.
        using (var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/topics/rest-bad", UriKind.Relative)) { Content = new StringContent(big, Encoding.UTF8) })
        {
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(JsonV2);
            request.Headers.ExpectContinue = true;
            await AssertProblemAsync(await _http.SendAsync(request), HttpStatusCode.RequestEntityTooLarge, 413);
        }

        var offsets = await GetJsonAsync("/orleansmq/v1/topics/rest-bad/partitions/0/offsets");
        Assert.Equal(0, offsets.GetProperty("high_watermark").GetInt64()); // the good first record of the bad base64 request was not appended

        await AssertProblemAsync(await _http.GetAsync(new Uri("/orleansmq/v1/topics/nope/partitions/0/offsets", UriKind.Relative)), HttpStatusCode.NotFound);
        await AssertProblemAsync(await _http.GetAsync(new Uri("/orleansmq/v1/topics/rest-bad/partitions/9/offsets", UriKind.Relative)), HttpStatusCode.NotFound);
        await AssertProblemAsync(await _http.GetAsync(new Uri("/orleansmq/v1/topics/rest-bad/partitions/0/messages?offset=abc", UriKind.Relative)), HttpStatusCode.BadRequest);
        await AssertProblemAsync(await _http.GetAsync(new Uri("/orleansmq/v1/topics/rest-bad/partitions/0/messages?offset=99", UriKind.Relative)), HttpStatusCode.RequestedRangeNotSatisfiable);
        await AssertProblemAsync(await _http.GetAsync(new Uri("/orleansmq/v1/topics/rest-bad/messages?from=yesterday", UriKind.Relative)), HttpStatusCode.BadRequest);
        await AssertProblemAsync(await _http.GetAsync(new Uri("/orleansmq/v1/topics/rest-bad/messages", UriKind.Relative)), HttpStatusCode.BadRequest);
        await AssertProblemAsync(await _http.GetAsync(new Uri("/orleansmq/v1/topics/rest-bad/messages?key=a", UriKind.Relative)), HttpStatusCode.Conflict);
        await _silo.Groups.WhenLoaded;
        await AssertProblemAsync(await _http.GetAsync(new Uri("/orleansmq/v1/groups/no-such-group/lag", UriKind.Relative)), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Time_range_returns_exactly_the_records_in_range()
    {
        await CreateTopicAsync("rest-time", 2);
        var stamps = new List<(DateTimeOffset Before, DateTimeOffset After)>();
        for (int i = 0; i < 3; i++)
        {
            var before = DateTimeOffset.UtcNow;
            await JsonAsync(await PostAsync("/topics/rest-time", $$"""{"records":[{"value":"batch{{i}}-a"},{"value":"batch{{i}}-b"}]}""", JsonV2));
            stamps.Add((before, DateTimeOffset.UtcNow));
            await Task.Delay(60);
        }

        // Exactly batch 1: from just before it to just after it.
        string from = stamps[1].Before.AddMilliseconds(-1).ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        string to = stamps[1].After.AddMilliseconds(1).ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        var json = await GetJsonAsync($"/orleansmq/v1/topics/rest-time/messages?from={Uri.EscapeDataString(from)}&to={Uri.EscapeDataString(to)}&limit=100");
        var values = json.GetProperty("records").EnumerateArray().Select(r => r.GetProperty("value_text").GetString()).OrderBy(v => v, StringComparer.Ordinal).ToList();
        Assert.Equal(["\"batch1-a\"", "\"batch1-b\""], values);
    }

    [Fact]
    public async Task Rest_produced_record_is_consumed_by_kcat_and_kcat_keyed_record_is_found_by_key()
    {
        string kcat = ExternalTool.Require("kcat");
        await CreateTopicAsync("rest-kcat", 2, indexKeys: true);
        await JsonAsync(await PostAsync("/topics/rest-kcat/partitions/0", $$"""{"records":[{"key":"{{Convert.ToBase64String("rk"u8.ToArray())}}","value":"{{Convert.ToBase64String("from rest"u8.ToArray())}}"}]}""", BinaryV2));
        var consumed = await ExternalTool.RunAsync(kcat, ["-b", _silo.Bootstrap, "-C", "-t", "rest-kcat", "-p", "0", "-o", "beginning", "-e", "-q", "-f", "%k|%s\n"], null, TimeSpan.FromSeconds(60));
        Assert.True(consumed.ExitCode == 0, consumed.Stderr);
        Assert.Equal(["rk|from rest"], consumed.Lines);

        var produced = await ExternalTool.RunAsync(kcat, ["-b", _silo.Bootstrap, "-P", "-t", "rest-kcat", "-K:"], "order-42:shipped\nother:x\n", TimeSpan.FromSeconds(60));
        Assert.True(produced.ExitCode == 0, produced.Stderr);
        var json = await GetJsonAsync("/orleansmq/v1/topics/rest-kcat/messages?key=order-42");
        var hits = json.GetProperty("records").EnumerateArray().ToList();
        Assert.Single(hits);
        Assert.Equal("shipped", hits[0].GetProperty("value_text").GetString());
        Assert.Equal("order-42", hits[0].GetProperty("key_text").GetString());
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("snappy")]
    [InlineData("lz4")]
    [InlineData("zstd")]
    public async Task Keys_inside_compressed_kcat_batches_are_found_by_key(string codec)
    {
        string kcat = ExternalTool.Require("kcat");
        string topic = "rest-z-" + codec;
        await CreateTopicAsync(topic, 1, indexKeys: true);
        // One compressed batch (linger lets kcat put all three in it) with the key in the middle.
        var produced = await ExternalTool.RunAsync(kcat, ["-b", _silo.Bootstrap, "-P", "-t", topic, "-z", codec, "-K:", "-X", "linger.ms=200"],
            "a:first\norder-7:packed " + codec + "\nb:last\n", TimeSpan.FromSeconds(60));
        Assert.True(produced.ExitCode == 0, produced.Stderr);

        var json = await GetJsonAsync($"/orleansmq/v1/topics/{topic}/messages?key=order-7");
        var hits = json.GetProperty("records").EnumerateArray().ToList();
        Assert.Single(hits);
        Assert.Equal("packed " + codec, hits[0].GetProperty("value_text").GetString());
        Assert.Equal(1, hits[0].GetProperty("offset").GetInt64());
    }

    [Fact]
    public async Task Groups_and_lag()
    {
        await CreateTopicAsync("rest-lag", 1);
        await JsonAsync(await PostAsync("/topics/rest-lag", """{"records":[{"value":1},{"value":2},{"value":3}]}""", JsonV2));
        await _silo.Groups.WhenLoaded;
        var (error, _) = await _silo.Groups.CommitOffsetsAsync("http-group", "", null, -1, [new OrleansMQ.Silo.Groups.OffsetCommitItem("rest-lag", 0, 1, -1, null)]);
        Assert.Equal(OrleansMQ.Silo.Groups.GroupError.None, error);
        var groups = await GetJsonAsync("/orleansmq/v1/groups");
        Assert.Contains("http-group", groups.EnumerateArray().Select(g => g.GetProperty("group_id").GetString()));
        var lag = await GetJsonAsync("/orleansmq/v1/groups/http-group/lag");
        Assert.Equal(2, lag.GetProperty("total_lag").GetInt64());
        var p = lag.GetProperty("partitions")[0];
        Assert.Equal(1, p.GetProperty("committed_offset").GetInt64());
        Assert.Equal(3, p.GetProperty("log_end_offset").GetInt64());
        string metrics = await _http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("orleansmq_consumer_group_lag{group=\"http-group\",partition=\"0\",topic=\"rest-lag\"} 2", metrics, StringComparison.Ordinal);
    }
}
