using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansMQ.Cli.Infrastructure;

/// <summary>Aligned text tables and JSON documents.</summary>
internal static class Output
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>Writes <paramref name="value"/> as indented JSON (camelCase names, enums as names).</summary>
    public static void Json<T>(TextWriter writer, T value) => writer.WriteLine(JsonSerializer.Serialize(value, JsonOptions));

    /// <summary>Writes a header row and the rows, each column padded to its widest cell, two spaces apart.</summary>
    public static void Table(TextWriter writer, IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        var all = new List<IReadOnlyList<string>> { headers };
        all.AddRange(rows);
        var widths = new int[headers.Count];
        foreach (var row in all)
        {
            for (int i = 0; i < widths.Length && i < row.Count; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }

        foreach (var row in all)
        {
            var line = new System.Text.StringBuilder();
            for (int i = 0; i < widths.Length; i++)
            {
                string cell = i < row.Count ? row[i] : "";
                line.Append(i == widths.Length - 1 ? cell : cell.PadRight(widths[i] + 2));
            }

            writer.WriteLine(line.ToString().TrimEnd());
        }
    }

    /// <summary>"-" for a missing value, else the invariant text.</summary>
    public static string Cell(long? value) => value?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-";

    public static string Cell(string? value) => string.IsNullOrEmpty(value) ? "-" : value;

    /// <summary>What a delete command prints: <c>{"deleted": [...]}</c> in JSON, else one "Deleted kind 'name'." line each.</summary>
    public static async Task DeletedAsync(CommandContext context, string kind, IReadOnlyCollection<string> names)
    {
        if (context.Format == OutputFormat.Json)
        {
            Json(context.Out, new { Deleted = names });
            return;
        }

        foreach (var name in names)
        {
            await context.Out.WriteLineAsync($"Deleted {kind} '{name}'.").ConfigureAwait(false);
        }
    }
}
