using System.Globalization;
using OrleansMQ.Cli.Infrastructure;

namespace OrleansMQ.Cli.Commands;

/// <summary><c>omq producers --topic T [--partition P...]</c>: the active idempotent producers of each partition (kafka-transactions describe-producers).</summary>
internal sealed class ProducersCommand : Command
{
    public override string Name => "producers";

    public override string Summary => "Show the active idempotent producers of a topic's partitions.";

    public override string Arguments => "--topic T [--partition P...]";

    public override IReadOnlyList<OptionSpec> Options { get; } =
    [
        new("topic", "t", "topic", "The topic whose producers to show."),
        new("partition", "p", "N", "Only this partition; repeat for several. Default: every partition.", Repeatable: true),
    ];

    public override async Task<int> RunAsync(CommandContext context)
    {
        context.NoPositionals();
        string topic = context.Arguments.Value("topic") ?? throw new UsageException("give --topic T");
        List<int>? partitions = null;
        if (context.Arguments.Values("partition") is { Count: > 0 } values)
        {
            partitions = [];
            foreach (string value in values)
            {
                partitions.Add(int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int p) ? p : throw new UsageException($"--partition needs a partition number; got '{value}'"));
            }
        }

        var result = await context.Admin.DescribeProducersAsync(topic, partitions, context.CancellationToken).ConfigureAwait(false);
        if (context.Format == OutputFormat.Json)
        {
            Output.Json(context.Out, result);
            return OmqCli.ExitOk;
        }

        static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);
        static string Time(long ms) => ms < 0 ? "-" : DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        Output.Table(
            context.Out,
            ["PARTITION", "PRODUCER-ID", "EPOCH", "LAST-SEQUENCE", "LAST-TIMESTAMP"],
            result.SelectMany(p => p.Producers.Select(a => new[] { Text(p.Partition), Text(a.ProducerId), Text(a.ProducerEpoch), Text(a.LastSequence), Time(a.LastTimestamp) })));
        return OmqCli.ExitOk;
    }
}
