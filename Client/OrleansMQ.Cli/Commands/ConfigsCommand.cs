using System.Globalization;
using OrleansMQ.Cli.Infrastructure;
using OrleansMQ.Client.Admin;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Cli.Commands;

/// <summary><c>omq configs describe (--topic T | --broker N)</c>, <c>omq configs set|delete --topic T</c> (incremental, as kafka-configs --alter).</summary>
internal sealed class ConfigsCommand : Command
{
    public override string Name => "configs";

    public override string Summary => "Describe topic and broker configs; set or delete topic configs.";

    public override IReadOnlyList<Command> Subcommands { get; } = [new Describe(), new Set(), new Delete()];

    /// <summary>Where a value comes from, in a word.</summary>
    public static string SourceName(ConfigSource source) => source switch
    {
        ConfigSource.DynamicTopicConfig => "topic",
        ConfigSource.DefaultConfig => "default",
        ConfigSource.StaticBrokerConfig => "broker",
        ConfigSource.DynamicBrokerConfig or ConfigSource.DynamicDefaultBrokerConfig => "broker (dynamic)",
        _ => source.ToString(),
    };

    /// <summary>The CONFIG / VALUE / SOURCE table.</summary>
    public static void WriteTable(TextWriter writer, IEnumerable<ConfigEntry> configs) =>
        Output.Table(writer, ["CONFIG", "VALUE", "SOURCE"], configs.Select(c => new[] { c.Name, c.IsSensitive ? "(sensitive)" : Output.Cell(c.Value), SourceName(c.Source) }));

    private sealed class Describe : Command
    {
        public override string Name => "describe";

        public override string Summary => "Show the configs of a topic or a broker.";

        public override string Arguments => "(--topic T | --broker N) [--key K...]";

        public override IReadOnlyList<OptionSpec> Options { get; } =
        [
            new("topic", "t", "topic", "The topic whose configs to show."),
            new("broker", null, "id", "The broker whose configs to show."),
            new("key", "k", "name", "Only this config; repeat for several.", Repeatable: true),
        ];

        public override async Task<int> RunAsync(CommandContext context)
        {
            context.NoPositionals();
            string? topic = context.Arguments.Value("topic");
            int? broker = context.Arguments.Int("broker", min: 0);
            if (topic is null == broker is null)
            {
                throw new UsageException("give --topic T or --broker N");
            }

            var keys = context.Arguments.Values("key");
            var configs = topic is not null
                ? await context.Admin.DescribeTopicConfigsAsync(topic, keys, context.CancellationToken).ConfigureAwait(false)
                : await context.Admin.DescribeBrokerConfigsAsync(broker!.Value, keys, context.CancellationToken).ConfigureAwait(false);
            if (context.Format == OutputFormat.Json)
            {
                Output.Json(context.Out, new { Resource = topic is not null ? "topic" : "broker", Name = topic ?? broker!.Value.ToString(CultureInfo.InvariantCulture), Configs = configs });
            }
            else
            {
                WriteTable(context.Out, configs);
            }

            return OmqCli.ExitOk;
        }
    }

    /// <summary>The options set and delete share.</summary>
    private static readonly OptionSpec[] AlterOptions =
    [
        new("topic", "t", "topic", "The topic whose configs to change."),
        new("validate-only", null, null, "Only check that the change would be accepted."),
    ];

    /// <summary>Sends the changes incrementally (other configs stay) and says what changed.</summary>
    private static async Task<int> AlterAsync(CommandContext context, IReadOnlyList<ConfigAlteration> changes)
    {
        string topic = context.Arguments.Value("topic") ?? throw new UsageException("give --topic T");
        bool validateOnly = context.Arguments.Has("validate-only");
        await context.Admin.IncrementalAlterTopicConfigsAsync(topic, changes, validateOnly, context.CancellationToken).ConfigureAwait(false);
        if (context.Format == OutputFormat.Json)
        {
            Output.Json(context.Out, new { Resource = "topic", Name = topic, ValidateOnly = validateOnly, Changes = changes.Select(c => new { c.Name, Operation = c.Operation.ToString().ToLowerInvariant(), c.Value }) });
        }
        else
        {
            string verb = validateOnly ? "Validated (not applied)" : "Altered";
            string list = string.Join(", ", changes.Select(c => c.Operation == AlterConfigOperation.Delete ? c.Name + " (default)" : c.Name + "=" + c.Value));
            await context.Out.WriteLineAsync($"{verb} configs of topic '{topic}': {list}.").ConfigureAwait(false);
        }

        return OmqCli.ExitOk;
    }

    private sealed class Set : Command
    {
        public override string Name => "set";

        public override string Summary => "Set topic configs (the others stay as they are).";

        public override string Arguments => "--topic T <key=value>...";

        public override string Description => """
            Examples:
              omq configs set --topic orders retention.ms=86400000
              omq configs set --topic orders max.message.bytes=2097152 segment.bytes=536870912
            """;

        public override IReadOnlyList<OptionSpec> Options => AlterOptions;

        public override Task<int> RunAsync(CommandContext context)
        {
            var changes = new List<ConfigAlteration>();
            foreach (string pair in context.AtLeastOne("key=value"))
            {
                int eq = pair.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    throw new UsageException($"expected key=value; got '{pair}'");
                }

                changes.Add(ConfigAlteration.Set(pair[..eq], pair[(eq + 1)..]));
            }

            return AlterAsync(context, changes);
        }
    }

    private sealed class Delete : Command
    {
        public override string Name => "delete";

        public override string Summary => "Delete topic configs: each goes back to its default.";

        public override string Arguments => "--topic T <key>...";

        public override string Description => """
            Example:
              omq configs delete --topic orders retention.ms
            """;

        public override IReadOnlyList<OptionSpec> Options => AlterOptions;

        public override Task<int> RunAsync(CommandContext context)
        {
            // key=value is taken too (the value is ignored), so a `set` line can be turned into a `delete`.
            var changes = context.AtLeastOne("key")
                .Select(k => ConfigAlteration.Delete(k.IndexOf('=', StringComparison.Ordinal) is int eq and > 0 ? k[..eq] : k))
                .ToList();
            return AlterAsync(context, changes);
        }
    }
}
