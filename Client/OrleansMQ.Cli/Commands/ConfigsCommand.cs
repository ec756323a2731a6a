using System.Globalization;
using OrleansMQ.Cli.Infrastructure;
using OrleansMQ.Client.Admin;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Cli.Commands;

/// <summary><c>omq configs describe (--topic T | --broker N)</c>.</summary>
internal sealed class ConfigsCommand : Command
{
    public override string Name => "configs";

    public override string Summary => "Describe topic and broker configs.";

    public override IReadOnlyList<Command> Subcommands { get; } = [new Describe()];

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
}
