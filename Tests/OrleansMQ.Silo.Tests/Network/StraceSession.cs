using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace OrleansMQ.Silo.Tests.Network;

/// <summary>
/// strace attached to this test process (every thread), tracing one syscall family into a file.
/// Tests that use it run in <see cref="StraceTestGroup"/> so no other test's syscalls mix in.
/// </summary>
internal static partial class StraceSession
{
    /// <summary>The return value of a traced call: "...) = 123".</summary>
    [GeneratedRegex(@"\)\s+=\s+(\d+)\s*$")]
    public static partial Regex ResultPattern();

    /// <summary>Bytes moved by the successful calls in a trace file.</summary>
    public static long BytesMoved(string traceFile, string syscall) =>
        File.ReadAllLines(traceFile)
            .Where(l => l.Contains(syscall, StringComparison.Ordinal))
            .Select(l => ResultPattern().Match(l))
            .Where(m => m.Success)
            .Sum(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));

    public static Process Start(string traceFile, Action<string?> log, string syscalls = "trace=sendfile")
    {
        var start = new ProcessStartInfo(SendFileStraceTests.FindStrace()!)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (string arg in new[] { "-f", "-e", syscalls, "-o", traceFile, "-p", Environment.ProcessId.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(arg);
        }

        var strace = Process.Start(start)!;
        strace.ErrorDataReceived += (_, e) => log(e.Data);
        strace.OutputDataReceived += (_, e) => log(e.Data);
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

    /// <summary>SIGINT makes strace detach from every thread and flush its output.</summary>
    public static async Task StopAsync(Process strace)
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
}
