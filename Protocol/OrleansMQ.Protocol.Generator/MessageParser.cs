using System;
using System.Collections.Generic;
using System.Text.RegularExpressions;

namespace OrleansMQ.Protocol.Generator;

/// <summary>
/// Parses a <c>.msg</c> description (the format is described in
/// <c>Protocol/OrleansMQ.Protocol/Kafka/Messages/README.md</c>):
/// <code>
/// # a note for readers of the description (not copied)
/// /// a doc comment line for the next declaration or field
/// message HeartbeatRequest Heartbeat        (class name, ApiKey member)
///   GroupId          string
///   GroupInstanceId  string?   v3+
///   RetentionTimeMs  int64     v2-4  = -1
/// struct Partition                           (an array element with its own fields)
///   PartitionIndex   int32
/// topics Topic of Partition                  (name STRING, partitions [Partition])
/// </code>
/// </summary>
internal static class MessageParser
{
    private static readonly Regex FieldLine = new(
        @"^(?<name>[A-Z][A-Za-z0-9]*)\s+(?<type>\S+)(\s+v(?<min>\d+)(?<range>\+|-(?<max>\d+))?)?(\s*=\s*(?<default>.+))?$",
        RegexOptions.CultureInvariant);

    /// <summary>Parses <paramref name="text"/>; a line that does not parse throws <see cref="DescriptionException"/> naming it.</summary>
    public static MessageDescription Parse(string text)
    {
        MessageDescription? message = null;
        List<FieldDescription>? fields = null;
        var docs = new List<string>();
        string[] lines = text.Replace("\r\n", "\n").Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            string raw = lines[i];
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith("#", StringComparison.Ordinal))
            {
                continue;
            }

            if (line.StartsWith("///", StringComparison.Ordinal))
            {
                docs.Add(line.Substring(3).TrimStart());
                continue;
            }

            string[] words = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            bool indented = raw.Length > 0 && char.IsWhiteSpace(raw[0]);
            if (!indented && words[0] == "message" && words.Length == 3 && message is null)
            {
                message = new MessageDescription { Name = words[1], ApiKey = words[2] };
                message.Docs.AddRange(docs);
                fields = message.Fields;
            }
            else if (!indented && words[0] == "struct" && words.Length == 2 && message is not null)
            {
                var element = new StructDescription { Name = words[1] };
                element.Docs.AddRange(docs);
                message.Structs.Add(element);
                fields = element.Fields;
            }
            else if (!indented && words[0] == "topics" && words.Length == 4 && words[2] == "of" && message is not null)
            {
                var element = new StructDescription { Name = words[1], TopicPartitionsOf = words[3] };
                element.Docs.AddRange(docs);
                message.Structs.Add(element);
                fields = null;
            }
            else if (indented && fields is not null && FieldLine.Match(line) is { Success: true } m)
            {
                var field = new FieldDescription
                {
                    Name = m.Groups["name"].Value,
                    Type = m.Groups["type"].Value,
                    MinVersion = m.Groups["min"].Success ? int.Parse(m.Groups["min"].Value) : 0,
                    MaxVersion = m.Groups["max"].Success ? int.Parse(m.Groups["max"].Value)
                        : m.Groups["min"].Success && !m.Groups["range"].Success ? int.Parse(m.Groups["min"].Value)
                        : null,
                    Default = m.Groups["default"].Success ? m.Groups["default"].Value.Trim() : null,
                };
                field.Docs.AddRange(docs);
                try
                {
                    _ = WireTypes.Resolve(field.Type); // an unknown type fails here, where the line is known
                }
                catch (FormatException ex)
                {
                    throw new DescriptionException(i, ex.Message);
                }

                fields.Add(field);
            }
            else
            {
                throw new DescriptionException(i, $"cannot read \"{line}\"");
            }

            docs.Clear();
        }

        return message ?? throw new DescriptionException(0, "no 'message' line");
    }
}

/// <summary>A description line the parser cannot read: its zero-based index and why.</summary>
internal sealed class DescriptionException(int line, string message) : Exception(message)
{
    public int Line { get; } = line;
}
