using System.Globalization;

namespace OrleansMQ.Samples.Streams;

/// <summary>The command line: <c>[--bootstrap HOST:PORT] [--events N] [--streams S] [--timeout SECONDS]</c>.</summary>
public sealed record SampleSettings(string Bootstrap, int Events, int Streams, TimeSpan Timeout)
{
    public const string Usage = "usage: OrleansMQ.Samples.Streams [--bootstrap HOST:PORT (localhost:9092)] [--events N (1000)] [--streams S (10)] [--timeout SECONDS (60)]";

    /// <summary>The settings, or null with <paramref name="error"/> naming the bad argument.</summary>
    public static SampleSettings? Parse(string[] args, out string? error)
    {
        ArgumentNullException.ThrowIfNull(args);
        var settings = new SampleSettings("localhost:9092", 1000, 10, TimeSpan.FromSeconds(60));
        for (int i = 0; i < args.Length; i++)
        {
            string? value = i + 1 < args.Length ? args[i + 1] : null;
            bool isNumber = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int number) && number > 0;
            switch (args[i])
            {
                case "--bootstrap" when !string.IsNullOrWhiteSpace(value):
                    settings = settings with { Bootstrap = value };
                    break;
                case "--events" when isNumber:
                    settings = settings with { Events = number };
                    break;
                case "--streams" when isNumber:
                    settings = settings with { Streams = number };
                    break;
                case "--timeout" when isNumber:
                    settings = settings with { Timeout = TimeSpan.FromSeconds(number) };
                    break;
                default:
                    error = $"bad argument '{args[i]}'{(value is null ? "" : $" '{value}'")}\n{Usage}";
                    return null;
            }

            i++;
        }

        error = null;
        return settings;
    }
}
