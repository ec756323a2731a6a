using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using OrleansMQ.Silo.Tests.Broker;
using Xunit;

namespace OrleansMQ.Silo.Tests.Cluster;

/// <summary>
/// The silo executable as a child process on 127.0.0.1: free Kafka, HTTP and Orleans ports (unless
/// given), data in its own folder, settings as environment variables. It can be stopped gracefully
/// (SIGTERM) or killed (SIGKILL). Its output is kept for failure messages.
/// </summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private readonly StringBuilder _output = new();
    private readonly bool _ownsData;
    private readonly string[]? _launcher;
    private Process? _process;

    /// <param name="dataDirectory">A folder that outlives this process (a restart on the same data); null: a temp folder deleted at dispose.</param>
    /// <param name="kafkaPort">A fixed Kafka port (clients reconnect to it after a restart); null: a free one.</param>
    /// <param name="host">The address the silo listens on and advertises (a namespace's address in the partition tests).</param>
    /// <param name="launcher">A command the silo runs under (e.g. <c>ip netns exec NS</c>); null: started directly.</param>
    public SiloProcess(string name, IReadOnlyDictionary<string, string> settings, string? dataDirectory = null, int? kafkaPort = null, string host = "127.0.0.1", string[]? launcher = null)
    {
        Host = host;
        _launcher = launcher;
        Name = name;
        _ownsData = dataDirectory is null;
        DataDirectory = dataDirectory ?? Path.Combine(Path.GetTempPath(), "omq-" + name + "-" + Guid.NewGuid().ToString("N")[..8]);
        KafkaPort = kafkaPort ?? TestSilo.FreePort();
        HttpPort = TestSilo.FreePort();
        SiloPort = TestSilo.FreePort();
        Settings = new Dictionary<string, string>(settings)
        {
            ["OrleansMQ__Storage__DataDirectory"] = DataDirectory,
            ["OrleansMQ__Storage__SegmentSize"] = (16 << 20).ToString(CultureInfo.InvariantCulture),
            ["OrleansMQ__Broker__ListenAddress"] = host,
            ["OrleansMQ__Broker__Port"] = KafkaPort.ToString(CultureInfo.InvariantCulture),
            ["OrleansMQ__Http__ListenAddress"] = host,
            ["OrleansMQ__Http__Port"] = HttpPort.ToString(CultureInfo.InvariantCulture),
            ["OrleansMQ__Cluster__SiloPort"] = SiloPort.ToString(CultureInfo.InvariantCulture),
            ["OrleansMQ__Cluster__GatewayPort"] = "0",
            ["Logging__LogLevel__Default"] = "Warning",
        };
        foreach (var (k, v) in settings)
        {
            Settings[k] = v;
        }
    }

    public string Name { get; }

    public string Host { get; }

    public string DataDirectory { get; }

    public int KafkaPort { get; }

    public int HttpPort { get; }

    public int SiloPort { get; }

    public Dictionary<string, string> Settings { get; }

    public string Bootstrap => $"{Host}:{KafkaPort.ToString(CultureInfo.InvariantCulture)}";

    public Uri HttpBase => new($"http://{Host}:{HttpPort.ToString(CultureInfo.InvariantCulture)}/");

    public bool IsRunning => _process is { HasExited: false };

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts the process and waits until /readyz answers 200 (storage, Orleans, topics and groups loaded).</summary>
    public async Task StartAsync(TimeSpan? timeout = null)
    {
        string silo = Path.Combine(AppContext.BaseDirectory, "OrleansMQ.Silo");
        var info = new ProcessStartInfo(_launcher is null ? silo : _launcher[0])
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (_launcher is not null)
        {
            foreach (var arg in _launcher.Skip(1).Append(silo))
            {
                info.ArgumentList.Add(arg);
            }
        }

        foreach (var (k, v) in Settings)
        {
            info.Environment[k] = v;
        }

        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, e) => Collect(e.Data);
        process.ErrorDataReceived += (_, e) => Collect(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            Assert.False(process.HasExited, $"silo {Name} exited at start with code {(process.HasExited ? process.ExitCode : 0)}:\n{Output}");
            try
            {
                using var response = await http.GetAsync(new Uri(HttpBase, "readyz"));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }

            Assert.True(DateTime.UtcNow < deadline, $"silo {Name} was not ready in time:\n{Output}");
            await Task.Delay(100);
        }
    }

    /// <summary>SIGTERM and wait: the silo leaves the cluster cleanly.</summary>
    public async Task StopAsync()
    {
        if (_process is not { HasExited: false } p)
        {
            return;
        }

        using (var term = Process.Start("kill", ["-TERM", p.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await term.WaitForExitAsync();
        }

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(cts.Token);
    }

    public void Kill()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
        }
    }

    public async Task<KafkaTestClient> ConnectAsync() => new(await Network.RawKafkaClient.ConnectAsync(KafkaPort, address: IPAddress.Parse(Host)));

    public async ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        await Task.Yield();
        if (!_ownsData)
        {
            return;
        }

        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private void Collect(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            if (_output.Length < 1 << 20)
            {
                _output.AppendLine(line);
            }
        }
    }
}
