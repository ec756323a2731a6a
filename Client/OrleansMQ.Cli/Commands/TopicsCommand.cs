using System.Globalization;
using OrleansMQ.Cli.Infrastructure;
using OrleansMQ.Client;
using OrleansMQ.Client.Admin;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Cli.Commands;

/// <summary><c>omq topics list|create|delete|describe|add-partitions</c>.</summary>
internal sealed class TopicsCommand : Command
{
    public override string Name => "topics";

    public override string Summary => "List, create, delete and describe topics.";

    public override IReadOnlyList<Command> Subcommands { get; } = [new List(), new Create(), new Delete(), new Describe(), new AddPartitions()];

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private sealed class List : Command
    {
        public override string Name => "list";

        public override string Summary => "List topics with their partition counts.";

        public override IReadOnlyList<OptionSpec> Options { get; } = [new("internal", null, null, "Include internal topics.")];

        public override async Task<int> RunAsync(CommandContext context)
        {
            context.NoPositionals();
            var topics = await context.Admin.ListTopicsAsync(context.Arguments.Has("internal"), context.CancellationToken).ConfigureAwait(false);
            if (context.Format == OutputFormat.Json)
            {
                Output.Json(context.Out, topics);
            }
            else
            {
                Output.Table(context.Out, ["TOPIC", "PARTITIONS", "INTERNAL"], topics.Select(t => new[] { t.Name, Text(t.PartitionCount), t.IsInternal ? "yes" : "no" }));
            }

            return OmqCli.ExitOk;
        }
    }

    private sealed class Create : Command
    {
        public override string Name => "create";

        public override string Summary => "Create a topic.";

        public override string Arguments => "<topic> [options]";

        public override string Description => """
            Examples:
              omq topics create orders --partitions 6
              omq topics create audit --config retention.ms=604800000 --config cleanup.policy=delete
            """;

        public override IReadOnlyList<OptionSpec> Options { get; } =
        [
            new("partitions", "p", "N", "Number of partitions. Default: the broker's num.partitions."),
            new("replication-factor", "r", "N", "Replicas of each partition. Default: the broker's default."),
            new("config", "c", "key=value", "A topic config; repeat for several.", Repeatable: true),
            new("validate-only", null, null, "Only check that the topic could be created."),
            new("if-not-exists", null, null, "Succeed when the topic already exists."),
        ];

        public override async Task<int> RunAsync(CommandContext context)
        {
            string name = context.Single("topic");
            var configs = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var pair in context.Arguments.Values("config"))
            {
                int eq = pair.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    throw new UsageException($"--config needs key=value; got '{pair}'");
                }

                configs[pair[..eq]] = pair[(eq + 1)..];
            }

            var topic = new NewTopic(name, context.Arguments.Int("partitions", min: 1) ?? -1, (short)(context.Arguments.Int("replication-factor", min: 1) ?? -1)) { Configs = configs };
            bool validateOnly = context.Arguments.Has("validate-only");
            CreatedTopic created;
            try
            {
                created = await context.Admin.CreateTopicAsync(topic, validateOnly, context.CancellationToken).ConfigureAwait(false);
            }
            catch (KafkaException ex) when (ex.ErrorCode == ErrorCode.TopicAlreadyExists && context.Arguments.Has("if-not-exists"))
            {
                await context.Out.WriteLineAsync($"Topic '{name}' already exists.").ConfigureAwait(false);
                return OmqCli.ExitOk;
            }

            if (context.Format == OutputFormat.Json)
            {
                Output.Json(context.Out, new { created.Name, created.Partitions, created.ReplicationFactor, ValidateOnly = validateOnly, created.Configs });
            }
            else
            {
                string verb = validateOnly ? "Validated (not created)" : "Created";
                await context.Out.WriteLineAsync($"{verb} topic '{created.Name}' with {created.Partitions} partition(s), replication factor {created.ReplicationFactor}.").ConfigureAwait(false);
            }

            return OmqCli.ExitOk;
        }
    }

    private sealed class Delete : Command
    {
        public override string Name => "delete";

        public override string Summary => "Delete topics and their messages.";

        public override string Arguments => "<topic>... [options]";

        public override IReadOnlyList<OptionSpec> Options { get; } = [new("if-exists", null, null, "Succeed for topics that do not exist.")];

        public override async Task<int> RunAsync(CommandContext context)
        {
            var names = context.AtLeastOne("topic");
            var deleted = new List<string>();
            foreach (var name in names)
            {
                try
                {
                    await context.Admin.DeleteTopicsAsync([name], context.CancellationToken).ConfigureAwait(false);
                    deleted.Add(name);
                }
                catch (KafkaException ex) when (ex.ErrorCode == ErrorCode.UnknownTopicOrPartition && context.Arguments.Has("if-exists"))
                {
                }
            }

            await Output.DeletedAsync(context, "topic", deleted).ConfigureAwait(false);

            return OmqCli.ExitOk;
        }
    }

    private sealed class Describe : Command
    {
        public override string Name => "describe";

        public override string Summary => "Show a topic's partitions (leader, replicas, ISR) and configs.";

        public override string Arguments => "<topic>... [options]";

        public override IReadOnlyList<OptionSpec> Options { get; } =
        [
            new("offsets", null, null, "Also show each partition's earliest and latest offsets."),
        ];

        public override async Task<int> RunAsync(CommandContext context)
        {
            var names = context.AtLeastOne("topic");
            var results = new List<(TopicDescription Topic, IReadOnlyList<PartitionOffset>? Earliest, IReadOnlyList<PartitionOffset>? Latest)>();
            foreach (var name in names)
            {
                var topic = await context.Admin.DescribeTopicAsync(name, context.CancellationToken).ConfigureAwait(false);
                IReadOnlyList<PartitionOffset>? earliest = null, latest = null;
                if (context.Arguments.Has("offsets"))
                {
                    earliest = await context.Admin.ListOffsetsAsync(name, OffsetSpec.Earliest, context.CancellationToken).ConfigureAwait(false);
                    latest = await context.Admin.ListOffsetsAsync(name, OffsetSpec.Latest, context.CancellationToken).ConfigureAwait(false);
                }

                results.Add((topic, earliest, latest));
            }

            if (context.Format == OutputFormat.Json)
            {
                Output.Json(context.Out, results.Select(r => new
                {
                    r.Topic.Name,
                    r.Topic.IsInternal,
                    Partitions = r.Topic.Partitions.Select(p => new
                    {
                        p.Partition,
                        p.Leader,
                        p.Replicas,
                        p.Isr,
                        EarliestOffset = r.Earliest?.FirstOrDefault(o => o.Partition == p.Partition)?.Offset,
                        LatestOffset = r.Latest?.FirstOrDefault(o => o.Partition == p.Partition)?.Offset,
                    }),
                    r.Topic.Configs,
                }).ToList());
                return OmqCli.ExitOk;
            }

            bool first = true;
            foreach (var (topic, earliest, latest) in results)
            {
                if (!first)
                {
                    await context.Out.WriteLineAsync().ConfigureAwait(false);
                }

                first = false;
                await context.Out.WriteLineAsync($"Topic: {topic.Name}  Partitions: {topic.Partitions.Count}  Internal: {(topic.IsInternal ? "yes" : "no")}").ConfigureAwait(false);
                await context.Out.WriteLineAsync().ConfigureAwait(false);
                string[] headers = earliest is null ? ["PARTITION", "LEADER", "REPLICAS", "ISR"] : ["PARTITION", "LEADER", "REPLICAS", "ISR", "EARLIEST", "LATEST"];
                Output.Table(context.Out, headers, topic.Partitions.Select(p =>
                {
                    var row = new List<string> { Text(p.Partition), Text(p.Leader), string.Join(',', p.Replicas), string.Join(',', p.Isr) };
                    if (earliest is not null)
                    {
                        row.Add(Output.Cell(earliest.FirstOrDefault(o => o.Partition == p.Partition)?.Offset));
                        row.Add(Output.Cell(latest!.FirstOrDefault(o => o.Partition == p.Partition)?.Offset));
                    }

                    return row;
                }));
                await context.Out.WriteLineAsync().ConfigureAwait(false);
                ConfigsCommand.WriteTable(context.Out, topic.Configs);
            }

            return OmqCli.ExitOk;
        }
    }

    private sealed class AddPartitions : Command
    {
        public override string Name => "add-partitions";

        public override string Summary => "Grow a topic to more partitions.";

        public override string Arguments => "<topic> --partitions N [options]";

        public override IReadOnlyList<OptionSpec> Options { get; } =
        [
            new("partitions", "p", "N", "The new total number of partitions (more than now). Required."),
            new("validate-only", null, null, "Only check that the partitions could be added."),
        ];

        public override async Task<int> RunAsync(CommandContext context)
        {
            string name = context.Single("topic");
            int count = context.Arguments.Int("partitions", min: 1) ?? throw new UsageException("missing --partitions N");
            bool validateOnly = context.Arguments.Has("validate-only");
            await context.Admin.AddPartitionsAsync(name, count, validateOnly, context.CancellationToken).ConfigureAwait(false);
            if (context.Format == OutputFormat.Json)
            {
                Output.Json(context.Out, new { Name = name, Partitions = count, ValidateOnly = validateOnly });
            }
            else
            {
                await context.Out.WriteLineAsync(validateOnly ? $"Validated: topic '{name}' can grow to {count} partitions (not changed)." : $"Topic '{name}' now has {count} partitions.").ConfigureAwait(false);
            }

            return OmqCli.ExitOk;
        }
    }
}
