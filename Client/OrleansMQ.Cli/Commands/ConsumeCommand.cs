using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using OrleansMQ.Cli.Infrastructure;
using OrleansMQ.Client;
using OrleansMQ.Client.Admin;
using OrleansMQ.Client.Consumer;
using OrleansMQ.Protocol;

namespace OrleansMQ.Cli.Commands;

/// <summary>
/// <c>omq consume &lt;topic&gt;</c>: prints messages like <c>kcat -C</c> (a <c>-f</c> format or one JSON
/// object per line), from a group (<c>-g</c>) or from partitions without a group.
/// </summary>
internal sealed class ConsumeCommand : Command
{
    private static readonly JsonSerializerOptions JsonLine = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public override string Name => "consume";

    public override string Summary => "Consume messages from a topic and print them (kcat -C style).";

    public override string Arguments => "<topic> [options]";

    public override string Description => """
        Without -g the consumer reads partitions directly (all, or the one given with -p) and commits
        nothing; --from picks the start: beginning, end (the default), an offset (a negative one counts
        back from the end) or an ISO 8601 time (the first message at or after it). With -g it joins the
        group, starts at the group's committed offsets (else --from beginning|end) and commits what it
        printed. Ctrl+C stops it; -n and -e stop it earlier. A summary goes to stderr.

        Format (-f, as kcat): %t topic  %p partition  %o offset  %k key  %s value  %h headers (k=v,...)
          %T timestamp (Unix ms)  %K key length  %S value length  %%  and the escapes \n \t \\
        Default: "%s\n". -o json prints one JSON object per message and line instead.

        Examples:
          omq consume orders --from beginning -e -f '%p:%o %k=%s\n'
          omq consume orders -g billing -n 10 -o json
          omq consume orders -p 0 --from 2026-01-01T00:00:00Z
        """;

    public override IReadOnlyList<OptionSpec> Options { get; } =
    [
        new("group", "g", "group", "Join this consumer group (commits offsets)."),
        new("partition", "p", "N", "Read only this partition (not with -g)."),
        new("from", null, "where", "beginning | end | <offset> | <ISO time>. Default: end (with -g: the committed offsets, else end)."),
        new("count", "n", "N", "Stop after N messages."),
        new("exit-at-end", "e", null, "Stop when every partition has been read to the end it had at the start."),
        new("format", "f", "fmt", "Output format of a message (see above). Default: \"%s\\n\"."),
        new("session-timeout-ms", null, "ms", "With -g: the group session timeout (Kafka session.timeout.ms). Default: 45000."),
    ];

    public override async Task<int> RunAsync(CommandContext context)
    {
        string topic = context.Single("topic");
        var args = context.Arguments;
        string? group = args.Value("group");
        int? partition = args.Int("partition", min: 0);
        long? count = args.Long("count");
        if (count is < 1)
        {
            throw new UsageException("--count needs an integer >= 1");
        }

        if (group is not null && partition is not null)
        {
            throw new UsageException("-g and -p exclude each other");
        }

        if (context.Format == OutputFormat.Json && args.Has("format"))
        {
            throw new UsageException("-f and -o json exclude each other");
        }

        var from = ParseFrom(args.Value("from"), group is not null);
        var format = context.Format == OutputFormat.Json ? null : MessageFormat.Parse(args.Value("format") ?? "%s\\n");
        bool exitAtEnd = args.Has("exit-at-end");
        long? sessionTimeoutMs = args.Long("session-timeout-ms");
        if (sessionTimeoutMs is < 1 or > int.MaxValue)
        {
            throw new UsageException("--session-timeout-ms needs an integer >= 1");
        }

        var options = new ConsumerOptions
        {
            Client = context.ClientOptions,
            GroupId = group,
            AutoOffsetReset = from.Kind == FromKind.Beginning ? AutoOffsetReset.Earliest : AutoOffsetReset.Latest,
            EnableAutoCommit = group is not null,
        };
        if (sessionTimeoutMs is { } ms)
        {
            // Heartbeats at a third of the session, as Kafka's defaults (45 s / 3 s) keep well inside it.
            options = options with { SessionTimeout = TimeSpan.FromMilliseconds(ms), HeartbeatInterval = TimeSpan.FromMilliseconds(Math.Max(100, ms / 3)) };
        }

        // The partitions' ends now (for -e) and the start positions without a group.
        var description = await context.Admin.DescribeTopicAsync(topic, context.CancellationToken).ConfigureAwait(false);
        var partitions = description.Partitions.Select(p => p.Partition).Order().ToList();
        if (partition is { } only)
        {
            if (!partitions.Contains(only))
            {
                throw new KafkaException(Protocol.Kafka.ErrorCode.UnknownTopicOrPartition, $"Topic '{topic}' has {partitions.Count} partitions; there is no partition {only}.");
            }

            partitions = [only];
        }

        var ends = exitAtEnd
            ? (await context.Admin.ListOffsetsAsync(topic, OffsetSpec.Latest, context.CancellationToken).ConfigureAwait(false)).ToDictionary(o => o.Partition, o => o.Offset)
            : [];

        await using var consumer = new KafkaConsumer(options);
        var remaining = new HashSet<int>(exitAtEnd ? partitions : []);
        if (group is null)
        {
            var starts = await StartOffsetsAsync(context, topic, from, partitions).ConfigureAwait(false);
            consumer.Assign(partitions.Select(p => new TopicPartition(topic, p)));
            foreach (var (p, offset) in starts)
            {
                consumer.Seek(new TopicPartition(topic, p), offset);
                if (exitAtEnd && offset >= ends.GetValueOrDefault(p))
                {
                    remaining.Remove(p);
                }
            }
        }
        else
        {
            consumer.Subscribe([topic]);
        }

        long printed = 0;
        var output = context.Out;
        var line = new StringBuilder();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);

        // -e: partitions that are empty from their start position on are done without a message;
        // a poll finds them (in group mode once they are assigned and positioned).
        Task? endWatch = null;
        if (exitAtEnd)
        {
            endWatch = WatchEndsAsync(consumer, topic, ends, remaining, stop);
        }

        try
        {
            if (!(exitAtEnd && remaining.Count == 0))
            {
                await foreach (var record in consumer.ConsumeAsync(stop.Token).ConfigureAwait(false))
                {
                    line.Clear();
                    if (format is null)
                    {
                        line.Append(JsonSerializer.Serialize(JsonRecord(record), JsonLine)).Append('\n');
                    }
                    else
                    {
                        format.Append(line, record);
                    }

                    await output.WriteAsync(line, context.CancellationToken).ConfigureAwait(false);
                    printed++;
                    if (count is { } n && printed >= n)
                    {
                        break;
                    }

                    if (exitAtEnd && record.Offset + 1 >= ends.GetValueOrDefault(record.Partition))
                    {
                        lock (remaining)
                        {
                            remaining.Remove(record.Partition);
                            if (remaining.Count == 0)
                            {
                                break;
                            }
                        }
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            // -e: the watcher found every partition at its end.
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            if (endWatch is not null)
            {
                await endWatch.ConfigureAwait(false);
            }
        }

        await output.FlushAsync(context.CancellationToken).ConfigureAwait(false);
        if (group is not null)
        {
            await consumer.CommitAsync(context.CancellationToken).ConfigureAwait(false);
        }

        await context.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"omq: consumed {printed} message(s) from '{topic}'")).ConfigureAwait(false);
        return OmqCli.ExitOk;
    }

    private static async Task WatchEndsAsync(KafkaConsumer consumer, string topic, Dictionary<int, long> ends, HashSet<int> remaining, CancellationTokenSource stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                lock (remaining)
                {
                    foreach (var tp in consumer.Assignment.Where(tp => tp.Topic == topic))
                    {
                        if (remaining.Contains(tp.Partition) && consumer.Position(tp) is { } position && position >= ends.GetValueOrDefault(tp.Partition))
                        {
                            remaining.Remove(tp.Partition);
                        }
                    }

                    if (remaining.Count == 0)
                    {
                        stop.Cancel();
                        return;
                    }
                }

                await Task.Delay(100, stop.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (InvalidOperationException)
        {
            // The consumer closed or the assignment changed under the poll: the main loop decides.
        }
    }

    private static object JsonRecord(ConsumeResult r) => new
    {
        topic = r.Topic,
        partition = r.Partition,
        offset = r.Offset,
        timestamp = r.Timestamp.ToUnixTimeMilliseconds(),
        key = r.Key is null ? null : Encoding.UTF8.GetString(r.Key),
        value = r.Value is null ? null : Encoding.UTF8.GetString(r.Value),
        headers = r.Headers.Select(h => new { key = h.Key, value = h.Value is null ? null : Encoding.UTF8.GetString(h.Value) }),
    };

    private enum FromKind
    {
        Beginning,
        End,
        Offset,
        Time,
    }

    private readonly record struct From(FromKind Kind, long Offset, DateTimeOffset Time);

    private static From ParseFrom(string? text, bool group)
    {
        if (text is null or "end")
        {
            return new From(FromKind.End, 0, default);
        }

        if (text == "beginning")
        {
            return new From(FromKind.Beginning, 0, default);
        }

        From from;
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long offset))
        {
            from = new From(FromKind.Offset, offset, default);
        }
        else if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
        {
            from = new From(FromKind.Time, 0, time);
        }
        else
        {
            throw new UsageException($"--from must be beginning, end, an offset or an ISO 8601 time; got '{text}'");
        }

        return group ? throw new UsageException("with -g, --from can only be beginning or end (the group's committed offsets come first)") : from;
    }

    private static async Task<Dictionary<int, long>> StartOffsetsAsync(CommandContext context, string topic, From from, List<int> partitions)
    {
        var ct = context.CancellationToken;
        var earliest = (await context.Admin.ListOffsetsAsync(topic, OffsetSpec.Earliest, ct).ConfigureAwait(false)).ToDictionary(o => o.Partition, o => o.Offset);
        var latest = (await context.Admin.ListOffsetsAsync(topic, OffsetSpec.Latest, ct).ConfigureAwait(false)).ToDictionary(o => o.Partition, o => o.Offset);
        Dictionary<int, long>? byTime = null;
        if (from.Kind == FromKind.Time)
        {
            byTime = (await context.Admin.ListOffsetsAsync(topic, OffsetSpec.ForTime(from.Time), ct).ConfigureAwait(false)).ToDictionary(o => o.Partition, o => o.Offset);
        }

        var starts = new Dictionary<int, long>();
        foreach (int p in partitions)
        {
            long first = earliest.GetValueOrDefault(p), end = latest.GetValueOrDefault(p);
            long start = from.Kind switch
            {
                FromKind.Beginning => first,
                FromKind.End => end,
                FromKind.Offset when from.Offset < 0 => end + from.Offset,
                FromKind.Offset => from.Offset,
                _ => byTime!.GetValueOrDefault(p, -1) is var t && t >= 0 ? t : end, // none at or after the time: the end
            };
            starts[p] = Math.Clamp(start, first, end);
        }

        return starts;
    }

    /// <summary>A kcat <c>-f</c> format, parsed once.</summary>
    private sealed class MessageFormat
    {
        private readonly List<(char Field, string? Text)> _parts;

        private MessageFormat(List<(char, string?)> parts) => _parts = parts;

        public static MessageFormat Parse(string format)
        {
            var parts = new List<(char, string?)>();
            var text = new StringBuilder();
            for (int i = 0; i < format.Length; i++)
            {
                char c = format[i];
                if ((c == '%' || c == '\\') && i + 1 < format.Length)
                {
                    char next = format[++i];
                    string? literal = (c, next) switch
                    {
                        ('%', '%') => "%",
                        ('\\', 'n') => "\n",
                        ('\\', 't') => "\t",
                        ('\\', 'r') => "\r",
                        ('\\', '0') => "\0",
                        ('\\', '\\') => "\\",
                        ('%', 't' or 'p' or 'o' or 'k' or 's' or 'h' or 'T' or 'K' or 'S') => null,
                        ('%', _) => throw new UsageException($"--format: unknown field '%{next}' (known: %t %p %o %k %s %h %T %K %S %%)"),
                        _ => "\\" + next,
                    };
                    if (literal is not null)
                    {
                        text.Append(literal);
                        continue;
                    }

                    if (text.Length > 0)
                    {
                        parts.Add(('\0', text.ToString()));
                        text.Clear();
                    }

                    parts.Add((next, null));
                }
                else
                {
                    text.Append(c);
                }
            }

            if (text.Length > 0)
            {
                parts.Add(('\0', text.ToString()));
            }

            return new MessageFormat(parts);
        }

        public void Append(StringBuilder sb, ConsumeResult r)
        {
            var ci = CultureInfo.InvariantCulture;
            foreach (var (field, text) in _parts)
            {
                switch (field)
                {
                    case '\0': sb.Append(text); break;
                    case 't': sb.Append(r.Topic); break;
                    case 'p': sb.Append(r.Partition.ToString(ci)); break;
                    case 'o': sb.Append(r.Offset.ToString(ci)); break;
                    case 'k': AppendBytes(sb, r.Key); break;
                    case 's': AppendBytes(sb, r.Value); break;
                    case 'T': sb.Append(r.Timestamp.ToUnixTimeMilliseconds().ToString(ci)); break;
                    case 'K': sb.Append((r.Key?.Length ?? -1).ToString(ci)); break;
                    case 'S': sb.Append((r.Value?.Length ?? -1).ToString(ci)); break;
                    case 'h':
                        for (int i = 0; i < r.Headers.Count; i++)
                        {
                            if (i > 0)
                            {
                                sb.Append(',');
                            }

                            sb.Append(r.Headers[i].Key).Append('=');
                            AppendBytes(sb, r.Headers[i].Value);
                        }

                        break;
                }
            }
        }

        private static void AppendBytes(StringBuilder sb, byte[]? bytes)
        {
            if (bytes is { Length: > 0 })
            {
                sb.Append(Encoding.UTF8.GetString(bytes));
            }
        }
    }
}
