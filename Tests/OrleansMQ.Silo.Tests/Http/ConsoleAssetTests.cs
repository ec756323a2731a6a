using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using OrleansMQ.Silo.Tests.Broker;
using Xunit;

namespace OrleansMQ.Silo.Tests.Http;

/// <summary>The web console over plain HTTP (no browser): embedded assets, caching headers, the stats endpoint, auth.</summary>
public sealed class ConsoleAssetTests
{
    private const string Key = "console-key-1";

    private static HttpClient Client(TestSilo silo) => new() { BaseAddress = silo.HttpBaseAddress, Timeout = TimeSpan.FromSeconds(30) };

    private static Task<HttpResponseMessage> GetAsync(HttpClient http, string path, Action<HttpRequestHeaders>? headers = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        headers?.Invoke(request.Headers);
        return http.SendAsync(request);
    }

    [Theory]
    [InlineData("/", "text/html", "<title>OrleansMQ console</title>")]
    [InlineData("/console/console.js", "text/javascript", "/orleansmq/v1/stats")]
    [InlineData("/console/console.css", "text/css", ":root")]
    public async Task Console_assets_are_served_with_their_type_an_etag_and_no_cache(string path, string mediaType, string contains)
    {
        await using var silo = await TestSilo.StartAsync();
        using var http = Client(silo);
        using var response = await GetAsync(http, path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("utf-8", response.Content.Headers.ContentType?.CharSet);
        Assert.True(response.Headers.CacheControl?.NoCache, "Cache-Control: no-cache");
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        var etag = response.Headers.ETag;
        Assert.NotNull(etag);
        Assert.False(etag.IsWeak);
        Assert.Contains(contains, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        if (path == "/")
        {
            Assert.Contains("default-src 'self'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        }

        // Revalidation: the same ETag gets 304 with no body; another gets the file again.
        using var notModified = await GetAsync(http, path, h => h.IfNoneMatch.Add(etag));
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Empty(await notModified.Content.ReadAsByteArrayAsync());
        Assert.Equal(etag, notModified.Headers.ETag);
        using var changed = await GetAsync(http, path, h => h.IfNoneMatch.Add(new EntityTagHeaderValue("\"stale\"")));
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
    }

    [Fact]
    public async Task An_unknown_asset_is_a_404_problem()
    {
        await using var silo = await TestSilo.StartAsync();
        using var http = Client(silo);
        using var response = await GetAsync(http, "/console/missing.js");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(404, json.GetProperty("status").GetInt32());
        Assert.Contains("missing.js", json.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stats_are_cumulative_counters_per_topic_and_for_the_silo()
    {
        await using var silo = await TestSilo.StartAsync();
        var created = await silo.Topics.CreateAsync("stats-topic", 2, 1, [], validateOnly: false);
        Assert.True(created.IsOk, created.Message);
        using var http = Client(silo);

        var before = await StatsAsync(http);
        var topic = before.GetProperty("topics").EnumerateArray().Single(t => t.GetProperty("topic").GetString() == "stats-topic");
        Assert.Equal(0, topic.GetProperty("log_end_offset_sum").GetInt64());
        Assert.Equal(2, topic.GetProperty("partitions").GetArrayLength());

        using var content = new StringContent("""{"records":[{"value":1},{"value":2},{"value":3,"partition":1}]}""", Encoding.UTF8);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/vnd.kafka.json.v2+json");
        using var produced = await http.PostAsync(new Uri("/topics/stats-topic", UriKind.Relative), content);
        Assert.Equal(HttpStatusCode.OK, produced.StatusCode);

        var after = await StatsAsync(http);
        topic = after.GetProperty("topics").EnumerateArray().Single(t => t.GetProperty("topic").GetString() == "stats-topic");
        Assert.Equal(3, topic.GetProperty("log_end_offset_sum").GetInt64());
        Assert.Equal(3, topic.GetProperty("messages").GetInt64());
        Assert.Equal(3, topic.GetProperty("partitions").EnumerateArray().Sum(p => p.GetProperty("log_end_offset").GetInt64()));
        Assert.Equal(before.GetProperty("records_in").GetInt64() + 3, after.GetProperty("records_in").GetInt64());
        Assert.True(after.GetProperty("storage_bytes_in").GetInt64() > before.GetProperty("storage_bytes_in").GetInt64());
        Assert.True(after.GetProperty("http_requests").GetInt64() > before.GetProperty("http_requests").GetInt64());
        Assert.True(after.GetProperty("time_ms").GetInt64() >= before.GetProperty("time_ms").GetInt64());
        Assert.InRange(after.GetProperty("time_ms").GetInt64(), DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds());
        foreach (string counter in new[] { "kafka_bytes_in", "kafka_bytes_out", "kafka_requests", "kafka_connections_open", "storage_disk_bytes" })
        {
            Assert.True(after.GetProperty(counter).GetInt64() >= 0, counter);
        }

        // Internal topics (__consumer_offsets and the like) are not shown.
        Assert.DoesNotContain(after.GetProperty("topics").EnumerateArray(), t => t.GetProperty("topic").GetString()!.StartsWith("__", StringComparison.Ordinal));
    }

    private static async Task<JsonElement> StatsAsync(HttpClient http)
    {
        using var response = await GetAsync(http, "/orleansmq/v1/stats");
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    [Fact]
    public async Task With_keys_only_the_console_assets_load_without_one()
    {
        await using var silo = await TestSilo.StartAsync(new() { ["OrleansMQ:Http:ApiKeys:0"] = Key });
        using var http = Client(silo);
        foreach (string path in new[] { "/", "/console/console.js", "/console/console.css" })
        {
            using var open = await GetAsync(http, path);
            Assert.True(open.StatusCode == HttpStatusCode.OK, $"{path}: {(int)open.StatusCode}");
        }

        // Not an asset: the usual 401 (an unknown file is not told apart from an unknown path).
        foreach (string path in new[] { "/orleansmq/v1/stats", "/console/missing.js", "/console/", "/console" })
        {
            using var closed = await GetAsync(http, path);
            Assert.True(closed.StatusCode == HttpStatusCode.Unauthorized, $"{path}: {(int)closed.StatusCode}");
            Assert.Equal("application/problem+json", closed.Content.Headers.ContentType?.MediaType);
        }

        // Only GET is open: another method on an asset path still needs a key.
        using var body = new StringContent("x");
        using (var post = await http.PostAsync(new Uri("/", UriKind.Relative), body))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, post.StatusCode);
        }

        using var stats = await GetAsync(http, "/orleansmq/v1/stats", h => h.Add("X-API-Key", Key));
        Assert.Equal(HttpStatusCode.OK, stats.StatusCode);
    }
}
