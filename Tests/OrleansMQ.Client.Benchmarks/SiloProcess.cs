using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace OrleansMQ.Client.Benchmarks;

/// <summary>
/// The real silo as a child process (the built <c>Silo/bin/Release/net10.0/OrleansMQ.Silo</c>, or
/// <c>$OMQ_SILO_BIN</c>) on 127.0.0.1 with a free port and a temp data folder, so the benchmark
/// process's allocations are the client's alone. Retention keeps the folder bounded.
/// </summary>
internal sealed partial class SiloProcess : IDisposable
{
    private readonly Process _process;
    private readonly string _data;

    private SiloProcess(Process process, string data, int port)
    {
        _process = process;
        _data = data;
        Bootstrap = $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
    }

    public string Bootstrap { get; }

    public static SiloProcess Start()
    {
        string bin = Environment.GetEnvironmentVariable("OMQ_SILO_BIN") is { Length: > 0 } fromEnv ? fromEnv : FindSilo();
        string data = Path.Combine(Path.GetTempPath(), $"omq-client-bench-{Environment.ProcessId}-{Guid.NewGuid():N}");
        var info = new ProcessStartInfo(bin)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            "--data", data, "--port", "0", "--listen", "127.0.0.1", "--http-port", "0", "--silo-port", "0", "--gateway-port", "0", "--segment-size", (64L << 20).ToString(CultureInfo.InvariantCulture),
            "--OrleansMQ:Storage:RetentionBytes=" + (256L << 20).ToString(CultureInfo.InvariantCulture),
            "--Logging:LogLevel:Default=Information",
        })
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {bin}");
        var port = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line && ListenerLine().Match(line) is { Success: true } m)
            {
                port.TrySetResult(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
            }
        };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!port.Task.Wait(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException("the silo did not report its Kafka listener within 60 s");
        }

        return new SiloProcess(process, data, port.Task.Result);
    }

    private static string FindSilo()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OrleansMQ.sln")))
            {
                string bin = Path.Combine(dir.FullName, "Silo", "bin", "Release", "net10.0", "OrleansMQ.Silo");
                return File.Exists(bin) ? bin : throw new InvalidOperationException($"{bin} is missing: run 'dotnet build OrleansMQ.sln -c Release' first (or set OMQ_SILO_BIN)");
            }
        }

        throw new InvalidOperationException("OrleansMQ.sln not found above the benchmark's folder; set OMQ_SILO_BIN");
    }

    [GeneratedRegex(@"Kafka listener on 127\.0\.0\.1:(\d+)")]
    private static partial Regex ListenerLine();

    public void Dispose()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
