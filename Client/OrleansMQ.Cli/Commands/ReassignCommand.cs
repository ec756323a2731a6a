using System.Globalization;
using OrleansMQ.Cli.Infrastructure;
using OrleansMQ.Protocol;

namespace OrleansMQ.Cli.Commands;

/// <summary>
/// <c>omq reassign --topic T --partition P --replicas 1,2,3 | --cancel</c>: moves a partition to
/// new replicas (kafka-reassign-partitions --execute) or cancels the move in progress (--cancel).
/// The move completes in the background once the new replicas are in sync; <c>omq reassignments</c> shows it until then.
/// </summary>
internal sealed class ReassignCommand : Command
{
    public override string Name => "reassign";

    public override string Summary => "Move a partition to new replicas (or cancel the move in progress).";

    public override string Arguments => "--topic T --partition P (--replicas 1,2,3 | --cancel)";

    public override IReadOnlyList<OptionSpec> Options { get; } =
    [
        new("topic", "t", "topic", "The partition's topic."),
        new("partition", "p", "N", "The partition to move."),
        new("replicas", "r", "ids", "Comma-separated broker ids, preferred leader first."),
        new("cancel", null, null, "Cancel the reassignment in progress: back to the original replicas."),
    ];

    public override async Task<int> RunAsync(CommandContext context)
    {
        context.NoPositionals();
        string topic = context.Arguments.Value("topic") ?? throw new UsageException("give --topic T");
        int partition = context.Arguments.Int("partition", min: 0) ?? throw new UsageException("give --partition P");
        string? replicasText = context.Arguments.Value("replicas");
        bool cancel = context.Arguments.Has("cancel");
        if (cancel == (replicasText is not null))
        {
            throw new UsageException("give either --replicas 1,2,3 or --cancel");
        }

        List<int>? replicas = null;
        if (replicasText is not null)
        {
            replicas = [];
            foreach (string id in replicasText.Split(',', StringSplitOptions.TrimEntries))
            {
                replicas.Add(int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out int b) ? b : throw new UsageException($"--replicas needs comma-separated broker ids; got '{replicasText}'"));
            }
        }

        var tp = new TopicPartition(topic, partition);
        await context.Admin.AlterPartitionReassignmentsAsync(new Dictionary<TopicPartition, IReadOnlyList<int>?> { [tp] = replicas }, context.CancellationToken).ConfigureAwait(false);
        if (context.Format == OutputFormat.Json)
        {
            Output.Json(context.Out, new { Topic = topic, Partition = partition, Replicas = replicas, Cancelled = cancel });
        }
        else
        {
            await context.Out.WriteLineAsync(cancel
                ? $"Cancelled the reassignment of {tp.Topic}-{partition}."
                : $"Reassigning {tp.Topic}-{partition} to replicas {string.Join(',', replicas!)}: it completes when they are in sync (see 'omq reassignments').").ConfigureAwait(false);
        }

        return OmqCli.ExitOk;
    }
}
