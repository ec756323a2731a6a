using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using OrleansMQ.Silo.Hosting;
using OrleansMQ.Silo.Tests.Broker;
using Xunit;

namespace OrleansMQ.Silo.Tests.Http;

/// <summary>Optional API keys: off by default; when on, every endpoint but the probes needs a key (401 otherwise).</summary>
public sealed class HttpAuthTests
{
    private const string Key = "s3cret-key-1";

    private static Task<TestSilo> StartWithKeysAsync() =>
        TestSilo.StartAsync(new() { ["OrleansMQ:Http:ApiKeys:0"] = Key, ["OrleansMQ:Http:ApiKeys:1"] = "other-key-2" });

    private static async Task<HttpResponseMessage> GetAsync(TestSilo silo, string path, Action<HttpRequestHeaders>? headers = null)
    {
        using var http = new HttpClient { BaseAddress = silo.HttpBaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        headers?.Invoke(request.Headers);
        return await http.SendAsync(request);
    }

    private static async Task AssertUnauthorizedAsync(HttpResponseMessage response)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
        var json = JsonDocument.Parse(text).RootElement;
        Assert.Equal(401, json.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(json.GetProperty("detail").GetString()));
    }

    [Fact]
    public async Task Auth_is_off_by_default()
    {
        await using var silo = await TestSilo.StartAsync();
        using var metrics = await GetAsync(silo, "/metrics");
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        using var topics = await GetAsync(silo, "/topics", h => h.Add("X-API-Key", "anything"));
        Assert.Equal(HttpStatusCode.OK, topics.StatusCode);
    }

    [Fact]
    public async Task With_keys_a_request_needs_a_known_key()
    {
        await using var silo = await StartWithKeysAsync();

        using (var none = await GetAsync(silo, "/metrics"))
        {
            await AssertUnauthorizedAsync(none);
        }

        using (var wrong = await GetAsync(silo, "/topics", h => h.Authorization = new AuthenticationHeaderValue("Bearer", Key + "x")))
        {
            await AssertUnauthorizedAsync(wrong);
        }

        using (var wrongHeader = await GetAsync(silo, "/topics", h => h.Add("X-API-Key", "s3cret-key-2")))
        {
            await AssertUnauthorizedAsync(wrongHeader);
        }

        using (var basic = await GetAsync(silo, "/topics", h => h.Authorization = new AuthenticationHeaderValue("Basic", Key)))
        {
            await AssertUnauthorizedAsync(basic);
        }

        using (var openApi = await GetAsync(silo, "/openapi/v1.json"))
        {
            await AssertUnauthorizedAsync(openApi);
        }

        using (var unknownPath = await GetAsync(silo, "/no-such-path"))
        {
            await AssertUnauthorizedAsync(unknownPath);
        }

        using (var bearer = await GetAsync(silo, "/topics", h => h.Authorization = new AuthenticationHeaderValue("Bearer", Key)))
        {
            Assert.Equal(HttpStatusCode.OK, bearer.StatusCode);
        }

        using (var header = await GetAsync(silo, "/metrics", h => h.Add("X-API-Key", "other-key-2")))
        {
            Assert.Equal(HttpStatusCode.OK, header.StatusCode);
            Assert.Contains("orleansmq_http_requests_total", await header.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task With_keys_the_probes_stay_open()
    {
        await using var silo = await StartWithKeysAsync();
        await silo.Groups.WhenLoaded;
        using var health = await GetAsync(silo, "/healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        using var ready = await GetAsync(silo, "/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    [Fact]
    public async Task A_read_only_key_reads_and_is_forbidden_to_write()
    {
        await using var silo = await TestSilo.StartAsync(new() { ["OrleansMQ:Http:ApiKeys:0"] = Key, ["OrleansMQ:Http:ReadOnlyApiKeys:0"] = "viewer-key" });
        var created = await silo.Topics.CreateAsync("ro-topic", 1, 1, [], validateOnly: false);
        Assert.True(created.IsOk, created.Message);
        using var http = new HttpClient { BaseAddress = silo.HttpBaseAddress, Timeout = TimeSpan.FromSeconds(30) };

        Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string key, string? body = null)
        {
            var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
            request.Headers.Add("X-API-Key", key);
            if (body is not null)
            {
                request.Content = new StringContent(body, System.Text.Encoding.UTF8);
                request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/vnd.kafka.json.v2+json");
            }

            return http.SendAsync(request);
        }

        // Reads: topics, offsets, metrics.
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/topics/ro-topic", "viewer-key")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/metrics", "viewer-key")).StatusCode);

        // Writes: 403 problem, nothing appended; the same with a full key works.
        using var forbidden = await SendAsync(HttpMethod.Post, "/topics/ro-topic", "viewer-key", """{"records":[{"value":1}]}""");
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Equal("application/problem+json", forbidden.Content.Headers.ContentType?.MediaType);
        Assert.Contains("read-only", await forbidden.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(HttpMethod.Delete, $"/v3/clusters/{silo.Identity.ClusterId}/topics/ro-topic", "viewer-key")).StatusCode);
        Assert.True(silo.Topics.Catalog.TryGet("ro-topic", out var topic));
        Assert.Equal(0, topic.Partitions[0].HighWatermark);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Post, "/topics/ro-topic", Key, """{"records":[{"value":1}]}""")).StatusCode);
        Assert.Equal(1, topic.Partitions[0].HighWatermark);

        // An unknown key is still 401, not 403.
        await AssertUnauthorizedAsync(await SendAsync(HttpMethod.Post, "/topics/ro-topic", "nobody", """{"records":[{"value":1}]}"""));
    }

    [Fact]
    public void A_key_cannot_be_both_full_and_read_only()
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => SiloHost.Build(["--OrleansMQ:Http:ApiKeys:0", "same", "--OrleansMQ:Http:ReadOnlyApiKeys:0", "same", "--data", Path.Combine(Path.GetTempPath(), "omq-never")]).Dispose());
        Assert.Contains("ReadOnlyApiKeys", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(" padded")]
    public void An_empty_or_padded_key_is_refused_with_its_name(string key)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => SiloHost.Build(["--OrleansMQ:Http:ApiKeys:0", "good", "--OrleansMQ:Http:ApiKeys:1", key, "--data", Path.Combine(Path.GetTempPath(), "omq-never")]).Dispose());
        Assert.Contains("OrleansMQ:Http:ApiKeys:1", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }
}
