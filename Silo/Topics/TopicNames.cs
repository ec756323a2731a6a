namespace OrleansMQ.Silo.Topics;

/// <summary>Kafka's topic-name rules: 1–249 characters of [a-zA-Z0-9._-], and not "." or "..".</summary>
public static class TopicNames
{
    public const int MaxLength = 249;

    /// <summary>The internal partition of committed offsets and group metadata (like Kafka's): never a user topic.</summary>
    public const string ConsumerOffsets = "__consumer_offsets";

    /// <summary>Null when valid, else why not (the text Kafka clients show the user).</summary>
    public static string? Validate(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "Topic name is empty.";
        }

        if (name is "." or "..")
        {
            return $"Topic name cannot be \"{name}\".";
        }

        if (name.Length > MaxLength)
        {
            return $"Topic name is {name.Length} characters long; the limit is {MaxLength}.";
        }

        foreach (char c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return $"Topic name \"{name}\" is illegal: it contains a character other than ASCII letters, digits, '.', '_' and '-'.";
            }
        }

        return null;
    }

    /// <summary>Names the broker keeps for itself (not auto-created, hidden from "all topics" unless asked).</summary>
    public static bool IsInternal(string name) => name.StartsWith("__", StringComparison.Ordinal);
}
