using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using OrleansMQ.Client;
using OrleansMQ.Client.Admin;
using OrleansMQ.Silo.Tests.Interop;
using Xunit;
using Xunit.Abstractions;

namespace OrleansMQ.Silo.Tests.Cluster;

/// <summary>
/// infra/cluster.sh as a user runs it: the real script, the real silo executable of this build
/// (SILO_BIN), the repository's Azurite, real kcat — on free ports and in a temp CLUSTER_DIR, so it
/// runs beside other clusters. Up 2 → both ready and one cluster (a topic created through silo 0
/// is in silo 1's Metadata); status; kill 1 → down; start 1 → ready again; down → no process
/// and no port left.
/// </summary>
public sealed partial class ClusterScriptTests : IAsyncLifetime
{
    private const int Silos = 2;
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(90);
    private readonly ITestOutputHelper _log;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "omq-cluster-script-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly Dictionary<string, string> _env;
    private readonly int _kafkaBase;
    private readonly int _httpBase;
    private readonly int _siloBase;
    private readonly int _blobPort;
    private readonly int _tablePort;

    // Every process the script started that this test saw, so DisposeAsync can stop what a failed step left.
    private readonly HashSet<int> _seenPids = [];
    private bool _down;

    public ClusterScriptTests(ITestOutputHelper log)
    {
        _log = log;
        var taken = new HashSet<int>();
        _kafkaBase = FreeRange(Silos, taken);
        _httpBase = FreeRange(Silos, taken);
        _siloBase = FreeRange(Silos, taken);
        _blobPort = FreeRange(1, taken);
        _tablePort = FreeRange(1, taken);
        _env = new Dictionary<string, string>
        {
            ["CLUSTER_DIR"] = _dir,
            ["KAFKA_BASE"] = Invariant(_kafkaBase),
            ["HTTP_BASE"] = Invariant(_httpBase),
            ["SILO_BASE"] = Invariant(_siloBase),
            ["GATEWAY_BASE"] = "0",
            ["AZURITE_BLOB_PORT"] = Invariant(_blobPort),
            ["AZURITE_TABLE_PORT"] = Invariant(_tablePort),
            ["CLUSTER_ID"] = "t" + Guid.NewGuid().ToString("N")[..10],
            ["SILO_BIN"] = Path.Combine(AppContext.BaseDirectory, "OrleansMQ.Silo"),
            ["READY_TIMEOUT"] = "60",

            // Passed through to every silo: small segments (the check below sees them).
            ["OrleansMQ__Storage__SegmentSize"] = Invariant(16 << 20),
        };
    }

    public Task InitializeAsync()
    {
        // The script starts the repository's Azurite (Tests/interop/azurite): fail here with the
        // install hint, as the other Azurite tests do, rather than on the script's npm ci.
        Storage.Tests.Tiering.AzuriteFixture.FindNode();
        Storage.Tests.Tiering.AzuriteFixture.FindAzuriteMain("table");
        Storage.Tests.Tiering.AzuriteFixture.FindAzuriteMain("blob");
        ExternalTool.Require("kcat");
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (!_down)
        {
            await ScriptAsync("down");
        }

        // A backstop by pid: only processes this test saw the script start, and only while they still are one.
        foreach (var pid in _seenPids.Where(IsRunning))
        {
            try
            {
                using var p = Process.GetProcessById(pid);
                if (p.ProcessName is "OrleansMQ.Silo" or "node")
                {
                    p.Kill();
                }
            }
            catch (ArgumentException)
            {
            }
        }

        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    [Fact]
    public async Task Up_status_kill_start_and_down_drive_a_two_silo_cluster()
    {
        var up = await ScriptAsync("up", Invariant(Silos));
        Assert.True(up.ExitCode == 0, $"up {Silos} failed (exit {up.ExitCode}):\n{up.Stderr}{Logs()}");
        RememberPids();
        for (int i = 0; i < Silos; i++)
        {
            Assert.Equal(HttpStatusCode.OK, await ReadyzAsync(i));
        }

        // One cluster: a topic created through silo 0 is in silo 1's Metadata for all topics. That
        // list is silo 1's topic cache, which the topic directory updates by push, so it may trail
        // the creation by a moment: bounded wait.
        await using (var admin = new KafkaAdminClient(new ClientOptions { BootstrapServers = Bootstrap(0) }))
        {
            await admin.CreateTopicAsync(new NewTopic("script-orders", 3));
        }

        var clock = Stopwatch.StartNew();
        List<int>? partitions;
        while (true)
        {
            var topics = await MetadataAsync(1);
            if (topics.TryGetValue("script-orders", out partitions))
            {
                break;
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"silo 1's Metadata lacks script-orders 15 s after its creation through silo 0: [{string.Join(", ", topics.Keys)}]");
            await Task.Delay(200);
        }

        _log.WriteLine($"silo 1 listed the topic {clock.ElapsedMilliseconds} ms after its creation through silo 0");
        Assert.Equal(3, partitions.Count);

        // The passed-through OrleansMQ__* setting reached both silos (their first segment is 16 MiB, not 1 GiB).
        for (int i = 0; i < Silos; i++)
        {
            var segment = new FileInfo(Path.Combine(_dir, "silo-" + Invariant(i), "commitlog", "00000000000000000000"));
            Assert.True(segment.Exists, $"silo {i} has no first CommitLog segment");
            Assert.Equal(16L << 20, segment.Length);
        }

        // status: one line per silo, its pid running, its ports, and leads counted from Metadata:
        // together the silos lead every partition that has a live leader in silo 0's Metadata.
        var status = await StatusAsync();
        Assert.Equal(Silos, status.Count);
        for (int i = 0; i < Silos; i++)
        {
            Assert.True(status[i].Pid is int pid && IsRunning(pid), $"status line {i}: {status[i].Line}");
            Assert.Equal(_kafkaBase + i, status[i].KafkaPort);
            Assert.Equal(_httpBase + i, status[i].HttpPort);
        }

        var led = (await MetadataAsync(0)).Values.SelectMany(p => p).Count(leader => leader is >= 0 and < Silos);
        Assert.True(led >= 3, $"silo 0's Metadata has {led} partitions with a live leader");
        Assert.All(status, s => Assert.NotNull(s.Leads));
        Assert.Equal(led, status.Sum(s => s.Leads!.Value));

        // kill 1: SIGKILL; status says down; the process is gone.
        int killed = status[1].Pid!.Value;
        var kill = await ScriptAsync("kill", "1");
        Assert.True(kill.ExitCode == 0, $"kill 1 failed:\n{kill.Stderr}");
        Assert.False(IsRunning(killed), $"silo 1 (pid {killed}) still runs after kill 1");
        status = await StatusAsync();
        Assert.Null(status[1].Pid);
        Assert.Contains(" down ", status[1].Line, StringComparison.Ordinal);
        Assert.True(status[0].Pid is int alive && IsRunning(alive), status[0].Line);

        // start 1: the same silo (ports, data) back and ready, a new process.
        var start = await ScriptAsync("start", "1");
        Assert.True(start.ExitCode == 0, $"start 1 failed (exit {start.ExitCode}):\n{start.Stderr}{Logs()}");
        RememberPids();
        Assert.Equal(HttpStatusCode.OK, await ReadyzAsync(1));
        status = await StatusAsync();
        Assert.True(status[1].Pid is int restarted && restarted != killed && IsRunning(restarted), status[1].Line);
        Assert.True((await MetadataAsync(1)).ContainsKey("script-orders"), "silo 1 lost the topic across its restart");

        // down: every silo and Azurite gone, every port free; the data stays.
        RememberPids();
        var down = await ScriptAsync("down");
        _down = down.ExitCode == 0;
        Assert.True(down.ExitCode == 0, $"down failed:\n{down.Stderr}");
        Assert.DoesNotContain(_seenPids, IsRunning);
        var ports = new List<int> { _blobPort, _tablePort };
        for (int i = 0; i < Silos; i++)
        {
            ports.AddRange([_kafkaBase + i, _httpBase + i, _siloBase + i]);
        }

        foreach (var port in ports)
        {
            Assert.False(Listening(port), $"something still listens on port {port} after down:\n{await SocketsOnAsync(port)}");
        }

        Assert.True(Directory.Exists(Path.Combine(_dir, "silo-0", "commitlog")), "down (without --clean) removed the data");
        Assert.DoesNotContain(await StatusAsync(), s => s.Pid is not null);
    }

    private sealed record StatusLine(string Line, int Index, int? Pid, int KafkaPort, int HttpPort, int? Leads);

    [GeneratedRegex(@"^silo (\d+)\s+(?:pid (\d+)|down)\s+kafka 127\.0\.0\.1:(\d+)\s+http 127\.0\.0\.1:(\d+)\s+leads (\d+|\?)")]
    private static partial Regex StatusPattern();

    private async Task<List<StatusLine>> StatusAsync()
    {
        var result = await ScriptAsync("status");
        Assert.True(result.ExitCode == 0, $"status failed:\n{result.Stderr}");
        var lines = new List<StatusLine>();
        foreach (var line in result.Lines)
        {
            var m = StatusPattern().Match(line);
            Assert.True(m.Success, $"status line not in the documented form: '{line}'");
            lines.Add(new StatusLine(
                line,
                int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture),
                m.Groups[2].Success ? int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) : null,
                int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture),
                int.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture),
                m.Groups[5].Value == "?" ? null : int.Parse(m.Groups[5].Value, CultureInfo.InvariantCulture)));
        }

        Assert.Equal(Enumerable.Range(0, lines.Count), lines.Select(l => l.Index));
        return lines;
    }

    /// <summary>Topic → the leader of each partition, from <c>kcat -L -J</c> against silo <paramref name="silo"/>.</summary>
    private async Task<Dictionary<string, List<int>>> MetadataAsync(int silo)
    {
        var result = await ExternalTool.RunAsync(ExternalTool.Require("kcat"), ["-L", "-J", "-b", Bootstrap(silo), "-m", "10"], timeout: TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, $"kcat -L against silo {silo} failed: {result.Stderr}");
        using var doc = JsonDocument.Parse(result.Stdout);
        var topics = new Dictionary<string, List<int>>();
        foreach (var topic in doc.RootElement.GetProperty("topics").EnumerateArray())
        {
            topics[topic.GetProperty("topic").GetString()!] = topic.GetProperty("partitions").EnumerateArray().Select(p => p.GetProperty("leader").GetInt32()).ToList();
        }

        return topics;
    }

    private async Task<HttpStatusCode> ReadyzAsync(int silo)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{Invariant(_httpBase + silo)}/readyz"));
        return response.StatusCode;
    }

    private string Bootstrap(int silo) => "127.0.0.1:" + Invariant(_kafkaBase + silo);

    /// <summary>Runs <c>bash infra/cluster.sh ARGS</c> with this test's environment.</summary>
    private async Task<ExternalTool.Result> ScriptAsync(params string[] args)
    {
        var psi = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        psi.ArgumentList.Add(FindScript());
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (k, v) in _env)
        {
            psi.Environment[k] = v;
        }

        var clock = Stopwatch.StartNew();
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(CommandTimeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"cluster.sh {string.Join(' ', args)} did not finish in {CommandTimeout.TotalSeconds} s{Logs()}");
        }

        var result = new ExternalTool.Result(process.ExitCode, await stdout, await stderr);
        _log.WriteLine($"$ cluster.sh {string.Join(' ', args)}  ({clock.Elapsed.TotalSeconds:F1} s, exit {result.ExitCode})\n{result.Stdout}{result.Stderr}");
        return result;
    }

    private static string FindScript()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var script = Path.Combine(dir.FullName, "infra", "cluster.sh");
            if (File.Exists(script))
            {
                return script;
            }
        }

        Assert.Fail("infra/cluster.sh not found above " + AppContext.BaseDirectory);
        return "";
    }

    /// <summary>Adds the pids in the script's pid files (silos and Azurite) to <see cref="_seenPids"/>.</summary>
    private void RememberPids()
    {
        foreach (var file in Directory.GetFiles(_dir, "*.pid"))
        {
            var first = File.ReadAllText(file).Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
            if (int.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                _seenPids.Add(pid);
            }
        }
    }

    private string Logs()
    {
        var text = new StringBuilder();
        for (int i = 0; i < Silos; i++)
        {
            var log = Path.Combine(_dir, $"silo-{Invariant(i)}.log");
            if (File.Exists(log))
            {
                var lines = File.ReadAllLines(log);
                text.Append(CultureInfo.InvariantCulture, $"\n--- silo-{i}.log (last 40 lines) ---\n").AppendJoin('\n', lines.TakeLast(40));
            }
        }

        return text.ToString();
    }

    /// <summary>True while the process exists and is not a zombie (a killed silo nobody reaped yet is gone for a user).</summary>
    private static bool IsRunning(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{Invariant(pid)}/stat");
        }
        catch (IOException)
        {
            return false;
        }

        var afterName = stat[(stat.LastIndexOf(')') + 2)..];
        return afterName[0] != 'Z';
    }

    /// <summary>True when a connection to 127.0.0.1:<paramref name="port"/> is accepted (every listener of the cluster answers there).</summary>
    private static bool Listening(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>What <c>ss</c> shows on the port, for a failure message.</summary>
    private static async Task<string> SocketsOnAsync(int port)
    {
        var ss = await ExternalTool.RunAsync("ss", ["-tanp", $"sport = :{Invariant(port)}"], timeout: TimeSpan.FromSeconds(10));
        return ss.Stdout + ss.Stderr;
    }

    /// <summary>A listener can take the port on every address (as Orleans' silo port does).</summary>
    private static bool CanListen(int port)
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            // As a server's listener does: a connection of the stopped silo lingering in TIME_WAIT does not count.
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(new IPEndPoint(IPAddress.Any, port));
            socket.Listen();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>
    /// A base port such that base..base+count-1 are free now and not handed out before in
    /// <paramref name="taken"/>. Below the kernel's ephemeral range (32768 and up by default), unlike
    /// TestSilo.FreePort: these ports are fixed seconds before a silo binds them, and in that time
    /// an outgoing connection (silo 0 to Azurite, kcat) could take an ephemeral one.
    /// </summary>
    private static int FreeRange(int count, HashSet<int> taken)
    {
        for (int attempt = 0; attempt < 1000; attempt++)
        {
            int first = Random.Shared.Next(20000, 32000 - count);
            var range = Enumerable.Range(first, count).ToList();
            if (range.All(p => !taken.Contains(p) && CanListen(p)))
            {
                taken.UnionWith(range);
                return first;
            }
        }

        throw new InvalidOperationException($"no {count} consecutive free ports found");
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
