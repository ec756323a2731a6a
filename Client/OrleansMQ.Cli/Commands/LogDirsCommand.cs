using System.Globalization;
using OrleansMQ.Cli.Infrastructure;

namespace OrleansMQ.Cli.Commands;

/// <summary><c>omq log-dirs [--broker N...]</c>: each broker's log directory, its volume and the size of every partition in it (kafka-log-dirs --describe).</summary>
internal sealed class LogDirsCommand : Command
{
    public override string Name => "log-dirs";

    public override string Summary => "Show each broker's log directory: partition sizes, disk total and free.";

    public override string Arguments => "[--broker N...]";

    public override IReadOnlyList<OptionSpec> Options { get; } =
    [
        new("broker", null, "id", "Only this broker; repeat for several. Default: every broker.", Repeatable: true),
        new("topic", "t", "topic", "Only the partitions of this topic; repeat for several.", Repeatable: true),
    ];

    public override async Task<int> RunAsync(CommandContext context)
    {
        context.NoPositionals();
        List<int>? brokers = null;
        if (context.Arguments.Values("broker") is { Count: > 0 } ids)
        {
            brokers = [];
            foreach (string id in ids)
            {
                brokers.Add(int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out int b) ? b : throw new UsageException($"--broker needs a broker id; got '{id}'"));
            }
        }

        var topics = context.Arguments.Values("topic").ToHashSet(StringComparer.Ordinal);
        var dirs = await context.Admin.DescribeLogDirsAsync(brokers, context.CancellationToken).ConfigureAwait(false);
        var shown = dirs.Select(d => d with { Partitions = topics.Count == 0 ? d.Partitions : d.Partitions.Where(p => topics.Contains(p.Topic)).ToList() }).ToList();
        if (context.Format == OutputFormat.Json)
        {
            Output.Json(context.Out, shown);
            return OmqCli.ExitOk;
        }

        foreach (var dir in shown)
        {
            string disk = dir.TotalBytes >= 0 ? $", disk {Bytes(dir.UsableBytes)} free of {Bytes(dir.TotalBytes)}" : "";
            string error = dir.Error == Protocol.Kafka.ErrorCode.None ? "" : $" ({dir.Error})";
            await context.Out.WriteLineAsync($"Broker {dir.BrokerId}: {dir.Path}{error}{disk}").ConfigureAwait(false);
            Output.Table(context.Out, ["TOPIC", "PARTITION", "SIZE", "OFFSET-LAG"], dir.Partitions.Select(p => new[]
            {
                p.Topic,
                p.Partition.ToString(CultureInfo.InvariantCulture),
                p.SizeBytes.ToString(CultureInfo.InvariantCulture),
                p.OffsetLag.ToString(CultureInfo.InvariantCulture) + (p.IsFuture ? " (future)" : ""),
            }));
        }

        return OmqCli.ExitOk;
    }

    private static string Bytes(long bytes) => bytes switch
    {
        < 0 => "?",
        >= 1L << 30 => (bytes / (double)(1L << 30)).ToString("0.0", CultureInfo.InvariantCulture) + " GiB",
        >= 1L << 20 => (bytes / (double)(1L << 20)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB",
        _ => bytes.ToString(CultureInfo.InvariantCulture) + " B",
    };
}
