namespace OrleansMQ.Cli.Commands;

/// <summary><c>omq produce</c>: arrives with the producer (replace this stub with the real command in this file).</summary>
internal sealed class ProduceCommand : NotYetAvailableCommand
{
    public override string Name => "produce";

    public override string Summary => "Produce messages to a topic (not yet available).";
}
