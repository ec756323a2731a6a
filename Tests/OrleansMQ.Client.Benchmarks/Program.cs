using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using OrleansMQ.Client.Benchmarks;
using OrleansMQ.Client.Producer;

// Client benchmarks (issue 5):
//   [--no-probe | --probe-only] [BenchmarkDotNet args]
// First a precise allocation probe of the produce path (bytes per message on the producing thread,
// and process-wide including the producer's I/O loop), then BenchmarkDotNet with MemoryDiagnoser,
// a short job (in-process toolchain) on ProducePathBenchmarks. Both against the built silo as a
// child process (Silo/bin/Release/net10.0/OrleansMQ.Silo, or $OMQ_SILO_BIN).
var rest = args.Where(a => a is not ("--no-probe" or "--probe-only")).ToList();
if (!args.Contains("--no-probe"))
{
    Probe.Run();
}

if (args.Contains("--probe-only"))
{
    return 0;
}

var config = ManualConfig.CreateMinimumViable()
    .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance).WithId("ShortRun-InProcess"))
    .AddDiagnoser(MemoryDiagnoser.Default)
    .WithArtifactsPath(Path.Combine(Path.GetTempPath(), $"omq-client-bdn-{Environment.ProcessId}"))
    .WithOptions(ConfigOptions.DisableLogFile);
if (rest.Count == 0)
{
    rest.AddRange(["--filter", "*"]);
}

var summaries = BenchmarkSwitcher.FromTypes([typeof(ProducePathBenchmarks)]).Run([.. rest], config);
return summaries.Any(s => s.HasCriticalValidationErrors) ? 1 : 0;

/// <summary>GC.GetAllocatedBytesForCurrentThread / GC.GetTotalAllocatedBytes(precise) around steady-state Produce calls.</summary>
internal static class Probe
{
    public static void Run()
    {
        const int warmup = 1_000_000, measured = 5_000_000;
        Console.WriteLine("## allocation probe: Produce of 100 B records, steady state (after " + warmup.ToString("N0", CultureInfo.InvariantCulture) + " warm-up records)");
        Console.WriteLine();
        Console.WriteLine("| acks | records | B/record, producing thread | B/record, whole process (incl. I/O loop, until flushed) | msg/s |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        using var silo = SiloProcess.Start();
        foreach (var acks in new[] { Acks.Leader, Acks.All })
        {
            var producer = ProducePathBenchmarks.CreateProducer(silo.Bootstrap, acks);
            try
            {
                var value = new byte[100];
                ProducePathBenchmarks.ProduceMany(producer, value, warmup);
                producer.FlushAsync().GetAwaiter().GetResult();
                long thread0 = GC.GetAllocatedBytesForCurrentThread();
                long total0 = GC.GetTotalAllocatedBytes(precise: true);
                var clock = Stopwatch.StartNew();
                ProducePathBenchmarks.ProduceMany(producer, value, measured);
                long thread = GC.GetAllocatedBytesForCurrentThread() - thread0;
                producer.FlushAsync().GetAwaiter().GetResult();
                double seconds = clock.Elapsed.TotalSeconds;
                long total = GC.GetTotalAllocatedBytes(precise: true) - total0;
                Console.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"| {acks} | {measured:N0} | {thread / (double)measured:F4} ({thread:N0} B in all) | {total / (double)measured:F4} ({total:N0} B in all) | {measured / seconds:N0} |"));
            }
            finally
            {
                producer.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }

        if (CountingHandler.Instance.Failed > 0)
        {
            Console.WriteLine($"WARNING: {CountingHandler.Instance.Failed} records failed");
        }

        Console.WriteLine();
    }
}
