using System.Diagnostics;
using System.Globalization;
using OrleansMQ.Protocol.Batches;

namespace OrleansMQ.Storage.Benchmarks;

/// <summary>
/// What every scenario shares: where data goes, quick or full sizes, the markdown output and the
/// list of targets checked at the end.
/// </summary>
internal sealed class BenchEnvironment
{
    public const long KiB = 1024;
    public const long MiB = 1024 * KiB;
    public const long GiB = 1024 * MiB;

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly List<(string Scenario, string Target, string Measured, bool? Met)> _targets = new();
    private string _scenario = "";
    private int _dirCounter;

    public BenchEnvironment(string dataRoot, bool quick, int run = 1)
    {
        DataRoot = Path.GetFullPath(dataRoot);
        Quick = quick;
        Run = Math.Max(1, run);
        Directory.CreateDirectory(DataRoot);
    }

    /// <summary>Default data root: $OMQ_BENCH_DATA or /var/tmp/omq-bench-data (on disk; /tmp may be a small tmpfs).</summary>
    public static string DefaultDataRoot =>
        Environment.GetEnvironmentVariable("OMQ_BENCH_DATA") is { Length: > 0 } d ? d : "/var/tmp/omq-bench-data";

    public string DataRoot { get; }

    public bool Quick { get; }

    /// <summary>Run number (1-based): scenarios rotate the order of their cases by it.</summary>
    public int Run { get; }

    /// <summary><paramref name="items"/> rotated left by <c>Run - 1</c>.</summary>
    public IReadOnlyList<T> Rotate<T>(IReadOnlyList<T> items)
    {
        int k = (Run - 1) % Math.Max(1, items.Count);
        return [.. items.Skip(k), .. items.Take(k)];
    }

    public TimeSpan Elapsed => _clock.Elapsed;

    public void PrintHeader()
    {
        var drive = new DriveInfo(DataRoot);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"# OrleansMQ storage scenarios ({(Quick ? "quick" : "full")}, run {Run}) {DateTime.UtcNow:yyyy-MM-dd HH:mm}Z: {Environment.ProcessorCount} cores, {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (double)GiB:F1} GiB, .NET {Environment.Version}, data {DataRoot} ({drive.AvailableFreeSpace / (double)GiB:F0} GiB free), page {Environment.SystemPageSize}, CRC32C hw={Crc32C.IsHardwareAccelerated}"));
    }

    public void BeginScenario(string name)
    {
        _scenario = name;
        Console.WriteLine();
        Console.WriteLine($"## {name}");
        Console.WriteLine();
        Console.WriteLine("| scenario | case | metric | value | unit | note |");
        Console.WriteLine("|---|---|---|---:|---|---|");
    }

    /// <summary>Prints one markdown row.</summary>
    public void Row(string caseName, string metric, double value, string unit, string note = "")
    {
        string v = Math.Abs(value) >= 100 || value == Math.Floor(value) ? value.ToString("N0", CultureInfo.InvariantCulture) : value.ToString("F2", CultureInfo.InvariantCulture);
        Console.WriteLine($"| {_scenario} | {caseName} | {metric} | {v} | {unit} | {note} |");
    }

    /// <summary>Records a target check, printed in the summary at the end.</summary>
    public void Target(string target, string measured, bool? met)
    {
        _targets.Add((_scenario, target, measured, met));
        Console.WriteLine($"| {_scenario} | **target** | {target} | {measured} |  | {(met is null ? "n/a" : met.Value ? "MET" : "MISSED")} |");
    }

    public void Note(string text) => Console.WriteLine($"<!-- {_scenario}: {text} -->");

    public void PrintTargets()
    {
        if (_targets.Count == 0)
        {
            return;
        }

        Console.WriteLine();
        Console.WriteLine("## targets");
        Console.WriteLine();
        Console.WriteLine("| scenario | target | measured | verdict |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var (scenario, target, measured, met) in _targets)
        {
            Console.WriteLine($"| {scenario} | {target} | {measured} | {(met is null ? "n/a" : met.Value ? "MET" : "MISSED")} |");
        }
    }

    /// <summary>A fresh, empty directory under the data root; delete it with <see cref="DeleteDir"/>.</summary>
    public string NewDir(string name)
    {
        string path = Path.Combine(DataRoot, string.Create(CultureInfo.InvariantCulture, $"{name}-{Environment.ProcessId}-{Interlocked.Increment(ref _dirCounter)}"));
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }

        Directory.CreateDirectory(path);
        return path;
    }

    public static void DeleteDir(string path)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                if (Directory.Exists(path))
                {
                    Directory.Delete(path, recursive: true);
                }

                return;
            }
            catch (IOException) when (attempt < 5)
            {
                Thread.Sleep(200);
            }
        }
    }

    /// <summary>A RecordBatch of <paramref name="records"/> records with values of <paramref name="valueBytes"/> bytes (null keys).</summary>
    public static byte[] BuildBatch(int records, int valueBytes, int seed = 1)
    {
        var rnd = new Random(seed);
        var value = new byte[valueBytes];
        var builder = new RecordBatchBuilder();
        // Stamped now: time retention and the tier's local retention measure record timestamps, so a
        // fixed past date would expire or offload the scenarios' segments while they run.
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        for (int i = 0; i < records; i++)
        {
            rnd.NextBytes(value);
            builder.Add(value, now + i);
        }

        return builder.Build();
    }

    public static string Mb(double bytes, double seconds) => (bytes / MiB / seconds).ToString("F0", CultureInfo.InvariantCulture);

    public static string F(double v, string format = "F1") => v.ToString(format, CultureInfo.InvariantCulture);
}
