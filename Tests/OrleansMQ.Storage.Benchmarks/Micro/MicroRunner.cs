using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using OrleansMQ.Storage.Log;
using OrleansMQ.Storage.Engine;
using static OrleansMQ.Storage.Benchmarks.BenchEnvironment;

namespace OrleansMQ.Storage.Benchmarks.Micro;

/// <summary>
/// <c>micro</c>: first a precise allocation probe (bytes per append on the appending thread and
/// process-wide, minus what the engine's background threads allocate when idle), then
/// BenchmarkDotNet with MemoryDiagnoser, a short job (3 warm-up + 3 measured iterations, one
/// launch) and the in-process toolchain (no generated project to build).
/// </summary>
internal static class MicroRunner
{
    public static string DataRoot { get; private set; } = BenchEnvironment.DefaultDataRoot;

    public static int Run(string[] args)
    {
        var rest = new List<string>();
        bool probe = true;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--data" && i + 1 < args.Length)
            {
                DataRoot = Path.GetFullPath(args[++i]);
            }
            else if (args[i] == "--no-probe")
            {
                probe = false;
            }
            else
            {
                rest.Add(args[i]);
            }
        }

        Directory.CreateDirectory(DataRoot);
        if (probe)
        {
            AllocationProbe();
        }

        var config = ManualConfig.CreateMinimumViable()
            .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance).WithId("ShortRun-InProcess"))
            .AddDiagnoser(MemoryDiagnoser.Default)
            .WithArtifactsPath(Path.Combine(DataRoot, "BenchmarkDotNet.Artifacts"))
            .WithOptions(ConfigOptions.DisableLogFile);
        if (rest.Count == 0)
        {
            rest.AddRange(["--filter", "*"]);
        }

        var summaries = BenchmarkSwitcher.FromTypes([typeof(AppendBenchmarks), typeof(ChecksumBenchmarks)]).Run([.. rest], config);
        DeleteDir(Path.Combine(DataRoot, "BenchmarkDotNet.Artifacts"));
        return summaries.Any(s => s.HasCriticalValidationErrors) ? 1 : 0;
    }

    private static void AllocationProbe()
    {
        Console.WriteLine("## allocation probe (GC.GetAllocatedBytesForCurrentThread / GC.GetTotalAllocatedBytes(precise))");
        Console.WriteLine();
        Console.WriteLine("| case | appends | B/append, appending thread | B/append, whole process | whole process minus idle background | idle background B/s |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        ProbeAsync(AppendCase.Async1KiB, 200_000).GetAwaiter().GetResult();
        ProbeAsync(AppendCase.Async64KiB, 20_000).GetAwaiter().GetResult();
        ProbeAsync(AppendCase.Sync1KiB, 2_000).GetAwaiter().GetResult();
        Console.WriteLine();
    }

    private static async Task ProbeAsync(AppendCase c, int n)
    {
        string dir = Path.Combine(DataRoot, $"probe-{c}-{Environment.ProcessId}");
        DeleteDir(dir);
        try
        {
            var engine = StorageEngine.Open(AppendBenchmarks.Options(dir, c == AppendCase.Sync1KiB ? FlushPolicy.Sync() : FlushPolicy.Async()));
            try
            {
                var p = engine.GetOrCreatePartition("probe", 0);
                byte[] batch = c == AppendCase.Async64KiB ? BuildBatch(64, 1024) : BuildBatch(1, 1024);
                for (int i = 0; i < n / 4; i++)
                {
                    await Append(engine, p, batch).ConfigureAwait(false); // warm up: JIT tiers, pools, first segment
                }

                // Idle: what the dispatcher, flusher and housekeeper allocate on their own.
                long idle0 = GC.GetTotalAllocatedBytes(precise: true);
                var idleWatch = Stopwatch.StartNew();
                await Task.Delay(2000).ConfigureAwait(false);
                double idleRate = (GC.GetTotalAllocatedBytes(precise: true) - idle0) / idleWatch.Elapsed.TotalSeconds;

                long thread0 = GC.GetAllocatedBytesForCurrentThread();
                long total0 = GC.GetTotalAllocatedBytes(precise: true);
                var sw = Stopwatch.StartNew();
                bool sameThread = true;
                int tid = Environment.CurrentManagedThreadId;
                int allocating = 0, rolls = 0;
                long maxAlloc = 0;
                for (int i = 0; i < n; i++)
                {
                    long before = GC.GetAllocatedBytesForCurrentThread();
                    long segments = engine.CommitLog.Segments.Count;
                    await Append(engine, p, batch).ConfigureAwait(false);
                    if (Environment.CurrentManagedThreadId != tid)
                    {
                        sameThread = false;
                        continue;
                    }

                    long delta = GC.GetAllocatedBytesForCurrentThread() - before;
                    bool rolled = engine.CommitLog.Segments.Count > segments;
                    rolls += rolled ? 1 : 0;
                    if (delta > 0)
                    {
                        allocating++;
                        maxAlloc = Math.Max(maxAlloc, delta);
                    }
                }

                long thread = GC.GetAllocatedBytesForCurrentThread() - thread0;
                long total = GC.GetTotalAllocatedBytes(precise: true) - total0;
                double sec = sw.Elapsed.TotalSeconds;
                string threadCol = sameThread
                    ? $"{F(thread / (double)n, "F2")} ({allocating} of {n:N0} appends allocated, max {maxAlloc:N0} B; {rolls} segment rolls)"
                    : "n/a (continuations move threads)";
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {c} | {n:N0} | {threadCol} | {total / (double)n:F2} | {(total - (idleRate * sec)) / n:F2} | {idleRate:F0} |"));
            }
            finally
            {
                engine.Dispose();
            }
        }
        finally
        {
            DeleteDir(dir);
        }
    }

    // Pooled so that awaiting a pending (sync-flush) append does not allocate a state machine box per call.
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask Append(StorageEngine engine, PartitionLog p, byte[] batch)
    {
        var pending = engine.AppendAsync(p, batch);
        if (!pending.IsCompletedSuccessfully)
        {
            await pending.ConfigureAwait(false);
        }
    }
}
