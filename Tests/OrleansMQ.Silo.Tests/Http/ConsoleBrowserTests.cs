using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Playwright;
using OrleansMQ.Silo.Tests.Broker;
using Xunit;
using Xunit.Abstractions;

namespace OrleansMQ.Silo.Tests.Http;

/// <summary>
/// The web console in a real headless Chromium (Debian's <c>/usr/bin/chromium</c>, driven by
/// Playwright; Playwright never downloads a browser here). A missing Chromium fails the test:
/// CI installs it (<c>infra/test.sh</c>), and a silently skipped browser test proves nothing.
/// The screenshot goes to <c>$ORLEANSMQ_ARTIFACTS/console/</c> (default <c>&lt;repo&gt;/artifacts/console/</c>).
/// </summary>
public sealed class ConsoleBrowserTests
{
    private const string ChromiumPath = "/usr/bin/chromium";
    private const string BinaryV2 = "application/vnd.kafka.binary.v2+json";
    private readonly ITestOutputHelper _output;

    public ConsoleBrowserTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public async Task The_console_shows_a_new_topic_its_chart_moves_and_the_browser_finds_records()
    {
        await using var silo = await TestSilo.StartAsync();
        const string topic = "console-orders";
        var created = await silo.Topics.CreateAsync(topic, 3, 1, [new KeyValuePair<string, string?>("orleansmq.index.keys", "true")], validateOnly: false);
        Assert.True(created.IsOk, created.Message);

        await using var browser = await ConsoleBrowser.LaunchAsync();
        var page = await browser.NewPageAsync();
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add("page error: " + e);
        page.Console += (_, m) =>
        {
            if (m.Type == "error")
            {
                errors.Add("console error: " + m.Text);
            }
        };

        var response = await page.GotoAsync(silo.HttpBaseAddress.ToString());
        Assert.NotNull(response);
        Assert.Equal(200, response.Status);
        Assert.Equal("OrleansMQ console", await page.TitleAsync());

        // The topic created above shows, with its three partitions, nothing in it, and no rate yet.
        var row = page.Locator($"#topics-body tr[data-topic='{topic}']");
        await row.WaitForAsync(new() { Timeout = 20_000 });
        Assert.Equal("3", (await row.Locator("td").Nth(1).InnerTextAsync()).Trim());
        await page.WaitForFunctionAsync("() => document.getElementById('status').dataset.state === 'live'", null, new() { Timeout = 10_000 });
        Assert.Equal(0, await RateAsync(page));
        await page.WaitForFunctionAsync("() => Number(document.getElementById('chart-records').dataset.draws) >= 2", null, new() { Timeout = 10_000 });
        string idleChart = await page.EvalOnSelectorAsync<string>("#chart-records", "c => c.toDataURL()");

        // Produce over a few seconds; the page's records/s goes above zero and the chart is redrawn differently.
        using var http = new HttpClient { BaseAddress = silo.HttpBaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        const int count = 16;
        long startMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        for (int i = 0; i < count; i++)
        {
            await ProduceAsync(http, topic, "order-" + i.ToString(CultureInfo.InvariantCulture), $$"""{"n":{{i}}}""");
            await Task.Delay(200);
        }

        await page.WaitForFunctionAsync("() => parseFloat(document.getElementById('rate-records').dataset.rate) > 0", null, new() { Timeout = 15_000 });
        Assert.True(await RateAsync(page) > 0);
        string busyChart = await page.EvalOnSelectorAsync<string>("#chart-records", "c => c.toDataURL()");
        Assert.NotEqual(idleChart, busyChart);
        await page.WaitForFunctionAsync($"() => document.querySelector(\"#topics-body tr[data-topic='{topic}'] td[data-messages]\")?.dataset.messages === '{count}'", null, new() { Timeout = 10_000 });

        // A consumer group that committed offset 1 everywhere shows with its total lag; a click lists the lag per partition.
        await silo.Groups.WhenLoaded;
        var commits = Enumerable.Range(0, 3).Select(p => new OrleansMQ.Silo.Groups.OffsetCommitItem(topic, p, 1, -1, null)).ToList();
        var (commitError, _) = await silo.Groups.CommitOffsetsAsync("console-group", "", null, -1, commits);
        Assert.Equal(OrleansMQ.Silo.Groups.GroupError.None, commitError);
        long expectedLag = (await silo.Groups.DescribeLagAsync("console-group", CancellationToken.None))!.TotalLag;
        Assert.True(expectedLag > 0);
        var groupRow = page.Locator($"#groups-body tr[data-group='console-group'] td[data-lag='{expectedLag}']");
        await groupRow.WaitForAsync(new() { Timeout = 15_000 });
        await groupRow.ClickAsync();
        var lagRows = page.Locator("#groups-body tr[data-detail-for='console-group'] tbody tr");
        await lagRows.First.WaitForAsync(new() { Timeout = 10_000 });
        Assert.Equal(3, await lagRows.CountAsync());

        // Partition detail: a click on the topic lists its partitions, summing to what was produced.
        await row.ClickAsync();
        var detail = page.Locator($"#topics-body tr[data-detail-for='{topic}'] tbody tr");
        await detail.First.WaitForAsync(new() { Timeout = 5_000 });
        Assert.Equal(3, await detail.CountAsync());

        // Message browser by key: the topic indexes keys, so order-7 is found with its value.
        await page.SelectOptionAsync("#browse-topic", topic);
        await page.CheckAsync("input[name='mode'][value='key']");
        await page.FillAsync("#browse-key", "order-7");
        await page.ClickAsync("#browse-go");
        await page.WaitForFunctionAsync("() => document.getElementById('records').dataset.count === '1'", null, new() { Timeout = 10_000 });
        var hit = page.Locator("#records-body tr").First;
        Assert.Equal("{\"n\":7}", (await hit.Locator("td.value").InnerTextAsync()).Trim());
        string partition = (await hit.GetAttributeAsync("data-partition"))!;
        string offset = (await hit.GetAttributeAsync("data-offset"))!;

        // By offset: the same record at its partition and offset.
        await page.CheckAsync("input[name='mode'][value='offset']");
        await page.FillAsync("#browse-partition", partition);
        await page.FillAsync("#browse-offset", offset);
        await page.FillAsync("#browse-count", "1");
        await page.ClickAsync("#browse-go");
        var byOffset = page.Locator($"#records-body tr[data-partition='{partition}'][data-offset='{offset}']");
        await byOffset.WaitForAsync(new() { Timeout = 10_000 });
        Assert.Equal("order-7", (await byOffset.Locator("td.key").InnerTextAsync()).Trim());
        Assert.Equal(1, await page.Locator("#records-body tr").CountAsync());

        // By time: everything produced lies between a minute before and a minute after (the context is in UTC).
        await page.CheckAsync("input[name='mode'][value='time']");
        await page.FillAsync("#browse-from", ConsoleBrowser.LocalInput(DateTimeOffset.FromUnixTimeMilliseconds(startMs).UtcDateTime.AddMinutes(-1)));
        await page.FillAsync("#browse-to", ConsoleBrowser.LocalInput(DateTime.UtcNow.AddMinutes(1)));
        await page.ClickAsync("#browse-go");
        await page.WaitForFunctionAsync($"() => document.getElementById('records').dataset.count === '{count}'", null, new() { Timeout = 10_000 });

        string shot = await ConsoleBrowser.ScreenshotAsync(page, "console.png");
        _output.WriteLine("screenshot: " + shot);
        Assert.True(new FileInfo(shot).Length > 10_000, "the screenshot is suspiciously small");
        Assert.Empty(errors);
    }

    [Fact]
    public async Task With_keys_the_console_asks_for_one_and_then_shows_the_topics()
    {
        const string key = "browser-key-1";
        await using var silo = await TestSilo.StartAsync(new() { ["OrleansMQ:Http:ApiKeys:0"] = key });
        var created = await silo.Topics.CreateAsync("console-secured", 1, 1, [], validateOnly: false);
        Assert.True(created.IsOk, created.Message);

        await using var browser = await ConsoleBrowser.LaunchAsync();
        var page = await browser.NewPageAsync();
        await page.GotoAsync(silo.HttpBaseAddress.ToString());

        // The page loaded without a key; the API said 401, so the page asks.
        var dialog = page.Locator("#key-dialog[open]");
        await dialog.WaitForAsync(new() { Timeout = 10_000 });
        Assert.Equal("key", await page.GetAttributeAsync("#status", "data-state"));

        // A wrong key is refused and asked again.
        await page.FillAsync("#key-input", "wrong-key");
        await page.ClickAsync("#key-save");
        await page.WaitForFunctionAsync("() => document.getElementById('key-message').textContent.includes('not accepted')", null, new() { Timeout = 10_000 });
        await dialog.WaitForAsync(new() { Timeout = 10_000 });

        await page.FillAsync("#key-input", key);
        await page.ClickAsync("#key-save");
        await page.Locator("#topics-body tr[data-topic='console-secured']").WaitForAsync(new() { Timeout = 15_000 });
        Assert.Equal(key, await page.EvaluateAsync<string>("() => sessionStorage.getItem('orleansmq.apiKey')"));
        Assert.False(await dialog.IsVisibleAsync());
        await ConsoleBrowser.ScreenshotAsync(page, "console-auth.png");
    }

    private static async Task<double> RateAsync(IPage page) =>
        double.Parse(await page.GetAttributeAsync("#rate-records", "data-rate") ?? "", CultureInfo.InvariantCulture);

    private static async Task ProduceAsync(HttpClient http, string topic, string key, string value)
    {
        string body = $$"""{"records":[{"key":"{{B64(key)}}","value":"{{B64(value)}}"}]}""";
        using var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(BinaryV2);
        using var response = await http.PostAsync(new Uri("/topics/" + topic, UriKind.Relative), content);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));
}

/// <summary>Playwright with Debian's Chromium: one browser per test, a fresh profile, UTC, a fixed viewport.</summary>
internal sealed class ConsoleBrowser : IAsyncDisposable
{
    private const string ChromiumPath = "/usr/bin/chromium";
    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;

    private ConsoleBrowser(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        _browser = browser;
    }

    public static async Task<ConsoleBrowser> LaunchAsync()
    {
        Assert.True(File.Exists(ChromiumPath), $"{ChromiumPath} is missing: the web console tests need Debian's chromium (apt-get install -y chromium; infra/test.sh installs it when run as root).");
        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new()
            {
                ExecutablePath = ChromiumPath,
                Headless = true,
                Timeout = 60_000,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
            });
            return new ConsoleBrowser(playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>A page in a new context (its own session storage), in UTC so times typed into the page are UTC.</summary>
    public async Task<IPage> NewPageAsync()
    {
        var context = await _browser.NewContextAsync(new() { TimezoneId = "UTC", Locale = "en-US", ViewportSize = new() { Width = 1280, Height = 900 }, ColorScheme = ColorScheme.Light });
        context.SetDefaultTimeout(15_000);
        return await context.NewPageAsync();
    }

    /// <summary>
    /// Saves a full-page screenshot under <c>$ORLEANSMQ_ARTIFACTS/console/</c>, by default
    /// <c>&lt;repo&gt;/artifacts/console/</c> next to the test results infra/test.sh writes, and returns its path.
    /// </summary>
    public static async Task<string> ScreenshotAsync(IPage page, string name)
    {
        string directory = Path.Combine(ArtifactsDirectory(), "console");
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, name);
        await page.ScreenshotAsync(new() { Path = path, FullPage = true });
        return path;
    }

    private static string ArtifactsDirectory()
    {
        string? configured = Environment.GetEnvironmentVariable("ORLEANSMQ_ARTIFACTS");
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return configured;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OrleansMQ.sln")))
            {
                return Path.Combine(dir.FullName, "artifacts");
            }
        }

        return Path.Combine(AppContext.BaseDirectory, "artifacts");
    }

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }

    /// <summary>
    /// A datetime-local input value, whole minutes: Chromium writes "12:28:00" back as "12:28", which
    /// Playwright's fill then reports as a malformed value (the test failed whenever the second was 0).
    /// </summary>
    internal static string LocalInput(DateTime time) => time.ToString("yyyy-MM-ddTHH:mm", CultureInfo.InvariantCulture);
}
