using System.Globalization;
using OrleansMQ.Cli.Infrastructure;

namespace OrleansMQ.Cli.Commands;

/// <summary><c>omq reassignments</c>: the partition reassignments in progress (kafka-reassign-partitions --list).</summary>
internal sealed class ReassignmentsCommand : Command
{
    public override string Name => "reassignments";

    public override string Summary => "Show the partition reassignments in progress.";

    public override string Arguments => "";

    public override async Task<int> RunAsync(CommandContext context)
    {
        context.NoPositionals();
        var moves = await context.Admin.ListPartitionReassignmentsAsync(null, context.CancellationToken).ConfigureAwait(false);
        if (context.Format == OutputFormat.Json)
        {
            Output.Json(context.Out, moves);
            return OmqCli.ExitOk;
        }

        static string Ids(IReadOnlyList<int> ids) => ids.Count == 0 ? "-" : string.Join(',', ids.Select(i => i.ToString(CultureInfo.InvariantCulture)));
        Output.Table(
            context.Out,
            ["TOPIC", "PARTITION", "REPLICAS", "ADDING", "REMOVING"],
            moves.Select(m => new[] { m.Topic, m.Partition.ToString(CultureInfo.InvariantCulture), Ids(m.Replicas), Ids(m.Adding), Ids(m.Removing) }));
        return OmqCli.ExitOk;
    }
}
