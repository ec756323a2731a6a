using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using OrleansMQ.Storage.Tiering;
using Xunit;

namespace OrleansMQ.Storage.Tests.Tiering;

/// <summary>
/// A real Azurite blob service (npm package azurite 3.x, installed in Tests/interop/azurite by
/// infra/test.sh with npm ci) on a free loopback port with its data in a temp folder. It can be
/// stopped (SIGKILL, or SIGTERM) and started again on the same port and folder, which the outage
/// tests need. If Azurite or node is missing the tests fail with the install hint: CI installs
/// them, so a silent skip would hide a broken setup.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private readonly StringBuilder _output = new();
    private Process? _process;

    public AzuriteFixture()
    {
        Location = Path.Combine(Path.GetTempPath(), "omq-azurite-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Location);
        Port = FreePort();
    }

    public int Port { get; }

    /// <summary>Azurite's data folder; kept across restarts.</summary>
    public string Location { get; }

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The emulator's account name (Azurite's well-known development account).</summary>
    public const string DevelopmentAccountName = "devstoreaccount1";

    // The emulator's key is public and the same on every machine (documented with Azurite);
    // it is not a secret, which is why it may live in source.
    public const string DevelopmentAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// <summary>The blob endpoint of this instance (path-style: the account is the first path segment).</summary>
    public string BlobEndpoint => $"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}/{DevelopmentAccountName}";

    /// <summary>The full connection-string form pointing at this instance.</summary>
    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={DevelopmentAccountName};AccountKey={DevelopmentAccountKey};BlobEndpoint={BlobEndpoint};";

    /// <summary>A store on a fresh container name, so tests sharing this Azurite do not see each other's blobs.</summary>
    public AzureBlobStore CreateStore(string? container = null, BlobStoreOptions? options = null, ILogger? logger = null) =>
        AzureBlobStore.FromConnectionString(ConnectionString, container ?? "t" + Guid.NewGuid().ToString("N")[..20], options, logger);

    public Task InitializeAsync() => StartAsync();

    public async Task DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        try
        {
            Directory.Delete(Location, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Starts Azurite on <see cref="Port"/> and <see cref="Location"/> and waits until it answers HTTP.</summary>
    public async Task StartAsync()
    {
        if (IsRunning)
        {
            return;
        }

        string node = FindNode();
        string main = FindAzuriteMain();
        var psi = new ProcessStartInfo(node)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            main,
            "--blobHost", "127.0.0.1",
            "--blobPort", Port.ToString(CultureInfo.InvariantCulture),
            "--location", Location,
            "--silent", // no access log on stdout
            "--disableTelemetry", // no outbound calls from test machines
        })
        {
            psi.ArgumentList.Add(arg);
        }

        lock (_output)
        {
            _output.Clear();
        }

        var process = new Process { StartInfo = psi };
        process.OutputDataReceived += (_, e) => Collect(e.Data);
        process.ErrorDataReceived += (_, e) => Collect(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        // Ready means "answers HTTP": any status (403 for an unsigned request) will do.
        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                Assert.Fail($"Azurite exited with code {process.ExitCode} while starting on port {Port}. Output:\n{Output}");
            }

            try
            {
                using var response = await probe.GetAsync(new Uri($"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}/{DevelopmentAccountName}?comp=list")).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                if (clock.Elapsed > TimeSpan.FromSeconds(60))
                {
                    await StopAsync().ConfigureAwait(false);
                    Assert.Fail($"Azurite did not answer on port {Port} within 60 s. Output:\n{Output}");
                }

                await Task.Delay(100).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Stops Azurite: SIGKILL by default (a crash, nothing flushed), SIGTERM when <paramref name="graceful"/>.</summary>
    public async Task StopAsync(bool graceful = false)
    {
        var process = _process;
        _process = null;
        if (process is null)
        {
            return;
        }

        try
        {
            if (!process.HasExited)
            {
                if (graceful)
                {
                    using var kill = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]);
                    await kill.WaitForExitAsync().ConfigureAwait(false);
                    using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                    try
                    {
                        await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        process.Kill(entireProcessTree: true);
                    }
                }
                else
                {
                    process.Kill(entireProcessTree: true);
                }

                await process.WaitForExitAsync().ConfigureAwait(false);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        finally
        {
            process.Dispose();
        }
    }

    /// <summary>Stops and starts again on the same port and folder.</summary>
    public async Task RestartAsync(bool graceful = false)
    {
        await StopAsync(graceful).ConfigureAwait(false);
        await StartAsync().ConfigureAwait(false);
    }

    /// <summary>What Azurite printed since it last started (for failure messages).</summary>
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

    private void Collect(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            if (_output.Length < 64 * 1024)
            {
                _output.AppendLine(line);
            }
        }
    }

    /// <summary>
    /// A port for the emulator, which binds it later: above the kernel's ephemeral range
    /// (32768–60999 here), so no outgoing connection can take it between this pick and Azurite's
    /// bind, and clear of the silo tests' 10000–31999. Checked bindable, never handed out twice.
    /// </summary>
    private static int FreePort()
    {
        for (int attempt = 0; attempt < 200; attempt++)
        {
            int port = Random.Shared.Next(61_000, 65_536);
            if (!HandedOut.TryAdd(port, 0))
            {
                continue;
            }

            try
            {
                using var listener = new TcpListener(IPAddress.Any, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
            }
        }

        throw new InvalidOperationException("No free port in 61000-65535 after 200 tries.");
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, byte> HandedOut = new();

    internal static string FindNode()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, "node");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        Assert.Fail("node is not installed, so Azurite cannot run; infra/test.sh installs it (apt-get install nodejs npm).");
        return "";
    }

    /// <summary>The entry point of one Azurite service ("blob", "table", "queue") under Tests/interop/azurite/node_modules, found by walking up from the test binaries.</summary>
    internal static string FindAzuriteMain(string service = "blob")
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var folder = Path.Combine(dir.FullName, "Tests", "interop", "azurite");
            if (File.Exists(Path.Combine(folder, "package.json")))
            {
                var main = Path.Combine(folder, "node_modules", "azurite", "dist", "src", service, "main.js");
                if (!File.Exists(main))
                {
                    Assert.Fail($"Azurite is not installed in {folder}; run 'npm ci' there (infra/test.sh does).");
                }

                return main;
            }
        }

        Assert.Fail("Tests/interop/azurite not found above " + AppContext.BaseDirectory);
        return "";
    }
}
