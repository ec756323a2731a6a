namespace OrleansMQ.Cli.Commands;

/// <summary><c>omq consume</c>: arrives with the consumer (replace this stub with the real command in this file).</summary>
internal sealed class ConsumeCommand : NotYetAvailableCommand
{
    public override string Name => "consume";

    public override string Summary => "Consume messages from a topic (not yet available).";
}
