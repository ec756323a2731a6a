using System.Globalization;
using System.Text;
using System.Text.Json;
using OrleansMQ.Cli;
using OrleansMQ.Silo.Tests.Broker;
using Xunit;

namespace OrleansMQ.Client.Tests.Cli;

/// <summary>omq consume and omq bench consume|both end to end, in-process against a real silo; data produced with kcat or omq produce.</summary>
public sealed class OmqConsumeTests : IAsyncLifetime
{
    private TestSilo _silo = null!;

    public async Task InitializeAsync() => _silo = await TestSilo.StartAsync(new() { ["OrleansMQ:Groups:InitialRebalanceDelayMs"] = "0" });

    public async Task DisposeAsync() => await _silo.DisposeAsync();

    private sealed record Run(int Exit, string Out, string Err)
    {
        public string[] Lines => Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        public override string ToString() => $"exit {Exit}\nstdout:\n{Out}\nstderr:\n{Err}";
    }

    private async Task<Run> OmqAsync(string[] args, string? stdin = null)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        using var input = new MemoryStream(Encoding.UTF8.GetBytes(stdin ?? ""));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        int exit = await OmqCli.RunAsync([.. args, "-b", _silo.Bootstrap], stdout, stderr, input, stderrIsTerminal: false, _ => null, timeout.Token);
        return new Run(exit, stdout.ToString(), stderr.ToString());
    }

    private async Task<Run> OkAsync(string[] args, string? stdin = null)
    {
        var run = await OmqAsync(args, stdin);
        Assert.True(run.Exit == 0, run.ToString());
        return run;
    }

    [Fact]
    public async Task Consume_prints_kcat_produced_messages_with_a_format_and_exits_at_end()
    {
        await OkAsync(["topics", "create", "cons-fmt", "--partitions", "2"]);
        await Kcat.ProduceAsync(_silo, "cons-fmt", 0, 5);
        await Kcat.ProduceAsync(_silo, "cons-fmt", 1, 3);

        var run = await OkAsync(["consume", "cons-fmt", "--from", "beginning", "-e", "-f", "%t|%p|%o|%k|%s|%S\\n"]);
        Assert.Equal(
            ["cons-fmt|0|0||m0|2", "cons-fmt|0|1||m1|2", "cons-fmt|0|2||m2|2", "cons-fmt|0|3||m3|2", "cons-fmt|0|4||m4|2", "cons-fmt|1|0||m0|2", "cons-fmt|1|1||m1|2", "cons-fmt|1|2||m2|2"],
            run.Lines.Order(StringComparer.Ordinal));
        Assert.Contains("consumed 8 message(s)", run.Err, StringComparison.Ordinal);

        // Default format "%s\n"; one partition; an offset; an offset counted back from the end; a count.
        Assert.Equal(["m0", "m1", "m2", "m3", "m4"], (await OkAsync(["consume", "cons-fmt", "-p", "0", "--from", "beginning", "-e"])).Lines);
        Assert.Equal(["m3", "m4"], (await OkAsync(["consume", "cons-fmt", "-p", "0", "--from", "3", "-e"])).Lines);
        Assert.Equal(["m1", "m2"], (await OkAsync(["consume", "cons-fmt", "-p", "1", "--from", "-2", "-e"])).Lines);
        Assert.Equal(["m0", "m1"], (await OkAsync(["consume", "cons-fmt", "-p", "0", "--from", "beginning", "-n", "2"])).Lines);

        // From the end with -e: nothing to read, exits at once.
        var none = await OkAsync(["consume", "cons-fmt", "-e"]);
        Assert.Empty(none.Lines);
    }

    [Fact]
    public async Task Consume_writes_json_lines_with_keys_headers_and_timestamps()
    {
        await OkAsync(["topics", "create", "cons-json", "--partitions", "1"]);
        await OkAsync(["produce", "cons-json", "-k", "=", "-H", "trace=abc"], "a=1\nb=\"two\"\n");
        var run = await OkAsync(["consume", "cons-json", "--from", "beginning", "-e", "-o", "json"]);
        Assert.Equal(2, run.Lines.Length);
        using var first = JsonDocument.Parse(run.Lines[0]);
        var r = first.RootElement;
        Assert.Equal("cons-json", r.GetProperty("topic").GetString());
        Assert.Equal(0, r.GetProperty("partition").GetInt32());
        Assert.Equal(0, r.GetProperty("offset").GetInt64());
        Assert.Equal("a", r.GetProperty("key").GetString());
        Assert.Equal("1", r.GetProperty("value").GetString());
        Assert.Equal("trace", r.GetProperty("headers")[0].GetProperty("key").GetString());
        Assert.Equal("abc", r.GetProperty("headers")[0].GetProperty("value").GetString());
        Assert.InRange(r.GetProperty("timestamp").GetInt64(), DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        using var second = JsonDocument.Parse(run.Lines[1]);
        Assert.Equal("\"two\"", second.RootElement.GetProperty("value").GetString());

        var formatted = await OkAsync(["consume", "cons-json", "--from", "beginning", "-e", "-f", "%k=%s %h %K\\n"]);
        Assert.Equal(["a=1 trace=abc 1", "b=\"two\" trace=abc 1"], formatted.Lines);
    }

    [Fact]
    public async Task Consume_from_a_time_starts_at_the_first_message_at_or_after_it()
    {
        await OkAsync(["topics", "create", "cons-time", "--partitions", "1"]);
        await OkAsync(["produce", "cons-time"], "old1\nold2\n");
        await Task.Delay(50);
        string time = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);
        await Task.Delay(50);
        await OkAsync(["produce", "cons-time"], "new1\nnew2\n");
        Assert.Equal(["new1", "new2"], (await OkAsync(["consume", "cons-time", "--from", time, "-e"])).Lines);
        Assert.Empty((await OkAsync(["consume", "cons-time", "--from", DateTimeOffset.UtcNow.AddHours(1).ToString("O", CultureInfo.InvariantCulture), "-e"])).Lines);
    }

    [Fact]
    public async Task Consume_with_a_group_commits_and_resumes_where_it_stopped()
    {
        await OkAsync(["topics", "create", "cons-group", "--partitions", "3"]);
        await Kcat.ProduceAsync(_silo, "cons-group", 0, 4);
        await Kcat.ProduceAsync(_silo, "cons-group", 2, 2);

        var first = await OkAsync(["consume", "cons-group", "-g", "cli-group", "--from", "beginning", "-e", "-f", "%p %s\\n"]);
        Assert.Equal(["0 m0", "0 m1", "0 m2", "0 m3", "2 m0", "2 m1"], first.Lines.Order(StringComparer.Ordinal));

        var describe = await OkAsync(["groups", "describe", "cli-group", "-o", "json"]);
        Assert.Contains("\"lag\": 0", describe.Out, StringComparison.Ordinal);

        // The committed offsets come first: only the new messages.
        await Kcat.ProduceAsync(_silo, "cons-group", 1, 2);
        var second = await OkAsync(["consume", "cons-group", "-g", "cli-group", "--from", "beginning", "-e", "-f", "%p %s\\n"]);
        Assert.Equal(["1 m0", "1 m1"], second.Lines.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Consume_errors_exit_1_and_usage_errors_exit_2()
    {
        var missing = await OmqAsync(["consume", "no-such-topic", "-e"]);
        Assert.True(missing.Exit == 1, missing.ToString());
        Assert.Contains("UNKNOWN_TOPIC_OR_PARTITION", missing.Err, StringComparison.Ordinal);
        Assert.Single(missing.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        await OkAsync(["topics", "create", "cons-usage", "--partitions", "1"]);
        var noPartition = await OmqAsync(["consume", "cons-usage", "-p", "3", "-e"]);
        Assert.Equal(1, noPartition.Exit);
        foreach (var (args, text) in new (string[], string)[]
        {
            (["consume", "cons-usage", "-g", "g", "-p", "0"], "-g and -p"),
            (["consume", "cons-usage", "--from", "yesterday"], "--from must be"),
            (["consume", "cons-usage", "-g", "g", "--from", "5"], "with -g, --from"),
            (["consume", "cons-usage", "-f", "%x"], "unknown field '%x'"),
            (["consume", "cons-usage", "-f", "%s", "-o", "json"], "exclude each other"),
            (["consume", "cons-usage", "-n", "0"], "--count"),
            (["consume"], "missing <topic>"),
        })
        {
            var run = await OmqAsync(args);
            Assert.True(run.Exit == 2, run.ToString());
            Assert.Contains(text, run.Err, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Bench_consume_reads_what_bench_produce_wrote_and_bench_both_measures_end_to_end()
    {
        await OkAsync(["bench", "produce", "--topic", "cons-bench", "--messages", "100000", "--partitions", "3"]);
        var consume = await OkAsync(["bench", "consume", "--topic", "cons-bench"]);
        foreach (var field in new[] { "bench consume", "messages:  100,000", "msg/s:", "MB/s:", "end-to-end", "p50", "p95", "p99", "max" })
        {
            Assert.Contains(field, consume.Out, StringComparison.Ordinal);
        }

        var some = await OkAsync(["bench", "consume", "--topic", "cons-bench", "--messages", "1000", "-o", "json"]);
        using (var doc = JsonDocument.Parse(some.Out))
        {
            Assert.Equal(1000, doc.RootElement.GetProperty("messages").GetInt64());
        }

        var both = await OkAsync(["bench", "both", "--topic", "cons-both", "--messages", "50000", "--partitions", "2", "-o", "json"]);
        using var docs = JsonDocument.Parse(both.Out);
        Assert.Equal(["produce", "consume"], docs.RootElement.EnumerateArray().Select(e => e.GetProperty("mode").GetString()));
        Assert.All(docs.RootElement.EnumerateArray(), e => Assert.Equal(50000, e.GetProperty("messages").GetInt64()));
        Assert.True(docs.RootElement[1].GetProperty("latency").GetProperty("samples").GetInt64() > 0);

        var unknown = await OmqAsync(["bench", "consume", "--topic", "no-such-bench-topic"]);
        Assert.Equal(1, unknown.Exit);
        Assert.Contains("UNKNOWN_TOPIC_OR_PARTITION", unknown.Err, StringComparison.Ordinal);
    }
}
