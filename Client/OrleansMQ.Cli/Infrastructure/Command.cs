namespace OrleansMQ.Cli.Infrastructure;

/// <summary>
/// A node of the command tree: either a group of subcommands (<c>omq topics</c>) or a leaf that
/// runs (<c>omq topics list</c>). A new top-level command is a new file deriving from this class,
/// added to <see cref="OmqCli.Commands"/>.
/// </summary>
internal abstract class Command
{
    /// <summary>The word that selects it (<c>list</c>).</summary>
    public abstract string Name { get; }

    /// <summary>One line for the parent's command list.</summary>
    public abstract string Summary { get; }

    /// <summary>What follows the command path in the usage line (<c>&lt;topic&gt; [options]</c>).</summary>
    public virtual string Arguments => "[options]";

    /// <summary>More help text under the summary (examples, notes); null for none.</summary>
    public virtual string? Description => null;

    /// <summary>The options of a leaf (the global ones come on top).</summary>
    public virtual IReadOnlyList<OptionSpec> Options => [];

    /// <summary>The subcommands of a group; empty for a leaf.</summary>
    public virtual IReadOnlyList<Command> Subcommands => [];

    /// <summary>A leaf that takes any arguments unparsed (the not-yet-available stubs).</summary>
    public virtual bool AcceptsAnyArguments => false;

    /// <summary>Runs a leaf; returns the exit code.</summary>
    public virtual Task<int> RunAsync(CommandContext context) => throw new InvalidOperationException($"'{Name}' is a command group.");
}
