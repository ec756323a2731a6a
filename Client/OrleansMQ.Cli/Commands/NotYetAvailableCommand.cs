using OrleansMQ.Cli.Infrastructure;

namespace OrleansMQ.Cli.Commands;

/// <summary>A command whose implementation lands later: says so and exits with the usage code (2).</summary>
internal abstract class NotYetAvailableCommand : Command
{
    public override bool AcceptsAnyArguments => true;

    public override string Arguments => "(not yet available)";

    public override string Description => $"Not yet available in this build: 'omq {Name}' prints so and exits with code {OmqCli.ExitUsage}.";

    public override async Task<int> RunAsync(CommandContext context)
    {
        await context.Error.WriteLineAsync($"omq: {Name} is not yet available in this build").ConfigureAwait(false);
        return OmqCli.ExitUsage;
    }
}
