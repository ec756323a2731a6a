using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using OrleansMQ.Client;
using OrleansMQ.Client.Consumer;
using OrleansMQ.Silo.Tests.Broker;
using OrleansMQ.Silo.Tests.Interop;
using Xunit;

namespace OrleansMQ.Silo.Tests.Http;

/// <summary>
/// REST Proxy v2 consumer instances against a real silo: life cycle, group membership shared with other REST
/// instances, our managed consumer and kcat, commits and resumption, seeks, manual assignment, errors, expiry.
/// </summary>
public sealed class RestConsumerTests : IAsyncLifetime, IDisposable
{
    private static Task<JsonElement> JsonAsync(HttpResponseMessage response, HttpStatusCode expected = HttpStatusCode.OK) => HttpAssert.JsonAsync(response, expected);

    private static Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, int? errorCode = null) => HttpAssert.ProblemAsync(response, status, errorCode);

    private const string V2 = "application/vnd.kafka.v2+json";
    private const string JsonV2 = "application/vnd.kafka.json.v2+json";
    private const string BinaryV2 = "application/vnd.kafka.binary.v2+json";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private TestSilo _silo = null!;
    private HttpClient _http = null!;

    public Task InitializeAsync() => StartAsync(new());

    private async Task StartAsync(Dictionary<string, string?> overrides)
    {
        overrides["OrleansMQ:Groups:InitialRebalanceDelayMs"] = "0";
        _silo = await TestSilo.StartAsync(overrides);
        _http = new HttpClient { BaseAddress = _silo.HttpBaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        await _silo.Groups.WhenLoaded;
    }

    private async Task RestartWithAsync(Dictionary<string, string?> overrides)
    {
        await DisposeAsync();
        await StartAsync(overrides);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _silo.DisposeAsync();
    }

    public void Dispose() => _http?.Dispose();

    // ---- helpers ----

    private async Task CreateTopicAsync(string name, int partitions)
    {
        var r = await _silo.Topics.CreateAsync(name, partitions, 1, [], validateOnly: false);
        Assert.True(r.IsOk, r.Message);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? body = null, string contentType = V2, string? accept = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        if (accept is not null)
        {
            request.Headers.Accept.ParseAdd(accept);
        }

        return await _http.SendAsync(request);
    }

    private static async Task ExpectAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"expected {(int)expected}, got {(int)response.StatusCode}: {text}");
    }

    private async Task<string> CreateInstanceAsync(string group, string name, string format = "binary", string reset = "earliest", bool autoCommit = false)
    {
        var response = await SendAsync(HttpMethod.Post, $"/consumers/{group}", $$"""{"name":"{{name}}","format":"{{format}}","auto.offset.reset":"{{reset}}","auto.commit.enable":"{{(autoCommit ? "true" : "false")}}"}""");
        Assert.Equal(V2, response.Content.Headers.ContentType?.MediaType);
        var json = await JsonAsync(response);
        Assert.Equal(name, json.GetProperty("instance_id").GetString());
        string baseUri = json.GetProperty("base_uri").GetString()!;
        Assert.Equal(new Uri(_silo.HttpBaseAddress, $"/consumers/{group}/instances/{name}"), new Uri(baseUri));
        return $"/consumers/{group}/instances/{name}";
    }

    private async Task SubscribeAsync(string instance, params string[] topics) =>
        await ExpectAsync(await SendAsync(HttpMethod.Post, instance + "/subscription", JsonSerializer.Serialize(new { topics })), HttpStatusCode.NoContent);

    private sealed record Rec(string Topic, int Partition, long Offset, string? Key, string? Value);

    private async Task<List<Rec>> RecordsOnceAsync(string instance, string accept = BinaryV2, int timeoutMs = 500, long? maxBytes = null)
    {
        string query = $"?timeout={timeoutMs}" + (maxBytes is { } m ? $"&max_bytes={m}" : "");
        var response = await SendAsync(HttpMethod.Get, instance + "/records" + query, accept: accept);
        var json = await JsonAsync(response);
        Assert.Equal(accept, response.Content.Headers.ContentType?.MediaType);
        return json.EnumerateArray().Select(r => new Rec(
            r.GetProperty("topic").GetString()!,
            r.GetProperty("partition").GetInt32(),
            r.GetProperty("offset").GetInt64(),
            Decode(r.GetProperty("key"), accept),
            Decode(r.GetProperty("value"), accept))).ToList();
    }

    private static string? Decode(JsonElement e, string accept) =>
        e.ValueKind == JsonValueKind.Null ? null : accept == BinaryV2 ? Encoding.UTF8.GetString(Convert.FromBase64String(e.GetString()!)) : e.GetRawText();

    /// <summary>Fetches until <paramref name="count"/> records came (more fails), within <see cref="Wait"/>.</summary>
    private async Task<List<Rec>> RecordsAsync(string instance, int count, string accept = BinaryV2)
    {
        var all = new List<Rec>();
        var clock = Stopwatch.StartNew();
        while (all.Count < count)
        {
            Assert.True(clock.Elapsed < Wait, $"{instance}: only {all.Count} of {count} records in {Wait}");
            all.AddRange(await RecordsOnceAsync(instance, accept));
        }

        Assert.Equal(count, all.Count);
        return all;
    }

    private async Task ProduceAsync(string topic, int partition, params (string? Key, string Value)[] records)
    {
        string body = JsonSerializer.Serialize(new
        {
            records = records.Select(r => new { key = r.Key is null ? null : Convert.ToBase64String(Encoding.UTF8.GetBytes(r.Key)), value = Convert.ToBase64String(Encoding.UTF8.GetBytes(r.Value)) }),
        });
        await JsonAsync(await SendAsync(HttpMethod.Post, $"/topics/{topic}/partitions/{partition}", body, BinaryV2));
    }

    private async Task<List<(string Topic, int Partition)>> AssignmentAsync(string instance)
    {
        var json = await JsonAsync(await SendAsync(HttpMethod.Get, instance + "/assignments"));
        return json.GetProperty("partitions").EnumerateArray().Select(p => (p.GetProperty("topic").GetString()!, p.GetProperty("partition").GetInt32())).ToList();
    }

    private async Task<Dictionary<int, long>> CommittedAsync(string instance, string topic, int partitions)
    {
        string body = JsonSerializer.Serialize(new { partitions = Enumerable.Range(0, partitions).Select(p => new { topic, partition = p }) });
        var json = await JsonAsync(await SendAsync(HttpMethod.Get, instance + "/offsets", body));
        return json.GetProperty("offsets").EnumerateArray().ToDictionary(o => o.GetProperty("partition").GetInt32(), o => o.GetProperty("offset").GetInt64());
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < Wait, $"{what} did not happen in {Wait}");
            await Task.Delay(100);
        }
    }

    // ---- tests ----

    [Fact]
    public async Task Life_cycle_create_subscribe_read_commit_delete()
    {
        await CreateTopicAsync("rc-life", 2);
        await ProduceAsync("rc-life", 0, ("k0", "v0"), ("k1", "v1"));
        await ProduceAsync("rc-life", 1, (null, "v2"));
        string instance = await CreateInstanceAsync("g-life", "c1");
        await SubscribeAsync(instance, "rc-life");
        var subscription = await JsonAsync(await SendAsync(HttpMethod.Get, instance + "/subscription"));
        Assert.Equal(["rc-life"], subscription.GetProperty("topics").EnumerateArray().Select(t => t.GetString()));

        var records = await RecordsAsync(instance, 3);
        Assert.Equal(
            [new Rec("rc-life", 0, 0, "k0", "v0"), new Rec("rc-life", 0, 1, "k1", "v1"), new Rec("rc-life", 1, 0, null, "v2")],
            records.OrderBy(r => r.Partition).ThenBy(r => r.Offset));
        Assert.Equal([("rc-life", 0), ("rc-life", 1)], (await AssignmentAsync(instance)).Order());

        // Nothing committed yet (auto commit off); an empty commit commits everything returned.
        Assert.Empty(await CommittedAsync(instance, "rc-life", 2));
        await ExpectAsync(await SendAsync(HttpMethod.Post, instance + "/offsets"), HttpStatusCode.OK);
        Assert.Equal(new Dictionary<int, long> { [0] = 2, [1] = 1 }, await CommittedAsync(instance, "rc-life", 2));
        var lag = await _silo.Groups.DescribeLagAsync("g-life", CancellationToken.None);
        Assert.Equal(0, lag!.TotalLag);

        Assert.Empty(await RecordsOnceAsync(instance, timeoutMs: 200));
        await ExpectAsync(await SendAsync(HttpMethod.Delete, instance + "/subscription"), HttpStatusCode.NoContent);
        Assert.Empty((await JsonAsync(await SendAsync(HttpMethod.Get, instance + "/subscription"))).GetProperty("topics").EnumerateArray());
        await ExpectAsync(await SendAsync(HttpMethod.Delete, instance), HttpStatusCode.NoContent);
        await AssertProblemAsync(await SendAsync(HttpMethod.Get, instance + "/subscription"), HttpStatusCode.NotFound, 40403);
        await AssertProblemAsync(await SendAsync(HttpMethod.Delete, instance), HttpStatusCode.NotFound, 40403);
    }

    [Fact]
    public async Task Json_instance_embeds_json_and_refuses_binary_accept()
    {
        await CreateTopicAsync("rc-json", 1);
        await JsonAsync(await SendAsync(HttpMethod.Post, "/topics/rc-json", """{"records":[{"key":"k","value":{"a":[1,2]}},{"value":null,"key":7}]}""", JsonV2));
        string instance = await CreateInstanceAsync("g-json", "j1", format: "json");
        await SubscribeAsync(instance, "rc-json");
        await AssertProblemAsync(await SendAsync(HttpMethod.Get, instance + "/records", accept: BinaryV2), HttpStatusCode.NotAcceptable, 40601);
        var records = await RecordsAsync(instance, 2, JsonV2);
        Assert.Equal([new Rec("rc-json", 0, 0, "\"k\"", "{\"a\":[1,2]}"), new Rec("rc-json", 0, 1, "7", null)], records);

        // A record that is not JSON stops a json instance (as REST Proxy's deserializer does) until it seeks past it.
        await ProduceAsync("rc-json", 0, (null, "plain text"));
        await JsonAsync(await SendAsync(HttpMethod.Post, "/topics/rc-json", """{"records":[{"value":{"ok":true}}]}""", JsonV2));
        await UntilAsync(async () =>
        {
            var response = await SendAsync(HttpMethod.Get, instance + "/records?timeout=300", accept: JsonV2);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                Assert.Equal("[]", await response.Content.ReadAsStringAsync());
                return false;
            }

            await AssertProblemAsync(response, HttpStatusCode.InternalServerError, 50002);
            return true;
        }, "the non-JSON record refused");
        await AssertProblemAsync(await SendAsync(HttpMethod.Get, instance + "/records", accept: JsonV2), HttpStatusCode.InternalServerError, 50002);
        await ExpectAsync(await SendAsync(HttpMethod.Post, instance + "/positions", """{"offsets":[{"topic":"rc-json","partition":0,"offset":3}]}"""), HttpStatusCode.NoContent);
        Assert.Equal([new Rec("rc-json", 0, 3, null, "{\"ok\":true}")], await RecordsAsync(instance, 1, JsonV2));
    }

    [Fact]
    public async Task Kcat_produced_records_are_read_over_rest_and_kcat_resumes_after_the_rest_commit()
    {
        string kcat = ExternalTool.Require("kcat");
        await CreateTopicAsync("rc-kcat", 1);
        var produced = await ExternalTool.RunAsync(kcat, ["-b", _silo.Bootstrap, "-P", "-t", "rc-kcat", "-p", "0", "-K:"], "a:one\nb:two\nc:three\n", Wait);
        Assert.True(produced.ExitCode == 0, produced.Stderr);

        string instance = await CreateInstanceAsync("g-kcat", "r1");
        await SubscribeAsync(instance, "rc-kcat");
        var records = await RecordsAsync(instance, 3);
        Assert.Equal([new Rec("rc-kcat", 0, 0, "a", "one"), new Rec("rc-kcat", 0, 1, "b", "two"), new Rec("rc-kcat", 0, 2, "c", "three")], records);

        // Commit up to "two" (REST Proxy commits offset + 1), leave, and let kcat continue the group.
        await ExpectAsync(await SendAsync(HttpMethod.Post, instance + "/offsets", """{"offsets":[{"topic":"rc-kcat","partition":0,"offset":1}]}"""), HttpStatusCode.OK);
        Assert.Equal(new Dictionary<int, long> { [0] = 2 }, await CommittedAsync(instance, "rc-kcat", 1));
        await ExpectAsync(await SendAsync(HttpMethod.Delete, instance), HttpStatusCode.NoContent);

        await using var consumer = ExternalTool.StartCollecting(kcat, ["-b", _silo.Bootstrap, "-G", "g-kcat", "-u", "-f", "%o %k %s\n", "-X", "auto.offset.reset=earliest", "rc-kcat"]);
        await consumer.WaitUntilAsync(lines => lines.Count >= 1, Wait, "kcat reading the group");
        await Task.Delay(500);
        Assert.Equal(["2 c three"], consumer.Lines);
    }

    [Fact]
    public async Task Two_rest_instances_split_the_partitions()
    {
        await CreateTopicAsync("rc-split", 4);
        string a = await CreateInstanceAsync("g-split", "a");
        string b = await CreateInstanceAsync("g-split", "b");
        await SubscribeAsync(a, "rc-split");
        await SubscribeAsync(b, "rc-split");
        List<(string, int)> ownedA = [], ownedB = [];
        await UntilAsync(async () =>
        {
            ownedA = await AssignmentAsync(a);
            ownedB = await AssignmentAsync(b);
            return ownedA.Count == 2 && ownedB.Count == 2;
        }, "a 2+2 split");
        Assert.Equal(Enumerable.Range(0, 4), ownedA.Concat(ownedB).Select(p => p.Item2).Order());

        for (int p = 0; p < 4; p++)
        {
            await ProduceAsync("rc-split", p, (null, "p" + p));
        }

        var readA = await RecordsAsync(a, 2);
        var readB = await RecordsAsync(b, 2);
        Assert.Equal(ownedA.Select(p => p.Item2).Order(), readA.Select(r => r.Partition).Order());
        Assert.Equal(ownedB.Select(p => p.Item2).Order(), readB.Select(r => r.Partition).Order());
        Assert.All(readA.Concat(readB), r => Assert.Equal("p" + r.Partition, r.Value));
    }

    [Fact]
    public async Task A_rest_instance_and_the_managed_consumer_share_a_group()
    {
        await CreateTopicAsync("rc-mixed", 4);
        await using var managed = new KafkaConsumer(new ConsumerOptions
        {
            Client = new ClientOptions { BootstrapServers = _silo.Bootstrap, ClientId = "managed" },
            GroupId = "g-mixed",
            AutoOffsetReset = AutoOffsetReset.Earliest,
            HeartbeatInterval = TimeSpan.FromMilliseconds(500),
        });
        managed.Subscribe(["rc-mixed"]);
        await UntilAsync(() => Task.FromResult(managed.Assignment.Count == 4), "the managed consumer owning all partitions");

        string rest = await CreateInstanceAsync("g-mixed", "rest");
        await SubscribeAsync(rest, "rc-mixed");
        List<(string, int)> restOwned = [];
        await UntilAsync(async () =>
        {
            restOwned = await AssignmentAsync(rest);
            return restOwned.Count == 2 && managed.Assignment.Count == 2;
        }, "a 2+2 split between REST and the managed consumer");
        Assert.Empty(restOwned.Select(p => p.Item2).Intersect(managed.Assignment.Select(p => p.Partition)));

        // The REST member leaving gives its partitions back to the managed consumer.
        await ExpectAsync(await SendAsync(HttpMethod.Delete, rest), HttpStatusCode.NoContent);
        await UntilAsync(() => Task.FromResult(managed.Assignment.Count == 4), "the managed consumer owning all partitions again");
    }

    [Fact]
    public async Task A_rest_instance_and_a_kcat_group_consumer_share_the_partitions()
    {
        string kcat = ExternalTool.Require("kcat");
        await CreateTopicAsync("rc-kcat-group", 4);
        string rest = await CreateInstanceAsync("g-kcat-share", "rest");
        await SubscribeAsync(rest, "rc-kcat-group");
        await using var consumer = ExternalTool.StartCollecting(kcat,
        [
            "-b", _silo.Bootstrap, "-G", "g-kcat-share", "-u", "-f", "%p %o %s\n",
            "-X", "client.id=kc", "-X", "auto.offset.reset=earliest", "-X", "heartbeat.interval.ms=500", "rc-kcat-group",
        ]);
        var balanced = await GroupInterop.WaitBalancedAsync(_silo, "g-kcat-share", "rc-kcat-group", 4, ["rest", "kc"], Wait);
        var owned = GroupInterop.Assignments(balanced, "rc-kcat-group");

        // The group is balanced once the leader's SyncGroup is in; the REST instance learns its
        // share from its own SyncGroup answer, a moment later: wait for it rather than race it.
        List<(string, int)> restOwned = [];
        await UntilAsync(async () =>
        {
            restOwned = await AssignmentAsync(rest);
            return restOwned.Count == owned["rest"].Length;
        }, "the REST instance holding the partitions the group gave it");
        Assert.Equal(owned["rest"], restOwned.Select(p => p.Item2).Order());

        for (int p = 0; p < 4; p++)
        {
            await ProduceAsync("rc-kcat-group", p, (null, "p" + p));
        }

        var viaRest = await RecordsAsync(rest, owned["rest"].Length);
        Assert.Equal(owned["rest"].Select(p => "p" + p), viaRest.OrderBy(r => r.Partition).Select(r => r.Value));
        await consumer.WaitUntilAsync(lines => lines.Count >= owned["kc"].Length, Wait, "kcat reading its partitions");
        Assert.Equal(owned["kc"].Select(p => $"{p} 0 p{p}"), consumer.Lines.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Concurrent_records_requests_on_one_instance_hand_out_every_record_once()
    {
        await CreateTopicAsync("rc-parallel", 2);
        const int perPartition = 300;
        for (int p = 0; p < 2; p++)
        {
            await ProduceAsync("rc-parallel", p, [.. Enumerable.Range(0, perPartition).Select(i => ((string?)null, $"{p}-{i}"))]);
        }

        string instance = await CreateInstanceAsync("g-parallel", "par");
        await SubscribeAsync(instance, "rc-parallel");
        var all = new System.Collections.Concurrent.ConcurrentBag<Rec>();
        var clock = Stopwatch.StartNew();
        while (all.Count < 2 * perPartition)
        {
            Assert.True(clock.Elapsed < Wait, $"only {all.Count} records");
            // Four requests at once, each capped at 100 bytes: serialized per instance, none loses or repeats a record.
            var batches = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => RecordsOnceAsync(instance, timeoutMs: 200, maxBytes: 100)));
            foreach (var r in batches.SelectMany(b => b))
            {
                all.Add(r);
            }
        }

        Assert.Equal(2 * perPartition, all.Count);
        foreach (var partition in all.GroupBy(r => r.Partition))
        {
            Assert.Equal(Enumerable.Range(0, perPartition).Select(i => (long)i), partition.Select(r => r.Offset).Order());
            Assert.All(partition, r => Assert.Equal($"{r.Partition}-{r.Offset}", r.Value));
        }
    }

    [Fact]
    public async Task A_new_instance_resumes_after_the_committed_offset()
    {
        await CreateTopicAsync("rc-resume", 1);
        await ProduceAsync("rc-resume", 0, (null, "m0"), (null, "m1"), (null, "m2"), (null, "m3"), (null, "m4"));
        string first = await CreateInstanceAsync("g-resume", "first");
        await SubscribeAsync(first, "rc-resume");
        Assert.Equal(5, (await RecordsAsync(first, 5)).Count);
        await ExpectAsync(await SendAsync(HttpMethod.Post, first + "/offsets", """{"offsets":[{"topic":"rc-resume","partition":0,"offset":2}]}"""), HttpStatusCode.OK);
        await ExpectAsync(await SendAsync(HttpMethod.Delete, first), HttpStatusCode.NoContent);

        string second = await CreateInstanceAsync("g-resume", "second");
        await SubscribeAsync(second, "rc-resume");
        var records = await RecordsAsync(second, 2);
        Assert.Equal([3L, 4L], records.Select(r => r.Offset));
        Assert.Equal(["m3", "m4"], records.Select(r => r.Value));
    }

    [Fact]
    public async Task Manual_assignment_and_seeks()
    {
        await CreateTopicAsync("rc-seek", 2);
        await ProduceAsync("rc-seek", 1, (null, "s0"), (null, "s1"), (null, "s2"), (null, "s3"), (null, "s4"));
        string instance = await CreateInstanceAsync("g-seek", "s", reset: "latest");
        await ExpectAsync(await SendAsync(HttpMethod.Post, instance + "/assignments", """{"partitions":[{"topic":"rc-seek","partition":1}]}"""), HttpStatusCode.NoContent);
        Assert.Equal([("rc-seek", 1)], await AssignmentAsync(instance));
        await AssertProblemAsync(await SendAsync(HttpMethod.Post, instance + "/subscription", """{"topics":["rc-seek"]}"""), HttpStatusCode.Conflict, 40903);
        await AssertProblemAsync(await SendAsync(HttpMethod.Post, instance + "/positions", """{"offsets":[{"topic":"rc-seek","partition":0,"offset":1}]}"""), HttpStatusCode.Conflict, 40903);
        await AssertProblemAsync(await SendAsync(HttpMethod.Post, instance + "/assignments", """{"partitions":[{"topic":"rc-seek","partition":9}]}"""), HttpStatusCode.NotFound, 40402);

        // latest: nothing old. Then beginning, an offset, the end.
        Assert.Empty(await RecordsOnceAsync(instance, timeoutMs: 300));
        await ExpectAsync(await SendAsync(HttpMethod.Post, instance + "/positions/beginning", """{"partitions":[{"topic":"rc-seek","partition":1}]}"""), HttpStatusCode.NoContent);
        Assert.Equal(["s0", "s1", "s2", "s3", "s4"], (await RecordsAsync(instance, 5)).Select(r => r.Value));

        await ExpectAsync(await SendAsync(HttpMethod.Post, instance + "/positions", """{"offsets":[{"topic":"rc-seek","partition":1,"offset":3}]}"""), HttpStatusCode.NoContent);
        Assert.Equal([3L, 4L], (await RecordsAsync(instance, 2)).Select(r => r.Offset));

        // max_bytes: one 2-byte value per answer; the rest stays for the next.
        await ExpectAsync(await SendAsync(HttpMethod.Post, instance + "/positions", """{"offsets":[{"topic":"rc-seek","partition":1,"offset":0}]}"""), HttpStatusCode.NoContent);
        var small = new List<Rec>();
        var clock = Stopwatch.StartNew();
        while (small.Count < 5 && clock.Elapsed < Wait)
        {
            var batch = await RecordsOnceAsync(instance, maxBytes: 2);
            Assert.True(batch.Count <= 1, $"{batch.Count} records over max_bytes=2");
            small.AddRange(batch);
        }

        Assert.Equal([0L, 1L, 2L, 3L, 4L], small.Select(r => r.Offset));

        await ExpectAsync(await SendAsync(HttpMethod.Post, instance + "/positions/beginning", """{"partitions":[{"topic":"rc-seek","partition":1}]}"""), HttpStatusCode.NoContent);
        await ExpectAsync(await SendAsync(HttpMethod.Post, instance + "/positions/end", """{"partitions":[{"topic":"rc-seek","partition":1}]}"""), HttpStatusCode.NoContent);
        Assert.Empty(await RecordsOnceAsync(instance, timeoutMs: 300));
        await ProduceAsync("rc-seek", 1, (null, "s5"));
        Assert.Equal([new Rec("rc-seek", 1, 5, null, "s5")], await RecordsAsync(instance, 1));

        // Manual assignments commit to the group too.
        await ExpectAsync(await SendAsync(HttpMethod.Post, instance + "/offsets"), HttpStatusCode.OK);
        Assert.Equal(new Dictionary<int, long> { [1] = 6 }, await CommittedAsync(instance, "rc-seek", 2));
    }

    [Fact]
    public async Task Errors_are_rest_proxy_problems_and_the_silo_keeps_serving()
    {
        await CreateTopicAsync("rc-errors", 1);
        string instance = await CreateInstanceAsync("g-errors", "e1");
        await AssertProblemAsync(await SendAsync(HttpMethod.Post, "/consumers/g-errors", """{"name":"e1"}"""), HttpStatusCode.Conflict, 40902);
        await AssertProblemAsync(await SendAsync(HttpMethod.Post, "/consumers/g-errors", "{not json"), HttpStatusCode.BadRequest, 400);
        await AssertProblemAsync(await SendAsync(HttpMethod.Post, "/consumers/g-errors", """{"format":"avro"}"""), HttpStatusCode.UnprocessableEntity, 42204);
        await AssertProblemAsync(await SendAsync(HttpMethod.Post, "/consumers/g-errors", """{"auto.offset.reset":"sometimes"}"""), HttpStatusCode.UnprocessableEntity, 42204);
        await AssertProblemAsync(await SendAsync(HttpMethod.Post, "/consumers/g-errors", """{"name":"x"}""", "text/plain"), HttpStatusCode.UnsupportedMediaType, 415);
        await AssertProblemAsync(await SendAsync(HttpMethod.Get, "/consumers/g-errors/instances/nobody/records", accept: BinaryV2), HttpStatusCode.NotFound, 40403);
        await AssertProblemAsync(await SendAsync(HttpMethod.Post, "/consumers/other-group/instances/e1/subscription", """{"topics":["rc-errors"]}"""), HttpStatusCode.NotFound, 40403);
        await AssertProblemAsync(await SendAsync(HttpMethod.Post, instance + "/subscription", "[1,"), HttpStatusCode.BadRequest, 400);
        await AssertProblemAsync(await SendAsync(HttpMethod.Post, instance + "/subscription", """{"topics":[]}"""), HttpStatusCode.UnprocessableEntity, 422);
        await AssertProblemAsync(await SendAsync(HttpMethod.Post, instance + "/subscription", """{"topics":["a"],"topic_pattern":"b"}"""), HttpStatusCode.UnprocessableEntity, 422);
        await AssertProblemAsync(await SendAsync(HttpMethod.Post, instance + "/subscription", """{"topic_pattern":"(unclosed"}"""), HttpStatusCode.UnprocessableEntity, 422);
        await AssertProblemAsync(await SendAsync(HttpMethod.Get, instance + "/records", accept: BinaryV2), HttpStatusCode.Conflict, 40903);
        await AssertProblemAsync(await SendAsync(HttpMethod.Post, instance + "/positions", """{"offsets":[{"topic":"rc-errors","partition":0,"offset":-1}]}"""), HttpStatusCode.UnprocessableEntity, 42202);
        await AssertProblemAsync(await SendAsync(HttpMethod.Post, instance + "/positions/beginning", """{"partitions":[{"topic":"nope","partition":0}]}"""), HttpStatusCode.NotFound, 40401);
        await AssertProblemAsync(await SendAsync(HttpMethod.Get, instance + "/records?timeout=soon", accept: BinaryV2), HttpStatusCode.BadRequest, 400);

        // Still serving: the same instance works after all that.
        await ExpectAsync(await SendAsync(HttpMethod.Post, instance + "/subscription", """{"topic_pattern":"rc-err.*"}"""), HttpStatusCode.NoContent);
        Assert.Equal(["rc-errors"], (await JsonAsync(await SendAsync(HttpMethod.Get, instance + "/subscription"))).GetProperty("topics").EnumerateArray().Select(t => t.GetString()));
        await ProduceAsync("rc-errors", 0, (null, "still here"));
        Assert.Equal([new Rec("rc-errors", 0, 0, null, "still here")], await RecordsAsync(instance, 1));
    }

    [Fact]
    public async Task Idle_instances_expire_and_the_number_of_instances_is_bounded()
    {
        await RestartWithAsync(new()
        {
            ["OrleansMQ:Http:ConsumerInstanceTimeoutMs"] = "1500",
            ["OrleansMQ:Http:MaxConsumerInstances"] = "2",
        });
        await CreateTopicAsync("rc-expire", 1);
        string idle = await CreateInstanceAsync("g-expire", "idle");
        await SubscribeAsync(idle, "rc-expire");
        string busy = await CreateInstanceAsync("g-expire", "busy");
        await AssertProblemAsync(await SendAsync(HttpMethod.Post, "/consumers/g-expire", """{"name":"third"}"""), HttpStatusCode.TooManyRequests, 42901);

        // "busy" is used every 500 ms and lives; "idle" is closed and leaves the group.
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(3.5))
        {
            await ExpectAsync(await SendAsync(HttpMethod.Get, busy + "/subscription"), HttpStatusCode.OK);
            await Task.Delay(500);
        }

        await AssertProblemAsync(await SendAsync(HttpMethod.Get, idle + "/subscription"), HttpStatusCode.NotFound, 40403);
        await UntilAsync(async () =>
        {
            var lag = await _silo.Groups.DescribeLagAsync("g-expire", CancellationToken.None);
            return lag is null || lag.State.ToString() == "Empty";
        }, "the expired member leaving its group");

        // Room for a new one now.
        await CreateInstanceAsync("g-expire", "third");
    }

    [Fact]
    public async Task Instances_work_when_the_advertised_name_only_resolves_outside_the_silo()
    {
        // As behind a Kubernetes service or a NAT: clients outside use the advertised name, the
        // silo itself cannot resolve it. Its consumer instances are pointed at its listener.
        await RestartWithAsync(new() { ["OrleansMQ:Broker:AdvertisedHost"] = "silo.outside.invalid" });
        await CreateTopicAsync("rest-nat", 2);
        await ProduceAsync("rest-nat", 0, ("k", "behind-nat-0"));
        await ProduceAsync("rest-nat", 1, (null, "behind-nat-1"));
        string instance = await CreateInstanceAsync("nat-group", "nat-1");
        await SubscribeAsync(instance, "rest-nat");
        var records = await RecordsAsync(instance, 2);
        Assert.Equal(["behind-nat-0", "behind-nat-1"], records.Select(r => r.Value).Order(StringComparer.Ordinal));
        await ExpectAsync(await SendAsync(HttpMethod.Post, instance + "/offsets"), HttpStatusCode.OK);
        var committed = await _silo.Groups.DescribeLagAsync("nat-group");
        Assert.NotNull(committed);
        Assert.All(committed.Partitions, p => Assert.Equal(1, p.CommittedOffset));
    }

}
