using System.Diagnostics.CodeAnalysis;
using OrleansMQ.Broker.Benchmarks.Probe;

/// <summary>
/// Entry point of the startup hook: the runtime calls <see cref="Initialize"/> before the silo's
/// Main when <c>DOTNET_STARTUP_HOOKS</c> names this assembly (the type must be outside any namespace).
/// Does nothing unless <c>OMQ_BENCH_PROBE_SOCKET</c> names the Unix socket to answer on.
/// </summary>
[SuppressMessage("Design", "CA1050:Declare types in namespaces", Justification = "The runtime looks the startup hook up as the global type StartupHook.")]
public static class StartupHook
{
    public static void Initialize()
    {
        string? path = Environment.GetEnvironmentVariable(SiloProbe.SocketVariable);
        if (!string.IsNullOrEmpty(path))
        {
            SiloProbe.Start(path);
        }
    }
}
