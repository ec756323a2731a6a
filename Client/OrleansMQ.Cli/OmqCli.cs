using System.Globalization;
using System.Text;
using OrleansMQ.Cli.Commands;
using OrleansMQ.Cli.Infrastructure;
using OrleansMQ.Client;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Cli;

/// <summary>
/// The <c>omq</c> command line: finds the command from the leading words, parses the rest against
/// the global and the command's options, runs it and maps failures to exit codes
/// (<see cref="ExitOk"/>, <see cref="ExitKafkaError"/>, <see cref="ExitUsage"/>) with a one-line
/// message on stderr. Runs in-process with any writers, so tests call it directly.
/// </summary>
internal static class OmqCli
{
    public const int ExitOk = 0;
    public const int ExitKafkaError = 1;
    public const int ExitUsage = 2;
    public const int ExitCancelled = 130;

    public const string DefaultBootstrap = "localhost:9092";
    public const string BootstrapVariable = "OMQ_BOOTSTRAP";

    /// <summary>Every top-level command; each lives in its own file under Commands/.</summary>
    public static IReadOnlyList<Command> Commands { get; } =
    [
        new TopicsCommand(),
        new GroupsCommand(),
        new ConfigsCommand(),
        new LogDirsCommand(),
        new ProducersCommand(),
        new ClusterCommand(),
        new ElectLeadersCommand(),
        new ReassignCommand(),
        new ReassignmentsCommand(),
        new DeleteRecordsCommand(),
        new ProduceCommand(),
        new ConsumeCommand(),
        new BenchCommand(),
    ];

    public static IReadOnlyList<OptionSpec> GlobalOptions { get; } =
    [
        new("bootstrap", "b", "host:port[,...]", $"Brokers to bootstrap from. Default: ${BootstrapVariable}, else {DefaultBootstrap}."),
        new("output", "o", "table|json", "Output format. Default: table."),
        new("client-id", null, "id", "Client id sent to the brokers. Default: omq."),
        new("timeout", null, "seconds", "Request timeout. Default: 30."),
        new("help", "h", null, "Show help for the command."),
    ];

    private static readonly Root RootCommand = new();

    /// <summary>Runs one command line; returns the process exit code.</summary>
    public static Task<int> RunAsync(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, Func<string, string?>? environment = null, CancellationToken cancellationToken = default) =>
        RunAsync(args, stdout, stderr, stdin: null, stderrIsTerminal: null, environment, cancellationToken);

    /// <summary>Runs one command line with a given standard input; returns the process exit code.</summary>
    /// <remarks>
    /// <paramref name="stdin"/> is what <c>omq produce</c> reads without <c>--file</c> (null: the
    /// process's standard input); <paramref name="stderrIsTerminal"/> turns on the live progress
    /// line of <c>omq bench</c> (null: when stderr is the console's and not redirected).
    /// </remarks>
    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, Stream? stdin, bool? stderrIsTerminal, Func<string, string?>? environment = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        environment ??= Environment.GetEnvironmentVariable;

        // The command path: the leading words naming subcommands.
        Command command = RootCommand;
        string path = "omq";
        var used = new HashSet<int>();
        foreach (var (index, word) in ParsedArguments.Words(args, GlobalOptions))
        {
            if (command.Subcommands.Count == 0)
            {
                break;
            }

            var next = command.Subcommands.FirstOrDefault(c => c.Name == word);
            if (next is null)
            {
                if (word == "help" && command == RootCommand)
                {
                    stdout.Write(Help(command, path));
                    return ExitOk;
                }

                return Usage(stderr, path, $"unknown command '{word}'");
            }

            command = next;
            path += " " + word;
            used.Add(index);
        }

        var rest = args.Where((_, i) => !used.Contains(i)).ToList();
        bool wantsHelp = rest.Contains("--help") || rest.Contains("-h");
        if (command.Subcommands.Count > 0)
        {
            if (wantsHelp)
            {
                stdout.Write(Help(command, path));
                return ExitOk;
            }

            if (command == RootCommand && rest.Count == 0)
            {
                stderr.Write(Help(command, path));
                return ExitUsage;
            }

            return Usage(stderr, path, rest.Any(a => !a.StartsWith('-')) ? $"unknown command '{rest.First(a => !a.StartsWith('-'))}'" : "missing command");
        }

        if (wantsHelp)
        {
            stdout.Write(Help(command, path));
            return ExitOk;
        }

        CommandContext context;
        try
        {
            var parsed = command.AcceptsAnyArguments
                ? new ParsedArguments()
                : ParsedArguments.Parse(rest, [.. GlobalOptions, .. command.Options]);
            context = new CommandContext(path, parsed, ClientOptionsFrom(parsed, environment), FormatFrom(parsed), stdout, stderr, cancellationToken)
            {
                Input = stdin,
                ErrorIsTerminal = stderrIsTerminal ?? (ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected),
            };
        }
        catch (UsageException ex)
        {
            return Usage(stderr, path, ex.Message);
        }

        await using (context.ConfigureAwait(false))
        {
            try
            {
                return await command.RunAsync(context).ConfigureAwait(false);
            }
            catch (UsageException ex)
            {
                return Usage(stderr, path, ex.Message);
            }
            catch (KafkaException ex)
            {
                await stderr.WriteLineAsync($"omq: error: {CodeName(ex.ErrorCode)}: {OneLine(ex.Message)}").ConfigureAwait(false);
                return ExitKafkaError;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await stderr.WriteLineAsync("omq: cancelled").ConfigureAwait(false);
                return ExitCancelled;
            }
        }
    }

    /// <summary>Kafka's name of an error code: <c>TopicAlreadyExists</c> → <c>TOPIC_ALREADY_EXISTS</c>.</summary>
    public static string CodeName(ErrorCode code)
    {
        string name = code.ToString();
        var sb = new StringBuilder(name.Length + 8);
        for (int i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsUpper(name[i]) && (char.IsLower(name[i - 1]) || char.IsDigit(name[i - 1])))
            {
                sb.Append('_');
            }

            sb.Append(char.ToUpperInvariant(name[i]));
        }

        return sb.ToString();
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();

    private static int Usage(TextWriter stderr, string path, string message)
    {
        stderr.WriteLine($"omq: usage error: {message} (see '{path} --help')");
        return ExitUsage;
    }

    private static ClientOptions ClientOptionsFrom(ParsedArguments parsed, Func<string, string?> environment)
    {
        string bootstrap = parsed.Value("bootstrap") ?? (environment(BootstrapVariable) is { Length: > 0 } fromEnv ? fromEnv : DefaultBootstrap);
        var options = new ClientOptions { BootstrapServers = bootstrap, ClientId = parsed.Value("client-id") ?? "omq" };
        if (parsed.Int("timeout", min: 1) is { } seconds)
        {
            options = options with { RequestTimeout = TimeSpan.FromSeconds(seconds), ConnectTimeout = TimeSpan.FromSeconds(Math.Min(seconds, 10)) };
        }

        try
        {
            options.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new UsageException($"--bootstrap: {ex.Message}");
        }

        return options;
    }

    private static OutputFormat FormatFrom(ParsedArguments parsed) => parsed.Value("output") switch
    {
        null or "table" => OutputFormat.Table,
        "json" => OutputFormat.Json,
        var other => throw new UsageException($"--output must be table or json; got '{other}'"),
    };

    /// <summary>The help of <paramref name="command"/>: usage, description, subcommands or options, global options.</summary>
    public static string Help(Command command, string path)
    {
        var sb = new StringBuilder();
        var w = new StringWriter(sb, CultureInfo.InvariantCulture);
        bool group = command.Subcommands.Count > 0;
        w.WriteLine($"Usage: {path} {(group ? "<command> [options]" : command.Arguments)}");
        w.WriteLine();
        w.WriteLine(command.Summary);
        if (command.Description is { } description)
        {
            w.WriteLine();
            w.WriteLine(description.TrimEnd());
        }

        if (group)
        {
            w.WriteLine();
            w.WriteLine("Commands:");
            int width = command.Subcommands.Max(c => c.Name.Length) + 2;
            foreach (var c in command.Subcommands)
            {
                w.WriteLine($"  {c.Name.PadRight(width)}{c.Summary}");
            }
        }
        else if (command.Options.Count > 0)
        {
            WriteOptions(w, "Options:", command.Options);
        }

        WriteOptions(w, "Global options:", GlobalOptions);
        if (group)
        {
            w.WriteLine();
            w.WriteLine($"Run '{path} <command> --help' for a command's arguments and options.");
        }

        return sb.ToString();
    }

    private static void WriteOptions(TextWriter w, string title, IReadOnlyList<OptionSpec> options)
    {
        w.WriteLine();
        w.WriteLine(title);
        int width = options.Max(o => o.Display.Length) + 2;
        foreach (var o in options)
        {
            w.WriteLine($"  {o.Display.PadRight(width)}{o.Help}");
        }
    }

    /// <summary>The top of the tree: <c>omq</c> itself.</summary>
    private sealed class Root : Command
    {
        public override string Name => "omq";

        public override string Summary => "OrleansMQ command line: administer topics and consumer groups of a Kafka-compatible cluster, produce, consume and benchmark.";

        public override string Description => """
            Examples:
              seq 1 1000 | omq produce orders
              omq consume orders --from beginning -e
              omq bench produce --messages 5000000

            Exit codes:
              0  success
              1  Kafka error (the broker refused, or no broker could be reached); stderr names the error code
              2  usage error (unknown command or option, missing argument)
            """;

        public override IReadOnlyList<Command> Subcommands => Commands;
    }
}
