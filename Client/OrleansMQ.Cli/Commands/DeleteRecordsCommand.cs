using System.Globalization;
using OrleansMQ.Cli.Infrastructure;
using OrleansMQ.Protocol;

namespace OrleansMQ.Cli.Commands;

/// <summary>
/// <c>omq delete-records --topic T --partition P --before OFFSET</c>: deletes a partition's records
/// before OFFSET (-1: the high watermark, i.e. all) by moving its log start (kafka-delete-records).
/// </summary>
internal sealed class DeleteRecordsCommand : Command
{
    public override string Name => "delete-records";

    public override string Summary => "Delete a partition's records before an offset (moves its log start).";

    public override string Arguments => "--topic T --partition P --before OFFSET";

    public override IReadOnlyList<OptionSpec> Options { get; } =
    [
        new("topic", "t", "topic", "The partition's topic."),
        new("partition", "p", "N", "The partition."),
        new("before", null, "offset", "Records below this offset go; -1: every record up to the high watermark."),
    ];

    public override async Task<int> RunAsync(CommandContext context)
    {
        context.NoPositionals();
        string topic = context.Arguments.Value("topic") ?? throw new UsageException("give --topic T");
        int partition = context.Arguments.Int("partition", min: 0) ?? throw new UsageException("give --partition P");
        long before = context.Arguments.Long("before") ?? throw new UsageException("give --before OFFSET");
        if (before < -1)
        {
            throw new UsageException($"--before needs an offset >= 0, or -1 for the high watermark; got {before}");
        }

        var result = await context.Admin.DeleteRecordsAsync(new Dictionary<TopicPartition, long> { [new TopicPartition(topic, partition)] = before }, context.CancellationToken).ConfigureAwait(false);
        var deleted = result[0];
        if (context.Format == OutputFormat.Json)
        {
            Output.Json(context.Out, deleted);
        }
        else
        {
            await context.Out.WriteLineAsync($"{deleted.Topic}-{deleted.Partition} now starts at offset {deleted.LowWatermark.ToString(CultureInfo.InvariantCulture)}.").ConfigureAwait(false);
        }

        return OmqCli.ExitOk;
    }
}
