using System.Globalization;
using OrleansMQ.Broker.Benchmarks;

// Broker load generator over raw TCP with the silo's own Kafka codec (docs/benchmarks.md,
// "Broker (issue 3)"; the "groups" scenarios: "Consumer groups (issue 4)"). Prints human lines
// and one "RESULT ..." line per run for scripts.
var culture = CultureInfo.InvariantCulture;
if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.WriteLine(BenchOptions.Usage);
    return args.Length == 0 ? 2 : 0;
}

if (args[0] == "groups")
{
    return await RunGroupsAsync(args.AsSpan(1).ToArray());
}

if (args[0] == "rest")
{
    return await RestBench.RunAsync(args.AsSpan(1).ToArray());
}

BenchOptions options;
try
{
    options = BenchOptions.Parse(args.AsSpan(1));
}
catch (Exception ex) when (ex is ArgumentException or FormatException or OverflowException)
{
    Console.Error.WriteLine(ex.Message);
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}

string shape = string.Create(culture, $"{options.Connections} connection(s), batch {options.Batch} x {options.MessageBytes} B, acks={options.Acks}, Produce v{options.ProduceVersion}");
switch (args[0])
{
    case "peak":
        {
            var peak = PeakRun.Run(Workload.Create(options), options.PeakSeconds);
            PrintPeak(peak);
            return peak.Errors == 0 ? 0 : 1;
        }

    case "latency":
        {
            var workload = Workload.Create(options);
            long rate = options.Rate;
            if (rate <= 0)
            {
                var peak = PeakRun.Run(workload, options.PeakSeconds);
                PrintPeak(peak);
                rate = (long)(peak.MessagesPerSecond / 2);
            }

            var result = LatencyRun.Run(workload, rate);
            Console.WriteLine(string.Create(culture,
                $"latency: {shape}, open loop at {rate:N0} msg/s ({rate / (double)options.Batch:N0} req/s) for {options.Seconds:0.#} s after {options.WarmupSeconds:0.#} s warm-up"));
            Console.WriteLine(string.Create(culture,
                $"  achieved {result.AchievedRate:N0} msg/s, {result.Requests:N0} requests, {result.Errors} errors{(result.Errors > 0 ? " (last " + result.LastError + ")" : "")}"));
            Console.WriteLine(string.Create(culture,
                $"  scheduled send -> response: p50 {result.P50Ms:0.000} ms, p99 {result.P99Ms:0.000} ms, p99.9 {result.P999Ms:0.000} ms, max {result.MaxMs:0.000} ms"));
            Console.WriteLine(string.Create(culture,
                $"  generator: send lag p99 {result.SendLagP99Ms:0.000} ms, max {result.SendLagMaxMs:0.000} ms; CPU {result.GeneratorCpuSeconds:0.00} s"));
            if (options.Timeline)
            {
                foreach (var second in result.Timeline)
                {
                    Console.WriteLine(string.Create(culture,
                        $"  t={second.Second,3} s (unix {second.UnixTime:0.0})  {second.Requests,7:N0} requests  p99 {second.P99Ms,9:0.000} ms  max {second.MaxMs,9:0.000} ms  send lag max {second.SendLagMaxMs,9:0.000} ms"));
                }
            }

            Console.WriteLine(string.Create(culture,
                $"RESULT latency rate={rate} achieved={result.AchievedRate:0} requests={result.Requests} errors={result.Errors} p50_ms={result.P50Ms:0.000} p99_ms={result.P99Ms:0.000} p999_ms={result.P999Ms:0.000} max_ms={result.MaxMs:0.000} send_lag_p99_ms={result.SendLagP99Ms:0.000} gen_cpu_s={result.GeneratorCpuSeconds:0.00}"));
            return result.Errors == 0 ? 0 : 1;
        }

    default:
        Console.Error.WriteLine($"unknown command {args[0]}");
        Console.Error.WriteLine(BenchOptions.Usage);
        return 2;
}

static async Task<int> RunGroupsAsync(string[] args)
{
    if (args.Length == 0 || args[0] is "-h" or "--help")
    {
        Console.WriteLine(GroupBenchOptions.Usage);
        return args.Length == 0 ? 2 : 0;
    }

    GroupBenchOptions options;
    try
    {
        options = GroupBenchOptions.Parse(args.AsSpan(1));
        return args[0] switch
        {
            "rebalance" => await GroupRebalanceRun.RunAsync(options).ConfigureAwait(false),
            "commit" => await OffsetCommitRun.RunAsync(options).ConfigureAwait(false),
            "memory" => await GroupMemoryRun.RunAsync(options).ConfigureAwait(false),
            "startup" => await GroupStartupRun.RunAsync(options).ConfigureAwait(false),
            _ => throw new ArgumentException($"unknown groups scenario {args[0]}"),
        };
    }
    catch (Exception ex) when (ex is ArgumentException or FormatException or OverflowException)
    {
        Console.Error.WriteLine(ex.Message);
        Console.Error.WriteLine(GroupBenchOptions.Usage);
        return 2;
    }
}

void PrintPeak(PeakResult peak)
{
    double mb = peak.MessagesPerSecond * options.MessageBytes / 1e6;
    Console.WriteLine(string.Create(culture,
        $"peak: {shape}, {options.InFlight} in flight per connection: {peak.MessagesPerSecond:N0} msg/s ({mb:0.0} MB/s payload) over {peak.Seconds:0.0} s; {peak.Errors} errors{(peak.Errors > 0 ? " (last " + peak.LastError + ")" : "")}; generator CPU {peak.GeneratorCpuSeconds:0.00} s"));
    Console.WriteLine(string.Create(culture,
        $"RESULT peak msg_per_s={peak.MessagesPerSecond:0} mb_per_s={mb:0.0} errors={peak.Errors} gen_cpu_s={peak.GeneratorCpuSeconds:0.00} seconds={peak.Seconds:0.0}"));
}
