using OrleansMQ.Client;
using OrleansMQ.Client.Admin;

namespace OrleansMQ.Cli.Infrastructure;

/// <summary>How a command prints its result.</summary>
internal enum OutputFormat
{
    Table,
    Json,
}

/// <summary>What a running command gets: its parsed arguments, the output streams and format, and a lazily opened admin client.</summary>
internal sealed class CommandContext : IAsyncDisposable
{
    private KafkaAdminClient? _admin;

    public CommandContext(string path, ParsedArguments arguments, ClientOptions clientOptions, OutputFormat format, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        Path = path;
        Arguments = arguments;
        ClientOptions = clientOptions;
        Format = format;
        Out = output;
        Error = error;
        CancellationToken = cancellationToken;
    }

    /// <summary>The command path ("omq topics create"), for messages.</summary>
    public string Path { get; }

    public ParsedArguments Arguments { get; }

    public ClientOptions ClientOptions { get; }

    public OutputFormat Format { get; }

    public TextWriter Out { get; }

    public TextWriter Error { get; }

    public CancellationToken CancellationToken { get; }

    /// <summary>Standard input as given to <see cref="OmqCli.RunAsync"/>; null for the process's own.</summary>
    public Stream? Input { get; init; }

    /// <summary>True when stderr is a terminal (live progress lines rewrite themselves with <c>\r</c>).</summary>
    public bool ErrorIsTerminal { get; init; }

    /// <summary><see cref="Input"/>, else the process's standard input (not disposed by the command).</summary>
    public Stream OpenInput() => Input ?? Console.OpenStandardInput();

    /// <summary>The admin client, connected on first use and disposed when the command ends.</summary>
    public KafkaAdminClient Admin => _admin ??= new KafkaAdminClient(ClientOptions);

    /// <summary>The single positional argument named <paramref name="what"/> (usage error when missing or repeated).</summary>
    public string Single(string what)
    {
        return Arguments.Positionals.Count switch
        {
            1 => Arguments.Positionals[0],
            0 => throw new UsageException($"missing <{what}>"),
            _ => throw new UsageException($"expected one <{what}>, got {Arguments.Positionals.Count}: {string.Join(' ', Arguments.Positionals)}"),
        };
    }

    /// <summary>One or more positional arguments named <paramref name="what"/>.</summary>
    public IReadOnlyList<string> AtLeastOne(string what) =>
        Arguments.Positionals.Count > 0 ? Arguments.Positionals : throw new UsageException($"missing <{what}>");

    public void NoPositionals()
    {
        if (Arguments.Positionals.Count > 0)
        {
            throw new UsageException($"unexpected argument '{Arguments.Positionals[0]}'");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_admin is not null)
        {
            await _admin.DisposeAsync().ConfigureAwait(false);
        }
    }
}
