using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using OrleansMQ.Silo.Kafka.Network;
using Xunit;
using Xunit.Abstractions;

namespace OrleansMQ.Silo.Tests.Network;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class StraceTestGroup
{
    public const string Name = "strace (runs alone: it traces the whole test process)";
}

/// <summary>Skipped unless strace is on PATH.</summary>
public sealed class StraceFactAttribute : FactAttribute
{
    public StraceFactAttribute()
    {
        if (SendFileStraceTests.FindStrace() is null)
        {
            Skip = "strace is not on PATH";
        }
    }
}

/// <summary>
/// Proof from outside the process that file regions leave through sendfile(2): strace attaches
/// to this test process (every thread), a Fetch-shaped response is sent, and the trace must show
/// sendfile calls moving the region's bytes.
/// </summary>
[Collection(StraceTestGroup.Name)]
public sealed partial class SendFileStraceTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("orleansmq-strace-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    public static string? FindStrace() =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "strace"))
            .FirstOrDefault(File.Exists);

    [StraceFact]
    public async Task Strace_sees_sendfile_carry_the_file_region()
    {
        const int length = 4 << 20;
        string path = Path.Combine(_directory, "segment.log");
        var content = new byte[length];
        new Random(42).NextBytes(content);
        await File.WriteAllBytesAsync(path, content);
        using var file = File.OpenHandle(path);
        var processor = new FileRegionProcessor(file, 0, length);
        await using var listener = await TestListener.StartAsync(processor);
        using var client = await RawKafkaClient.ConnectAsync(listener.Port);

        string traceFile = Path.Combine(_directory, "trace.txt");
        using Process strace = StartStrace(traceFile);
        try
        {
            await client.SendFrameAsync([0, 0, 0, 7]);
            byte[] response = await client.ReadFrameOrThrowAsync();
            Assert.Equal(content, response.AsSpan(8, length).ToArray());
        }
        finally
        {
            await StopStraceAsync(strace);
        }

        string[] calls = (await File.ReadAllLinesAsync(traceFile)).Where(l => l.Contains("sendfile", StringComparison.Ordinal)).ToArray();
        foreach (string call in calls.Take(5))
        {
            output.WriteLine(call);
        }

        long moved = calls.Select(l => ResultPattern().Match(l)).Where(m => m.Success).Sum(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
        Assert.Equal(length, moved);
        Assert.Equal(length, listener.Metrics.BytesSentByFile);
    }

    private static Regex ResultPattern() => StraceSession.ResultPattern();

    private Process StartStrace(string traceFile) => StraceSession.Start(traceFile, Log);

    private static Task StopStraceAsync(Process strace) => StraceSession.StopAsync(strace);

    private void Log(string? line)
    {
        if (line is null)
        {
            return;
        }

        try
        {
            output.WriteLine("strace: " + line);
        }
        catch (InvalidOperationException)
        {
        }
    }
}
