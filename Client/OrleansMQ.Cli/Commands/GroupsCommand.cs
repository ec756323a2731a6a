using System.Globalization;
using OrleansMQ.Cli.Infrastructure;
using OrleansMQ.Client;
using OrleansMQ.Client.Admin;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Cli.Commands;

/// <summary><c>omq groups list|describe|delete|reset-offsets|delete-offsets</c>, as kafka-consumer-groups.</summary>
internal sealed class GroupsCommand : Command
{
    public override string Name => "groups";

    public override string Summary => "List, describe (with lag) and delete consumer groups; reset their offsets.";

    public override IReadOnlyList<Command> Subcommands { get; } = [new List(), new Describe(), new Delete(), new ResetOffsets(), new DeleteOffsets()];

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>The group named by the positional argument or --group.</summary>
    private static string GroupArgument(CommandContext context)
    {
        string? option = context.Arguments.Value("group");
        if (option is not null)
        {
            context.NoPositionals();
            return option;
        }

        return context.Single("group");
    }

    private sealed class List : Command
    {
        public override string Name => "list";

        public override string Summary => "List groups with their states.";

        public override async Task<int> RunAsync(CommandContext context)
        {
            context.NoPositionals();
            var groups = await context.Admin.ListGroupsAsync(context.CancellationToken).ConfigureAwait(false);
            if (context.Format == OutputFormat.Json)
            {
                Output.Json(context.Out, groups);
            }
            else
            {
                Output.Table(context.Out, ["GROUP", "STATE", "PROTOCOL-TYPE"], groups.Select(g => new[] { g.GroupId, Output.Cell(g.State), Output.Cell(g.ProtocolType) }));
            }

            return OmqCli.ExitOk;
        }
    }

    private sealed class Describe : Command
    {
        public override string Name => "describe";

        public override string Summary => "Show a group's members, their assignments, and the committed offset, log end and lag of each partition.";

        public override string Arguments => "<group> [options]";

        public override IReadOnlyList<OptionSpec> Options { get; } = [new("group", "g", "group", "The group (instead of the argument).")];

        public override async Task<int> RunAsync(CommandContext context)
        {
            string groupId = GroupArgument(context);
            var lag = await context.Admin.DescribeGroupLagAsync(groupId, context.CancellationToken).ConfigureAwait(false);
            var group = lag.Group;
            if (group.Members.Count == 0 && lag.Partitions.Count == 0
                && (group.State == "Dead" || !(await context.Admin.ListGroupsAsync(context.CancellationToken).ConfigureAwait(false)).Any(g => g.GroupId == groupId)))
            {
                throw new KafkaException(ErrorCode.GroupIdNotFound, $"Consumer group '{groupId}' does not exist.");
            }

            if (context.Format == OutputFormat.Json)
            {
                Output.Json(context.Out, new { group.GroupId, group.State, group.ProtocolType, group.Protocol, group.Members, lag.TotalLag, lag.Partitions });
                return OmqCli.ExitOk;
            }

            await context.Out.WriteLineAsync($"Group: {group.GroupId}  State: {group.State}  Protocol: {Output.Cell(group.Protocol)}  Members: {group.Members.Count}  Total lag: {Text(lag.TotalLag)}").ConfigureAwait(false);
            if (group.Members.Count > 0)
            {
                await context.Out.WriteLineAsync().ConfigureAwait(false);
                Output.Table(context.Out, ["MEMBER-ID", "CLIENT-ID", "HOST", "ASSIGNMENT"], group.Members.Select(m => new[]
                {
                    m.MemberId,
                    Output.Cell(m.ClientId),
                    Output.Cell(m.ClientHost),
                    m.Assignment.Count == 0 ? "-" : string.Join(' ', m.Assignment.GroupBy(a => a.Topic).Select(g => $"{g.Key}:{string.Join(',', g.Select(a => a.Partition).Order())}")),
                }));
            }

            await context.Out.WriteLineAsync().ConfigureAwait(false);
            Output.Table(context.Out, ["TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"], lag.Partitions.Select(p => new[]
            {
                p.Topic, Text(p.Partition), Output.Cell(p.CommittedOffset), p.LogEndOffset >= 0 ? Text(p.LogEndOffset) : "-", Output.Cell(p.Lag), Output.Cell(p.MemberId), Output.Cell(p.Host), Output.Cell(p.ClientId),
            }));
            return OmqCli.ExitOk;
        }
    }

    private sealed class Delete : Command
    {
        public override string Name => "delete";

        public override string Summary => "Delete groups that have no members, with their committed offsets.";

        public override string Arguments => "<group>... [options]";

        public override async Task<int> RunAsync(CommandContext context)
        {
            var groups = context.AtLeastOne("group");
            await context.Admin.DeleteGroupsAsync(groups, context.CancellationToken).ConfigureAwait(false);
            await Output.DeletedAsync(context, "group", groups).ConfigureAwait(false);

            return OmqCli.ExitOk;
        }
    }

    private sealed class ResetOffsets : Command
    {
        public override string Name => "reset-offsets";

        public override string Summary => "Move an inactive group's committed offsets (dry run unless --execute).";

        public override string Arguments => "<group> (--topic T... | --all-topics) (--to-earliest | --to-latest | --to-offset N | --to-datetime ISO) [--execute]";

        public override string Description => """
            As kafka-consumer-groups --reset-offsets: prints the new offsets and changes nothing
            unless --execute is given. The group must have no active members (state Empty); a group
            with members is refused with NON_EMPTY_GROUP. --to-offset is clamped to each partition's
            [earliest, log end]; --to-datetime takes the first offset at or after the time (the log
            end when there is none), e.g. 2026-01-31T12:00:00Z.
            """;

        public override IReadOnlyList<OptionSpec> Options { get; } =
        [
            new("group", "g", "group", "The group (instead of the argument)."),
            new("topic", "t", "topic", "A topic to reset (all its partitions); repeat for several.", Repeatable: true),
            new("all-topics", null, null, "Every topic the group has committed offsets for."),
            new("to-earliest", null, null, "Reset to each partition's earliest offset."),
            new("to-latest", null, null, "Reset to each partition's log end."),
            new("to-offset", null, "N", "Reset to offset N."),
            new("to-datetime", null, "ISO-8601", "Reset to the first offset at or after this time."),
            new("execute", null, null, "Commit the new offsets (default: dry run)."),
            new("dry-run", null, null, "Only show the new offsets (the default)."),
        ];

        public override async Task<int> RunAsync(CommandContext context)
        {
            string groupId = GroupArgument(context);
            var args = context.Arguments;
            var targets = new List<OffsetResetTarget>();
            if (args.Has("to-earliest"))
            {
                targets.Add(new OffsetResetTarget.ToEarliest());
            }

            if (args.Has("to-latest"))
            {
                targets.Add(new OffsetResetTarget.ToLatest());
            }

            if (args.Long("to-offset") is { } offset)
            {
                targets.Add(new OffsetResetTarget.ToOffset(offset));
            }

            if (args.Value("to-datetime") is { } text)
            {
                if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
                {
                    throw new UsageException($"--to-datetime needs an ISO-8601 time such as 2026-01-31T12:00:00Z; got '{text}'");
                }

                targets.Add(new OffsetResetTarget.ToDateTime(time));
            }

            if (targets.Count != 1)
            {
                throw new UsageException("give exactly one of --to-earliest, --to-latest, --to-offset N, --to-datetime ISO");
            }

            var topics = args.Values("topic");
            if (topics.Count == 0 == !args.Has("all-topics"))
            {
                throw new UsageException("give --topic T (one or more) or --all-topics");
            }

            if (args.Has("execute") && args.Has("dry-run"))
            {
                throw new UsageException("--execute and --dry-run exclude each other");
            }

            bool execute = args.Has("execute");
            var resets = await context.Admin.ResetGroupOffsetsAsync(groupId, targets[0], topics.Count > 0 ? topics : null, dryRun: !execute, context.CancellationToken).ConfigureAwait(false);
            if (context.Format == OutputFormat.Json)
            {
                Output.Json(context.Out, new { GroupId = groupId, Executed = execute, Partitions = resets });
            }
            else
            {
                Output.Table(context.Out, ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "NEW-OFFSET"], resets.Select(r => new[]
                {
                    groupId, r.Topic, Text(r.Partition), Output.Cell(r.CurrentOffset), Text(r.NewOffset),
                }));
            }

            await context.Error.WriteLineAsync(execute
                ? $"Offsets of group '{groupId}' reset for {resets.Count} partition(s)."
                : "Dry run: nothing was changed. Add --execute to commit these offsets.").ConfigureAwait(false);
            return OmqCli.ExitOk;
        }
    }

    private sealed class DeleteOffsets : Command
    {
        public override string Name => "delete-offsets";

        public override string Summary => "Delete a group's committed offsets for a topic (refused while members consume it).";

        public override string Arguments => "<group> --topic T [--partition N...]";

        public override IReadOnlyList<OptionSpec> Options { get; } =
        [
            new("group", "g", "group", "The group (instead of the argument)."),
            new("topic", "t", "topic", "The topic. Required."),
            new("partition", null, "N", "A partition (default: all); repeat for several.", Repeatable: true),
        ];

        public override async Task<int> RunAsync(CommandContext context)
        {
            string groupId = GroupArgument(context);
            string topic = context.Arguments.Value("topic") ?? throw new UsageException("missing --topic T");
            var partitions = context.Arguments.Values("partition").Select(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : throw new UsageException($"--partition needs an integer; got '{p}'")).ToList();
            await context.Admin.DeleteGroupOffsetsAsync(groupId, topic, partitions.Count > 0 ? partitions : null, context.CancellationToken).ConfigureAwait(false);
            if (context.Format == OutputFormat.Json)
            {
                Output.Json(context.Out, new { GroupId = groupId, Topic = topic, Partitions = partitions });
            }
            else
            {
                await context.Out.WriteLineAsync($"Deleted offsets of group '{groupId}' for topic '{topic}'{(partitions.Count > 0 ? " partitions " + string.Join(',', partitions) : "")}.").ConfigureAwait(false);
            }

            return OmqCli.ExitOk;
        }
    }
}
