using System.Globalization;
using OrleansMQ.Cli.Infrastructure;
using OrleansMQ.Protocol;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Cli.Commands;

/// <summary>
/// <c>omq elect-leaders [--unclean] [--topic T [--partition P]]</c>: preferred (default) or unclean
/// leader election (kafka-leader-election). Partitions already led as asked answer ELECTION_NOT_NEEDED,
/// which is not a failure; any other per-partition error makes the exit code 1.
/// </summary>
internal sealed class ElectLeadersCommand : Command
{
    public override string Name => "elect-leaders";

    public override string Summary => "Move leadership back to preferred replicas, or (--unclean) give leaderless partitions a live replica.";

    public override string Arguments => "[--unclean] [--topic T [--partition P...]]";

    public override IReadOnlyList<OptionSpec> Options { get; } =
    [
        new("unclean", null, null, "Unclean election: a partition without a live leader gets its first live replica, even out of sync (records only the old leader had are lost)."),
        new("topic", "t", "topic", "Only this topic. Default: every partition of every topic."),
        new("partition", "p", "N", "Only this partition of --topic; repeat for several.", Repeatable: true),
    ];

    public override async Task<int> RunAsync(CommandContext context)
    {
        context.NoPositionals();
        string? topic = context.Arguments.Value("topic");
        var partitionValues = context.Arguments.Values("partition");
        if (topic is null && partitionValues.Count > 0)
        {
            throw new UsageException("--partition needs --topic");
        }

        List<TopicPartition>? partitions = null;
        if (topic is not null)
        {
            var indexes = partitionValues.Count > 0
                ? partitionValues.Select(v => int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int p) ? p : throw new UsageException($"--partition needs a partition number; got '{v}'")).ToList()
                : (await context.Admin.DescribeTopicAsync(topic, context.CancellationToken).ConfigureAwait(false)).Partitions.Select(p => p.Partition).ToList();
            partitions = [.. indexes.Select(p => new TopicPartition(topic, p))];
        }

        var type = context.Arguments.Has("unclean") ? ElectionType.Unclean : ElectionType.Preferred;
        var results = await context.Admin.ElectLeadersAsync(type, partitions, context.CancellationToken).ConfigureAwait(false);
        bool failed = results.Any(r => r.Error is not (ErrorCode.None or ErrorCode.ElectionNotNeeded));
        if (context.Format == OutputFormat.Json)
        {
            Output.Json(context.Out, results);
        }
        else
        {
            Output.Table(
                context.Out,
                ["TOPIC", "PARTITION", "RESULT", "MESSAGE"],
                results.Select(r => new[] { r.Topic, r.Partition.ToString(CultureInfo.InvariantCulture), r.Error == ErrorCode.None ? "elected" : OmqCli.CodeName(r.Error), r.Message ?? "" }));
        }

        return failed ? OmqCli.ExitKafkaError : OmqCli.ExitOk;
    }
}
