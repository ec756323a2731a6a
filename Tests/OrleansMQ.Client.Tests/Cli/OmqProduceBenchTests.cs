using System.Text;
using System.Text.Json;
using OrleansMQ.Cli;
using OrleansMQ.Silo.Tests.Broker;
using Xunit;

namespace OrleansMQ.Client.Tests.Cli;

/// <summary>omq produce and omq bench end to end, in-process against a real silo; read back with kcat.</summary>
public sealed class OmqProduceBenchTests : IAsyncLifetime
{
    private TestSilo _silo = null!;

    public async Task InitializeAsync() => _silo = await TestSilo.StartAsync();

    public async Task DisposeAsync() => await _silo.DisposeAsync();

    private sealed record Run(int Exit, string Out, string Err)
    {
        public override string ToString() => $"exit {Exit}\nstdout:\n{Out}\nstderr:\n{Err}";
    }

    private async Task<Run> OmqAsync(string[] args, string? stdin = null)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        using var input = new MemoryStream(Encoding.UTF8.GetBytes(stdin ?? ""));
        int exit = await OmqCli.RunAsync([.. args, "-b", _silo.Bootstrap], stdout, stderr, input, stderrIsTerminal: false, _ => null);
        return new Run(exit, stdout.ToString(), stderr.ToString());
    }

    private async Task CreateTopicAsync(string topic, int partitions)
    {
        var run = await OmqAsync(["topics", "create", topic, "--partitions", partitions.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        Assert.True(run.Exit == 0, run.ToString());
    }

    [Fact]
    public async Task Produce_reads_stdin_lines_with_keys_headers_and_a_partition()
    {
        await CreateTopicAsync("cli-produce", 3);
        var run = await OmqAsync(["produce", "cli-produce", "-k", "::", "-H", "source=omq", "-H", "n=1", "-p", "2", "--acks", "all"], "k1::v1\nno key here\nk3::v3::x\n\nlast");
        Assert.True(run.Exit == 0, run.ToString());
        Assert.Contains("produced 5 message(s)", run.Err, StringComparison.Ordinal);
        Assert.Single(run.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("", run.Out);

        var lines = await Kcat.ConsumeAsync(_silo.Bootstrap, "cli-produce", "%p|%o|%k|%s|%h\n");
        Assert.Equal(
            ["2|0|k1|v1|source=omq,n=1", "2|1||no key here|source=omq,n=1", "2|2|k3|v3::x|source=omq,n=1", "2|3|||source=omq,n=1", "2|4||last|source=omq,n=1"],
            lines);
    }

    [Fact]
    public async Task Produce_reads_a_file_keyed_by_murmur2_with_gzip_in_order_per_key()
    {
        await CreateTopicAsync("cli-file", 4);
        string file = Path.Combine(Path.GetTempPath(), $"omq-produce-{Guid.NewGuid():N}.txt");
        try
        {
            await File.WriteAllLinesAsync(file, Enumerable.Range(0, 2000).Select(i => $"key{i % 10}\tvalue{i}"));
            var run = await OmqAsync(["produce", "cli-file", "--file", file, "-k", "\t", "--compression", "gzip", "--acks", "1", "--linger-ms", "20", "--batch-size", "4096"]);
            Assert.True(run.Exit == 0, run.ToString());
            Assert.Contains("produced 2000 message(s)", run.Err, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }

        var lines = await Kcat.ConsumeAsync(_silo.Bootstrap, "cli-file", "%p %k %s\n");
        Assert.Equal(2000, lines.Length);

        // One partition per key (murmur2), and each key's values in order: acks 1 (no idempotence)
        // with 5 requests in flight on one connection, so the silo must append them in request order.
        var byKey = lines.Select(l => l.Split(' ')).GroupBy(f => f[1]).ToList();
        Assert.Equal(10, byKey.Count);
        foreach (var key in byKey)
        {
            Assert.Single(key.Select(f => f[0]).Distinct());
            var values = key.Select(f => int.Parse(f[2]["value".Length..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(values.Order(), values);
            Assert.Equal(200, values.Count);
        }
    }

    [Fact]
    public async Task Produce_errors_exit_1_and_usage_errors_exit_2()
    {
        await CreateTopicAsync("cli-errors", 1);
        var missing = await OmqAsync(["produce", "cli-errors", "-p", "5"], "a\n");
        Assert.True(missing.Exit == 1, missing.ToString());
        Assert.Contains("UNKNOWN_TOPIC_OR_PARTITION", missing.Err, StringComparison.Ordinal);
        Assert.Single(missing.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        var acks = await OmqAsync(["produce", "cli-errors", "--acks", "2"], "a\n");
        Assert.Equal(2, acks.Exit);
        Assert.Contains("--acks must be 0, 1 or all", acks.Err, StringComparison.Ordinal);
        var codec = await OmqAsync(["produce", "cli-errors", "--compression", "brotli"], "a\n");
        Assert.Equal(2, codec.Exit);
        Assert.Contains("--compression must be none, gzip, snappy, lz4 or zstd", codec.Err, StringComparison.Ordinal);
        var noFile = await OmqAsync(["produce", "cli-errors", "--file", "/nonexistent/omq.txt"]);
        Assert.Equal(2, noFile.Exit);
        Assert.Contains("--file", noFile.Err, StringComparison.Ordinal);
        var noTopic = await OmqAsync(["produce"]);
        Assert.Equal(2, noTopic.Exit);
        Assert.Contains("missing <topic>", noTopic.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Produce_with_acks_0_delivers_every_line()
    {
        await CreateTopicAsync("cli-acks0", 2);
        var input = string.Concat(Enumerable.Range(0, 500).Select(i => $"m{i}\n"));
        var run = await OmqAsync(["produce", "cli-acks0", "--acks", "0"], input);
        Assert.True(run.Exit == 0, run.ToString());

        // acks=0 has no answer, so no read-your-writes either: the last request can still be on its
        // way into the log when the CLI has exited (a loaded machine showed it). Every line must
        // arrive, within a bound.
        var lines = await Kcat.ConsumeAsync(_silo.Bootstrap, "cli-acks0", "%s\n");
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (lines.Length < 500 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
            lines = await Kcat.ConsumeAsync(_silo.Bootstrap, "cli-acks0", "%s\n");
        }

        Assert.Equal(Enumerable.Range(0, 500).Select(i => $"m{i}").Order(StringComparer.Ordinal), lines.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Bench_produce_prints_progress_and_a_summary_with_latency_percentiles()
    {
        var run = await OmqAsync(["bench", "produce", "--topic", "cli-bench", "--messages", "200000", "--size", "100", "--partitions", "3", "--producers", "2", "--linger-ms", "2", "--batch-size", "65536"]);
        Assert.True(run.Exit == 0, run.ToString());
        foreach (var field in new[] { "messages:  200,000", "msg/s:", "MB/s:", "p50", "p95", "p99", "max" })
        {
            Assert.Contains(field, run.Out, StringComparison.Ordinal);
        }

        // Every message is in the topic (3 partitions created by bench).
        var lines = await Kcat.ConsumeAsync(_silo.Bootstrap, "cli-bench", "%p\n");
        Assert.Equal(200_000, lines.Length);
        Assert.Equal(["0", "1", "2"], lines.Distinct().Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Bench_produce_for_a_duration_writes_json_and_plain_progress_lines()
    {
        var run = await OmqAsync(["bench", "produce", "--topic", "cli-bench-json", "--duration", "2", "--acks", "all", "-o", "json"]);
        Assert.True(run.Exit == 0, run.ToString());
        using var doc = JsonDocument.Parse(run.Out);
        var root = doc.RootElement;
        Assert.Equal("produce", root.GetProperty("mode").GetString());
        Assert.True(root.GetProperty("messages").GetInt64() > 0, run.ToString());
        Assert.True(root.GetProperty("msgPerSec").GetDouble() > 0);
        var latency = root.GetProperty("latency");
        Assert.True(latency.GetProperty("samples").GetInt64() > 0);
        Assert.True(latency.GetProperty("p50Ms").GetDouble() <= latency.GetProperty("p99Ms").GetDouble());
        Assert.True(latency.GetProperty("p99Ms").GetDouble() <= latency.GetProperty("maxMs").GetDouble());

        // Not a terminal: one plain line per second, no carriage returns.
        Assert.Contains("[produce", run.Err, StringComparison.Ordinal);
        Assert.DoesNotContain('\r', run.Err);
    }
}
