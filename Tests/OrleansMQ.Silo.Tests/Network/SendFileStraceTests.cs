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

    [GeneratedRegex(@"\)\s+=\s+(\d+)\s*$")]
    private static partial Regex ResultPattern();

    private Process StartStrace(string traceFile)
    {
        var start = new ProcessStartInfo(FindStrace()!)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (string arg in new[] { "-f", "-e", "trace=sendfile", "-o", traceFile, "-p", Environment.ProcessId.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(arg);
        }

        var strace = Process.Start(start)!;
        strace.ErrorDataReceived += (_, e) => Log(e.Data);
        strace.OutputDataReceived += (_, e) => Log(e.Data);
        strace.BeginErrorReadLine();
        strace.BeginOutputReadLine();

        // Attached once every thread of this process names strace as its tracer.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!AllThreadsTracedBy(strace.Id))
        {
            if (strace.HasExited)
            {
                throw new Xunit.Sdk.XunitException($"strace could not attach (exit code {strace.ExitCode}); is ptrace allowed here?");
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException("strace did not attach within 20 s");
            }

            Thread.Sleep(20);
        }

        return strace;
    }

    private static bool AllThreadsTracedBy(int tracer)
    {
        foreach (string task in Directory.EnumerateDirectories($"/proc/{Environment.ProcessId}/task"))
        {
            try
            {
                string? line = File.ReadLines(Path.Combine(task, "status")).FirstOrDefault(l => l.StartsWith("TracerPid:", StringComparison.Ordinal));
                if (line is null || int.Parse(line["TracerPid:".Length..].Trim(), CultureInfo.InvariantCulture) != tracer)
                {
                    return false;
                }
            }
            catch (IOException)
            {
                // The thread exited meanwhile.
            }
        }

        return true;
    }

    /// <summary>SIGINT makes strace detach from every thread and flush its output.</summary>
    private static async Task StopStraceAsync(Process strace)
    {
        if (strace.HasExited)
        {
            return;
        }

        using (var kill = Process.Start("kill", ["-INT", strace.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await strace.WaitForExitAsync(cts.Token);
    }

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
