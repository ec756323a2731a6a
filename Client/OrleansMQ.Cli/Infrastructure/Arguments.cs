using System.Globalization;

namespace OrleansMQ.Cli.Infrastructure;

/// <summary>A command line mistake: reported on one line with a pointer to --help, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>
/// One option: <c>--name</c> (and an optional one-letter <c>-x</c> alias); a flag when
/// <see cref="ValueName"/> is null, else it takes a value (<c>--name value</c> or <c>--name=value</c>).
/// </summary>
internal sealed record OptionSpec(string Name, string? Alias, string? ValueName, string Help, bool Repeatable = false)
{
    public bool IsFlag => ValueName is null;

    public string Display => (Alias is null ? "    " : $"-{Alias}, ") + $"--{Name}" + (ValueName is null ? "" : $" <{ValueName}>");
}

/// <summary>What a command line said: option values by option name, and the positional arguments in order.</summary>
internal sealed class ParsedArguments
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);

    public List<string> Positionals { get; } = [];

    public bool Has(string name) => _values.ContainsKey(name);

    public string? Value(string name) => _values.TryGetValue(name, out var v) ? v[^1] : null;

    public IReadOnlyList<string> Values(string name) => _values.TryGetValue(name, out var v) ? v : [];

    public int? Int(string name, int min = int.MinValue)
    {
        string? text = Value(name);
        if (text is null)
        {
            return null;
        }

        return int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value) && value >= min
            ? value
            : throw new UsageException($"--{name} needs an integer{(min > int.MinValue ? $" >= {min}" : "")}; got '{text}'");
    }

    public long? Long(string name)
    {
        string? text = Value(name);
        if (text is null)
        {
            return null;
        }

        return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value)
            ? value
            : throw new UsageException($"--{name} needs an integer; got '{text}'");
    }

    internal void Add(string name, string value)
    {
        if (!_values.TryGetValue(name, out var list))
        {
            _values[name] = list = [];
        }

        list.Add(value);
    }

    /// <summary>
    /// Parses <paramref name="tokens"/> against <paramref name="specs"/>: unknown options, missing
    /// values, values given to flags and repeated single options are usage errors. "--" ends the options.
    /// </summary>
    public static ParsedArguments Parse(IEnumerable<string> tokens, IReadOnlyList<OptionSpec> specs)
    {
        var parsed = new ParsedArguments();
        using var e = tokens.GetEnumerator();
        bool optionsEnded = false;
        while (e.MoveNext())
        {
            string token = e.Current;
            if (optionsEnded || !IsOption(token))
            {
                parsed.Positionals.Add(token);
                continue;
            }

            if (token == "--")
            {
                optionsEnded = true;
                continue;
            }

            var (spec, inline) = Find(token, specs) ?? throw new UsageException($"unknown option '{token}'");
            string value;
            if (spec.IsFlag)
            {
                if (inline is not null)
                {
                    throw new UsageException($"--{spec.Name} takes no value");
                }

                value = "true";
            }
            else if (inline is not null)
            {
                value = inline;
            }
            else if (e.MoveNext())
            {
                value = e.Current;
            }
            else
            {
                throw new UsageException($"--{spec.Name} needs a value <{spec.ValueName}>");
            }

            if (!spec.Repeatable && parsed.Has(spec.Name))
            {
                throw new UsageException($"--{spec.Name} is given more than once");
            }

            parsed.Add(spec.Name, value);
        }

        return parsed;
    }

    /// <summary>The positional words of a command line, skipping the values of the options in <paramref name="specs"/> (other options are skipped alone).</summary>
    public static List<(int Index, string Word)> Words(IReadOnlyList<string> tokens, IReadOnlyList<OptionSpec> specs)
    {
        var words = new List<(int, string)>();
        for (int i = 0; i < tokens.Count; i++)
        {
            string token = tokens[i];
            if (token == "--")
            {
                break;
            }

            if (!IsOption(token))
            {
                words.Add((i, token));
            }
            else if (Find(token, specs) is ({ IsFlag: false }, null))
            {
                i++; // its value
            }
        }

        return words;
    }

    private static bool IsOption(string token) => token.Length > 1 && token[0] == '-' && !char.IsAsciiDigit(token[1]);

    private static (OptionSpec Spec, string? Inline)? Find(string token, IReadOnlyList<OptionSpec> specs)
    {
        string name = token;
        string? inline = null;
        int eq = token.IndexOf('=', StringComparison.Ordinal);
        if (eq > 0)
        {
            name = token[..eq];
            inline = token[(eq + 1)..];
        }

        foreach (var spec in specs)
        {
            if (name == "--" + spec.Name || (spec.Alias is not null && name == "-" + spec.Alias))
            {
                return (spec, inline);
            }
        }

        return null;
    }
}
