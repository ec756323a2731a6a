using OrleansMQ.Silo.Tests.Broker;
using OrleansMQ.Silo.Tests.Cluster;
using OrleansMQ.Silo.Tests.Interop;
using Xunit;
using Xunit.Abstractions;

namespace OrleansMQ.Silo.Tests.Streaming;

/// <summary>
/// The sample application (samples/OrleansMQ.Samples.Streams, docs/streaming.md "Sample") as a user
/// runs it: its built program, in a process of its own, against a real OrleansMQ silo process.
/// </summary>
public sealed class StreamsSampleTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_sample_app_delivers_every_event_in_order_through_a_real_orleansmq_silo()
    {
        await using var broker = new SiloProcess("sample", new Dictionary<string, string>());
        await broker.StartAsync();

        var result = await RunSampleAsync("--bootstrap", broker.Bootstrap, "--events", "2000", "--timeout", "45");

        Assert.True(result.ExitCode == 0, $"the sample exited with {result.ExitCode}:\n{result.Stdout}\n{result.Stderr}\n{broker.Output}");
        Assert.Equal("received 2000 of 2000 events over 10 streams, in order", SummaryOf(result));
        for (int customer = 1; customer <= 10; customer++)
        {
            Assert.Contains(result.Lines, l => l.StartsWith($"customer-{customer}: 200 of 200 events, in order", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task The_sample_exits_1_naming_the_broker_when_none_answers()
    {
        string nowhere = $"127.0.0.1:{TestSilo.FreePort()}";

        var result = await RunSampleAsync("--bootstrap", nowhere, "--events", "10", "--timeout", "5");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains(result.Lines, l => l.Contains($"is OrleansMQ running at {nowhere}?", StringComparison.Ordinal));
    }

    private async Task<ExternalTool.Result> RunSampleAsync(params string[] args)
    {
        var result = await ExternalTool.RunAsync(ExternalTool.Require("dotnet"), [SamplePath(), .. args], timeout: TimeSpan.FromSeconds(90));
        output.WriteLine(result.Stdout);
        output.WriteLine(result.Stderr);
        return result;
    }

    // The summary line, without the elapsed time in parentheses at its end.
    private static string SummaryOf(ExternalTool.Result result)
    {
        string? line = result.Lines.LastOrDefault(l => l.StartsWith("received ", StringComparison.Ordinal))?.TrimEnd();
        Assert.True(line is not null, $"no summary line in:\n{result.Stdout}");
        int time = line.LastIndexOf(" (", StringComparison.Ordinal);
        return time < 0 ? line : line[..time];
    }

    private static string SamplePath()
    {
        // Tests/OrleansMQ.Silo.Tests/bin/<Config>/<tfm>/ → samples/OrleansMQ.Samples.Streams/bin/<Config>/<tfm>/
        // (built before this project by its ProjectReference to the sample).
        var baseDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string tfm = baseDir.Name;
        string config = baseDir.Parent!.Name;
        string root = baseDir.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
        string path = Path.Combine(root, "samples", "OrleansMQ.Samples.Streams", "bin", config, tfm, "OrleansMQ.Samples.Streams.dll");
        Assert.True(File.Exists(path), $"the sample is not built at {path}");
        return path;
    }
}
