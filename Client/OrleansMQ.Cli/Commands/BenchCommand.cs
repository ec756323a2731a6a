namespace OrleansMQ.Cli.Commands;

/// <summary><c>omq bench</c>: arrives with the producer and consumer (replace this stub with the real command in this file).</summary>
internal sealed class BenchCommand : NotYetAvailableCommand
{
    public override string Name => "bench";

    public override string Summary => "Measure produce/consume throughput and latency (not yet available).";
}
