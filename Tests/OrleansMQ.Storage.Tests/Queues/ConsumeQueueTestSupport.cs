using OrleansMQ.Storage.Queues;

namespace OrleansMQ.Storage.Tests.Queues;

/// <summary>A temp folder with the queue's own directory inside it.</summary>
internal sealed class TempDirectory : TempDir
{
    public TempDirectory()
        : base("omq-cq")
    {
    }

    public string Queue => System.IO.Path.Combine(Path, "consumequeue", "7");
}

internal static class Cq
{
    public const int EntriesPerFile = 4;

    public static string FileName(long index) => index.ToString("D20", System.Globalization.CultureInfo.InvariantCulture);

    public static string[] FileNames(string directory) =>
        [.. Directory.EnumerateFiles(directory).Select(System.IO.Path.GetFileName).Order(StringComparer.Ordinal)!];

    /// <summary>
    /// A deterministic entry for index <paramref name="i"/>: every field is a function of i, so a
    /// reader can tell a torn or misplaced entry. Batch i covers 3i .. 3i + i%3 (gaps when i%3 &lt; 2).
    /// </summary>
    public static QueueEntry Entry(long i) => new(3 * i, 1000 + (100 * i), 10 + (int)(i % 50), (int)(i % 3), 5 * i);

    public static ConsumeQueue AppendRange(ConsumeQueue queue, long from, long to)
    {
        for (long i = from; i < to; i++)
        {
            queue.Append(Entry(i));
        }

        return queue;
    }
}
