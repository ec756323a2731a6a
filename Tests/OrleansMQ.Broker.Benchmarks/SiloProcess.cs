using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Broker.Benchmarks;

/// <summary>
/// A silo in its own process, started as infra/bench-groups.sh starts one — the built executable
/// (of any commit) with <c>--data DIR --port P --listen 127.0.0.1 --http-port H</c>, output to a
/// log file — but on free ports chosen here, so the ports are known before it starts and its
/// start can be timed from the moment the process is created. The Orleans silo's own ports come
/// from <c>OrleansMQ__Cluster__SiloPort</c> and <c>OrleansMQ__Cluster__GatewayPort</c> (free ports
/// too; a silo without Orleans ignores them). Other <c>OrleansMQ__...</c> variables of this process
/// pass through. With <c>probe</c>, the startup hook of OrleansMQ.Broker.Benchmarks.Probe is loaded
/// into it (<see cref="HeapAsync"/>).
/// </summary>
internal sealed partial class SiloProcess : IAsyncDisposable
{
    public const string SiloPortVariable = "OrleansMQ__Cluster__SiloPort";
    public const string GatewayPortVariable = "OrleansMQ__Cluster__GatewayPort";
    private const string ProbeAssembly = "OrleansMQ.Broker.Benchmarks.Probe.dll";
    private const string ProbeSocketVariable = "OMQ_BENCH_PROBE_SOCKET";
    private static readonly CultureInfo Culture = CultureInfo.InvariantCulture;
    private static bool _warm;
    private readonly Process _process;
    private readonly string? _probeSocket;

    private SiloProcess(Process process, long started, string logFile, int kafkaPort, int httpPort, string? probeSocket)
    {
        _process = process;
        Started = started;
        LogFile = logFile;
        KafkaPort = kafkaPort;
        HttpPort = httpPort;
        EndPoint = new IPEndPoint(IPAddress.Loopback, kafkaPort);
        _probeSocket = probeSocket;
    }

    public int Pid => _process.Id;

    /// <summary><see cref="Stopwatch.GetTimestamp"/> just before the process was created.</summary>
    public long Started { get; }

    public string LogFile { get; }

    public int KafkaPort { get; }

    public int HttpPort { get; }

    public IPEndPoint EndPoint { get; }

    /// <summary>Starts the silo <paramref name="executable"/> on <paramref name="dataDirectory"/>; its output is appended to <paramref name="logFile"/>.</summary>
    public static async Task<SiloProcess> StartAsync(string executable, string dataDirectory, string logFile, bool probe)
    {
        if (!File.Exists(executable))
        {
            throw new ArgumentException($"--silo {executable}: no such file (the silo's built executable, e.g. Silo/bin/Release/net10.0/OrleansMQ.Silo)");
        }

        // The readiness pollers' code (HTTP client, sockets) is compiled before the clock starts.
        await WarmUpAsync().ConfigureAwait(false);
        int[] ports = FreePorts(4);
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        foreach (string arg in new[] { "-c", "log=$1; shift; exec \"$@\" >>\"$log\" 2>&1", "omq-silo", logFile, executable })
        {
            info.ArgumentList.Add(arg);
        }

        foreach (string arg in new[] { "--data", dataDirectory, "--port", Str(ports[0]), "--listen", "127.0.0.1", "--http-port", Str(ports[1]) })
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment[SiloPortVariable] = Str(ports[2]);
        info.Environment[GatewayPortVariable] = Str(ports[3]);
        info.Environment.Remove("DOTNET_STARTUP_HOOKS");
        string? probeSocket = null;
        if (probe)
        {
            string hook = Path.Combine(AppContext.BaseDirectory, ProbeAssembly);
            if (!File.Exists(hook))
            {
                throw new InvalidOperationException($"{hook} missing (built with the load generator)");
            }

            // Unix socket paths are limited to ~100 bytes: a short name in the temp folder.
            probeSocket = Path.Combine(Path.GetTempPath(), "omq-probe-" + Guid.NewGuid().ToString("N")[..12] + ".sock");
            info.Environment["DOTNET_STARTUP_HOOKS"] = hook;
            info.Environment[ProbeSocketVariable] = probeSocket;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(logFile))!);
        File.AppendAllText(logFile, $"---- {DateTime.UtcNow:O} {executable} --data {dataDirectory} --port {ports[0]} --http-port {ports[1]}; {SiloPortVariable}={ports[2]} {GatewayPortVariable}={ports[3]}{(probe ? " (probe)" : "")}\n");
        long started = Stopwatch.GetTimestamp();
        var process = Process.Start(info) ?? throw new InvalidOperationException("the silo did not start");
        return new SiloProcess(process, started, logFile, ports[0], ports[1], probeSocket);
    }

    /// <summary>Milliseconds since the process was created.</summary>
    public double ElapsedMs() => Stopwatch.GetElapsedTime(Started).TotalMilliseconds;

    /// <summary>
    /// Polls until the silo is ready: the Kafka port accepts (<see cref="Readiness.ListenMs"/>); FindCoordinator
    /// for <paramref name="groupId"/> answers without error and OffsetFetch returns <paramref name="expected"/>
    /// (offset of partition p = expected[p]) for it — not COORDINATOR_LOAD_IN_PROGRESS or an offset not loaded
    /// yet (<see cref="Readiness.CoordinatorMs"/>); /readyz answers 200 (<see cref="Readiness.ReadyzMs"/>; -1 if
    /// the silo has no /readyz). All from the process's creation. A silo that exits throws; a timeout
    /// returns -1 for what did not happen, with the last answer seen.
    /// </summary>
    public async Task<Readiness> WaitReadyAsync(string groupId, string topic, long[]? expected, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var kafka = PollKafkaAsync(groupId, topic, expected, cts.Token);
        var readyz = PollReadyzAsync(cts.Token);
        await Task.WhenAll(kafka, readyz).ConfigureAwait(false);
        var (listenMs, coordinatorMs, kafkaLast) = await kafka.ConfigureAwait(false);
        var (readyzMs, readyzLast) = await readyz.ConfigureAwait(false);
        return new Readiness(listenMs, coordinatorMs, readyzMs, readyzLast == "404", coordinatorMs < 0 ? kafkaLast : readyzMs < 0 && readyzLast != "404" ? "/readyz: " + readyzLast : "");
    }

    private async Task<(double ListenMs, double CoordinatorMs, string Last)> PollKafkaAsync(string groupId, string topic, long[]? expected, CancellationToken ct)
    {
        double listen = -1;
        string last = "no connection";
        GroupWire? wire = null;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                ThrowIfExited();
                if (wire is null)
                {
                    try
                    {
                        wire = await GroupWire.ConnectAsync(EndPoint, "omq-bench-ready").ConfigureAwait(false);
                        if (listen < 0)
                        {
                            listen = ElapsedMs();
                        }
                    }
                    catch (SocketException ex)
                    {
                        last = "connect: " + ex.SocketErrorCode;
                        await DelayAsync(2, ct).ConfigureAwait(false);
                        continue;
                    }
                }

                try
                {
                    var coordinator = await wire.CallAsync<FindCoordinatorRequest, FindCoordinatorResponse>(new FindCoordinatorRequest { Key = groupId }, 3).ConfigureAwait(false);
                    if (coordinator.ErrorCode != ErrorCode.None)
                    {
                        last = "FindCoordinator: " + coordinator.ErrorCode;
                    }
                    else
                    {
                        var (ok, what) = await FetchMatchesAsync(wire, groupId, topic, expected).ConfigureAwait(false);
                        if (ok)
                        {
                            return (listen, ElapsedMs(), "");
                        }

                        last = what;
                    }
                }
                catch (Exception ex) when (ex is IOException or SocketException or InvalidDataException)
                {
                    last = ex.GetType().Name + ": " + ex.Message;
                    wire.Dispose();
                    wire = null;
                }

                await DelayAsync(5, ct).ConfigureAwait(false);
            }
        }
        finally
        {
            wire?.Dispose();
        }

        return (listen, -1, last);
    }

    /// <summary>OffsetFetch v5 of <paramref name="groupId"/>: every partition at its expected offset (or, with no expectation, an answer without error).</summary>
    public static async Task<(bool Ok, string What)> FetchMatchesAsync(GroupWire wire, string groupId, string topic, long[]? expected)
    {
        var request = new OffsetFetchRequest
        {
            GroupId = groupId,
            Topics = [new OffsetFetchRequest.Topic { Name = topic, PartitionIndexes = Enumerable.Range(0, expected?.Length ?? 1).ToList() }],
        };
        var fetched = await wire.CallAsync<OffsetFetchRequest, OffsetFetchResponse>(request, 5).ConfigureAwait(false);
        if (fetched.ErrorCode != ErrorCode.None)
        {
            return (false, "OffsetFetch: " + fetched.ErrorCode);
        }

        var partitions = fetched.Topics.SelectMany(t => t.Partitions).ToList();
        // With no expectation (a fresh silo, the topic perhaps not created yet) only the coordinator's own errors count.
        if (partitions.FirstOrDefault(p => expected is null ? p.ErrorCode is ErrorCode.CoordinatorLoadInProgress or ErrorCode.CoordinatorNotAvailable or ErrorCode.NotCoordinator : p.ErrorCode != ErrorCode.None) is { } failed)
        {
            return (false, $"OffsetFetch: partition {failed.PartitionIndex} {failed.ErrorCode}");
        }

        if (expected is null)
        {
            return (true, "");
        }

        var wrong = partitions.FirstOrDefault(p => p.PartitionIndex < 0 || p.PartitionIndex >= expected.Length || p.CommittedOffset != expected[p.PartitionIndex]);
        return wrong is null && partitions.Count == expected.Length
            ? (true, "")
            : (false, wrong is null
                ? $"OffsetFetch {groupId}: {partitions.Count} of {expected.Length} partitions"
                : $"OffsetFetch {groupId}: partition {wrong.PartitionIndex} at {wrong.CommittedOffset}, expected {(wrong.PartitionIndex >= 0 && wrong.PartitionIndex < expected.Length ? expected[wrong.PartitionIndex] : -1)}");
    }

    private async Task<(double Ms, string Last)> PollReadyzAsync(CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var uri = new Uri($"http://127.0.0.1:{HttpPort}/readyz");
        string last = "no connection";
        while (!ct.IsCancellationRequested)
        {
            ThrowIfExited();
            try
            {
                using var response = await http.GetAsync(uri, ct).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return (ElapsedMs(), "");
                }

                if (response.StatusCode == HttpStatusCode.NotFound)
                {
                    return (-1, "404");
                }

                last = ((int)response.StatusCode).ToString(Culture) + " " + (await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false)).Trim();
            }
            catch (HttpRequestException ex)
            {
                last = ex.Message;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                last = "timeout";
            }
            catch (OperationCanceledException)
            {
                break;
            }

            await DelayAsync(5, ct).ConfigureAwait(false);
        }

        return (-1, last);
    }

    /// <summary>The probe's reading: managed heap after forced full GCs, activations ("n/a" if unknown), and where the count came from.</summary>
    public async Task<ProbeReading> HeapAsync()
    {
        if (_probeSocket is null)
        {
            throw new InvalidOperationException("started without the probe");
        }

        var clock = Stopwatch.StartNew();
        while (true)
        {
            ThrowIfExited();
            try
            {
                using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(_probeSocket)).ConfigureAwait(false);
                await socket.SendAsync("heap\n"u8.ToArray(), SocketFlags.None).ConfigureAwait(false);
                var answer = new StringBuilder();
                var buffer = new byte[512];
                int n;
                while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None).ConfigureAwait(false)) > 0)
                {
                    answer.Append(Encoding.ASCII.GetString(buffer, 0, n));
                }

                var fields = answer.ToString().Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)
                    .Select(f => f.Split('=', 2)).Where(f => f.Length == 2).ToDictionary(f => f[0], f => f[1]);
                if (!fields.TryGetValue("heap", out string? heap))
                {
                    throw new InvalidDataException("probe answered: " + answer);
                }

                return new ProbeReading(long.Parse(heap, Culture), fields.GetValueOrDefault("activations", "n/a"), fields.GetValueOrDefault("source", "?"),
                    long.Parse(fields.GetValueOrDefault("rss", "0"), Culture));
            }
            catch (SocketException) when (clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                // The hook binds its socket before the silo's Main; a moment early at most.
                await Task.Delay(50).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Kafka ListGroups (v2): the number of groups the silo lists, or null if it fails.</summary>
    public async Task<int?> ListGroupsCountAsync()
    {
        try
        {
            using var wire = await GroupWire.ConnectAsync(EndPoint).ConfigureAwait(false);
            var response = await wire.CallAsync<ListGroupsRequest, ListGroupsResponse>(new ListGroupsRequest(), 2).ConfigureAwait(false);
            return response.ErrorCode == ErrorCode.None ? response.Groups.Count : null;
        }
        catch (Exception ex) when (ex is IOException or SocketException or InvalidDataException)
        {
            return null;
        }
    }

    /// <summary>SIGTERM (a clean stop, as the script's stop_silo), then waits; returns the milliseconds it took, or -1 if it had to be killed after <paramref name="timeout"/>.</summary>
    public async Task<double> StopAsync(TimeSpan timeout)
    {
        if (_process.HasExited)
        {
            throw new InvalidOperationException($"the silo had already exited (code {_process.ExitCode}); log {LogFile}:\n{LogTail()}");
        }

        var clock = Stopwatch.StartNew();
        _ = Kill(_process.Id, 15);
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            return clock.Elapsed.TotalMilliseconds;
        }
        catch (OperationCanceledException)
        {
            await KillAsync().ConfigureAwait(false);
            return -1;
        }
    }

    /// <summary>SIGKILL (kill -9: no shutdown at all), then waits for the process to be gone.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _ = Kill(_process.Id, 9);
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync().ConfigureAwait(false);
        _process.Dispose();
        if (_probeSocket is not null)
        {
            File.Delete(_probeSocket);
        }
    }

    private void ThrowIfExited()
    {
        if (_process.HasExited)
        {
            throw new InvalidOperationException($"the silo exited (code {_process.ExitCode}); log {LogFile}:\n{LogTail()}");
        }
    }

    private string LogTail()
    {
        try
        {
            return string.Join('\n', File.ReadLines(LogFile).TakeLast(40));
        }
        catch (IOException)
        {
            return "";
        }
    }

    private static async Task DelayAsync(int ms, CancellationToken ct)
    {
        try
        {
            await Task.Delay(ms, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Free TCP ports, all bound at once (so distinct), then released for the silo.</summary>
    private static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Any, 0)).ToList();
        try
        {
            listeners.ForEach(l => l.Start());
            return listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        }
        finally
        {
            listeners.ForEach(l => l.Stop());
        }
    }

    /// <summary>One refused connection and one refused HTTP request, once: the pollers' code paths are compiled before a start is timed.</summary>
    private static async Task WarmUpAsync()
    {
        if (_warm)
        {
            return;
        }

        _warm = true;
        int port = FreePorts(1)[0];
        try
        {
            using var wire = await GroupWire.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port)).ConfigureAwait(false);
        }
        catch (SocketException)
        {
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/readyz")).ConfigureAwait(false);
        }
        catch (HttpRequestException)
        {
        }
    }

    private static string Str(int value) => value.ToString(Culture);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}

/// <summary>Milliseconds from the silo process's creation (-1: did not happen before the timeout; <see cref="NoReadyz"/>: the silo has no /readyz).</summary>
internal sealed record Readiness(double ListenMs, double CoordinatorMs, double ReadyzMs, bool NoReadyz, string Problem)
{
    /// <summary>Ready: the coordinator answers with the offsets and /readyz (if any) says 200; -1 if not both.</summary>
    public double ReadyMs => CoordinatorMs < 0 || (ReadyzMs < 0 && !NoReadyz) ? -1 : Math.Max(CoordinatorMs, ReadyzMs);

    public bool Ok => ReadyMs >= 0;

    public string Describe(string what) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{what}: Kafka port accepting at {Ms(ListenMs)}, coordinator answering with the offsets at {Ms(CoordinatorMs)}, /readyz 200 at {(NoReadyz ? "n/a (no /readyz)" : Ms(ReadyzMs))} → ready at {Ms(ReadyMs)}{(Problem.Length > 0 ? " (" + Problem + ")" : "")}");

    private static string Ms(double ms) => ms < 0 ? "never (timeout)" : ms.ToString("0", CultureInfo.InvariantCulture) + " ms";
}

internal sealed record ProbeReading(long Heap, string Activations, string ActivationsSource, long Rss);
