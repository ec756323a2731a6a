using System.Globalization;
using OrleansMQ.Storage.Benchmarks.Micro;
using OrleansMQ.Storage.Benchmarks.Scenarios;

namespace OrleansMQ.Storage.Benchmarks;

/// <summary>
/// Storage benchmarks (issue 2). One executable, three entry points:
/// <list type="bullet">
/// <item><c>scenario &lt;append|groupcommit|partitions|recovery|tiering|all&gt; [--quick] [--data DIR]</c>:
/// hand-written scenarios, each printing one markdown table row per measurement, with the
/// baselines measured in the same run (<c>tiering</c> needs an Azurite: infra/bench-tiering.sh;
/// <c>all</c> leaves it out).</item>
/// <item><c>micro [--data DIR] [BenchmarkDotNet args]</c>: BenchmarkDotNet with MemoryDiagnoser
/// (short job, in-process) on the append path and the checksums.</item>
/// <item><c>recovery-writer ...</c> (hidden): the child process the recovery scenario kills.</item>
/// </list>
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0)
        {
            return Usage();
        }

        try
        {
            switch (args[0])
            {
                case "scenario":
                    return await RunScenariosAsync(args[1..]).ConfigureAwait(false);
                case "micro":
                    return MicroRunner.Run(args[1..]);
                case RecoveryScenario.WriterCommand:
                    return await RecoveryScenario.RunWriterAsync(args[1..]).ConfigureAwait(false);
                default:
                    return Usage();
            }
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message).ConfigureAwait(false);
            return Usage();
        }
    }

    private static async Task<int> RunScenariosAsync(string[] args)
    {
        string? name = null;
        bool quick = false;
        int run = 1;
        string data = BenchEnvironment.DefaultDataRoot;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick":
                    quick = true;
                    break;
                case "--data" when i + 1 < args.Length:
                    data = args[++i];
                    break;
                case "--run" when i + 1 < args.Length:
                    run = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                default:
                    if (name is not null || args[i].StartsWith('-'))
                    {
                        throw new ArgumentException($"unexpected argument '{args[i]}'");
                    }

                    name = args[i];
                    break;
            }
        }

        if (name is null)
        {
            throw new ArgumentException("scenario name missing");
        }

        var scenarios = new (string Name, Func<BenchEnvironment, Task> Run)[]
        {
            ("append", AppendScenario.RunAsync),
            ("groupcommit", GroupCommitScenario.RunAsync),
            ("partitions", PartitionsScenario.RunAsync),
            ("recovery", RecoveryScenario.RunAsync),
            ("tiering", TieringScenario.RunAsync),
        };

        // "all" stays the storage scenarios of issue 2: tiering needs an Azurite started beside it.
        var selected = name == "all" ? scenarios.Where(s => s.Name != "tiering").ToArray() : scenarios.Where(s => s.Name == name).ToArray();
        if (selected.Length == 0)
        {
            throw new ArgumentException($"unknown scenario '{name}'");
        }

        var env = new BenchEnvironment(data, quick, run);
        env.PrintHeader();
        foreach (var (scenarioName, runScenario) in selected)
        {
            env.BeginScenario(scenarioName);
            await runScenario(env).ConfigureAwait(false);
        }

        env.PrintTargets();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# done in {env.Elapsed.TotalSeconds:F0} s"));
        return 0;
    }

    private static int Usage()
    {
        Console.Error.WriteLine("""
            usage:
              OrleansMQ.Storage.Benchmarks scenario <append|groupcommit|partitions|recovery|tiering|all> [--quick] [--data DIR] [--run N]
              OrleansMQ.Storage.Benchmarks micro [--data DIR] [BenchmarkDotNet args, e.g. --filter '*Crc*']
            --run N rotates the order of the cases (pass the run number when repeating: a shared VM
            favours whichever case runs at a better moment). Data directories go under DIR (default /var/tmp/omq-bench-data, or $OMQ_BENCH_DATA) and are
            deleted after each case. tiering needs OMQ_BENCH_AZURITE (an Azurite connection string; infra/bench-tiering.sh sets it).
            """);
        return 2;
    }
}
