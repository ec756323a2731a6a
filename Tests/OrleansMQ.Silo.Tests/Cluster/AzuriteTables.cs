using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using OrleansMQ.Silo.Tests.Broker;
using Xunit;

namespace OrleansMQ.Silo.Tests.Cluster;

/// <summary>
/// A real Azurite table service (npm azurite 3.x in Tests/interop/azurite, installed by
/// infra/test.sh) on a free loopback port with its data in a temp folder: the membership table and
/// grain state of a cluster test. Missing node or Azurite fails the test with the install hint.
/// </summary>
public sealed class AzuriteTables : IAsyncLifetime
{
    private const string Account = "devstoreaccount1";

    // Azurite's well-known development key (public, documented by Microsoft for the emulator).
    private const string Key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly StringBuilder _output = new();
    private readonly string _location = Path.Combine(Path.GetTempPath(), "omq-azurite-tables-" + Guid.NewGuid().ToString("N"));
    private Process? _process;

    /// <param name="host">The address Azurite listens on (a bridge address when silos run in network namespaces).</param>
    public AzuriteTables(string host = "127.0.0.1") => Host = host;

    public string Host { get; }

    public int Port { get; } = TestSilo.FreePort();

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={Account};AccountKey={Key};TableEndpoint=http://{Host}:{Port.ToString(CultureInfo.InvariantCulture)}/{Account};";

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_location);
        var main = Storage.Tests.Tiering.AzuriteFixture.FindAzuriteMain("table");
        var psi = new ProcessStartInfo(Storage.Tests.Tiering.AzuriteFixture.FindNode())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { main, "--tableHost", Host, "--tablePort", Port.ToString(CultureInfo.InvariantCulture), "--location", _location, "--silent", "--disableTelemetry" })
        {
            psi.ArgumentList.Add(arg);
        }

        var process = Process.Start(psi)!;

        process.OutputDataReceived += (_, e) => Collect(e.Data);
        process.ErrorDataReceived += (_, e) => Collect(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            Assert.False(process.HasExited, $"Azurite (tables) exited while starting:\n{_output}");
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(Host, Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    public async Task DisposeAsync()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
        }

        _process?.Dispose();
        try
        {
            Directory.Delete(_location, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void Collect(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }
}
