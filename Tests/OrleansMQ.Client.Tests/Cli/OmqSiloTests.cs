using OrleansMQ.Cli;
using OrleansMQ.Silo.Tests.Broker;
using Xunit;

namespace OrleansMQ.Client.Tests.Cli;

/// <summary>
/// What the omq admin command tests share: one in-process silo per test class instance, omq run
/// in-process against it with captured output, and the checks on that output.
/// </summary>
public abstract class OmqSiloTests : IAsyncLifetime
{
    protected TestSilo Silo { get; private set; } = null!;

    protected ClientOptions Client => new() { BootstrapServers = Silo.Bootstrap };

    public async Task InitializeAsync() => Silo = await TestSilo.StartAsync();

    public async Task DisposeAsync() => await Silo.DisposeAsync();

    protected sealed record Run(int Exit, string Out, string Err)
    {
        public string[] Lines => Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        public override string ToString() => $"exit {Exit}\nstdout:\n{Out}\nstderr:\n{Err}";
    }

    /// <summary>Runs omq with <paramref name="args"/> against the silo (-b added).</summary>
    protected async Task<Run> OmqAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int exit = await OmqCli.RunAsync([.. args, "-b", Silo.Bootstrap], stdout, stderr, _ => null);
        return new Run(exit, stdout.ToString(), stderr.ToString());
    }

    protected static void AssertOk(Run run) => Assert.True(run.Exit == 0 && run.Err.Length == 0, run.ToString());

    protected static string[] Cells(string line) => line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}
