using System.Diagnostics;
using System.Globalization;
using OrleansMQ.Cli.Infrastructure;
using OrleansMQ.Client;
using OrleansMQ.Client.Admin;
using OrleansMQ.Client.Producer;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Cli.Commands;

/// <summary>
/// <c>omq bench produce|consume|both</c>: throughput (msg/s, MB/s of values) and latency
/// percentiles of the managed client against a cluster, with a live progress line on stderr.
/// </summary>
internal sealed class BenchCommand : Command
{
    public const int DefaultLingerMs = 5;
    public const int DefaultBatchSize = 256 * 1024;
    public const string DefaultAcks = "1";

    public override string Name => "bench";

    public override string Summary => "Measure produce/consume throughput and latency.";

    public override string Arguments => "produce|consume|both [options]";

    public override string Description => $"""
        produce: --producers threads, each with its own producer, send --messages values of --size
          random bytes (no key: sticky partitioner) to --topic, created with --partitions when
          missing; the clock stops when every message is acknowledged. Latency: from Produce to the
          delivery report, sampled every {ProduceBench.SampleEvery}th message (no allocation per message).
        consume: reads every partition of --topic from the beginning to its end (assign mode);
          latency: end to end, now minus the record's timestamp.
        both: consume while producing (end-to-end latency of fresh messages).
        MB/s counts value bytes (10^6). Progress (msgs/s, MB/s, in flight or lag) goes to stderr once a
        second, on one rewritten line when stderr is a terminal; the summary goes to stdout (-o json).

        Examples:
          omq bench produce --messages 5000000 --partitions 6 --acks 1 --linger-ms 5
          omq bench produce --duration 30 --producers 2 -o json
        """;

    public override IReadOnlyList<OptionSpec> Options { get; } = ProduceCommand.ProducerSpecs(
        [
            new("topic", "t", "T", "Topic. Default: omq-bench."),
            new("messages", "n", "N", "Messages to produce (or to read). Default: 1000000 (with --duration: no limit)."),
            new("size", "s", "bytes", "Value size. Default: 100."),
            new("partitions", "p", "N", "Partitions of the topic when bench creates it. Default: 6."),
            new("producers", null, "N", "Producer threads, each with its own producer and connections. Default: 1."),
            new("duration", "d", "seconds", "Stop producing after this long."),
        ],
        DefaultLingerMs,
        DefaultBatchSize,
        DefaultAcks);

    public override async Task<int> RunAsync(CommandContext context)
    {
        var args = context.Arguments;
        string mode = context.Single("produce|consume|both");
        if (mode is not ("produce" or "consume" or "both"))
        {
            throw new UsageException($"expected produce, consume or both; got '{mode}'");
        }

        var settings = new BenchSettings(
            args.Value("topic") ?? "omq-bench",
            args.Long("messages") is { } n ? (n >= 1 ? n : throw new UsageException("--messages needs an integer >= 1")) : (args.Has("duration") ? long.MaxValue : 1_000_000),
            args.Int("size", min: 0) ?? 100,
            args.Int("partitions", min: 1) ?? 6,
            args.Int("producers", min: 1) ?? 1,
            args.Int("duration", min: 1) is { } d ? TimeSpan.FromSeconds(d) : null,
            ProduceCommand.ProducerOptionsFrom(args, DefaultLingerMs, DefaultBatchSize, DefaultAcks));

        var progress = new ProgressLine(context.Error, context.ErrorIsTerminal);
        var ct = context.CancellationToken;
        if (mode == "consume")
        {
            // Every partition from the beginning to its end now (at most --messages).
            var topic = await context.Admin.DescribeTopicAsync(settings.Topic, ct).ConfigureAwait(false);
            var plan = await ConsumeBench.FromBeginningAsync(context, settings.Topic, args.Has("messages") ? settings.Messages : long.MaxValue).ConfigureAwait(false);
            var consumed = await ConsumeBench.RunAsync(context.ClientOptions, settings.Topic, plan, progress, settings.Duration, ct).ConfigureAwait(false);
            progress.End();
            WriteSummaries(context, settings, topic.Partitions.Count, [("consume", consumed)]);
            return OmqCli.ExitOk;
        }

        int partitions = await EnsureTopicAsync(context, settings).ConfigureAwait(false);
        if (mode == "produce")
        {
            var result = await ProduceBench.RunAsync(context.ClientOptions, settings, progress, null, ct).ConfigureAwait(false);
            if (result.FirstError is { } error)
            {
                throw error;
            }

            WriteSummaries(context, settings, partitions, [("produce", result)]);
            return OmqCli.ExitOk;
        }

        // both: the consumer starts at the end now and reads what the producers send (the
        // progress line is the consumer's: consumed msg/s and lag = acknowledged - consumed).
        var bothPlan = await ConsumeBench.FromEndAsync(context, settings.Topic, settings.Messages).ConfigureAwait(false);
        using var cancelConsumer = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var consuming = ConsumeBench.RunAsync(context.ClientOptions, settings.Topic, bothPlan, progress, null, cancelConsumer.Token);
        BenchResult produced;
        try
        {
            produced = await ProduceBench.RunAsync(context.ClientOptions, settings, null, acked => bothPlan.Acked = acked, ct).ConfigureAwait(false);
        }
        catch
        {
            await cancelConsumer.CancelAsync().ConfigureAwait(false);
            await Task.WhenAny(consuming).ConfigureAwait(false);
            throw;
        }

        if (produced.FirstError is { } produceError)
        {
            await cancelConsumer.CancelAsync().ConfigureAwait(false);
            await Task.WhenAny(consuming).ConfigureAwait(false);
            throw produceError;
        }

        bothPlan.Target = produced.Messages;
        var consumedBoth = await consuming.ConfigureAwait(false);
        progress.End();
        WriteSummaries(context, settings, partitions, [("produce", produced), ("consume", consumedBoth)]);
        return OmqCli.ExitOk;
    }

    /// <summary>Creates the topic when it is missing; returns its partition count.</summary>
    private static async Task<int> EnsureTopicAsync(CommandContext context, BenchSettings settings)
    {
        try
        {
            var created = await context.Admin.CreateTopicAsync(new NewTopic(settings.Topic, settings.Partitions, -1), validateOnly: false, context.CancellationToken).ConfigureAwait(false);
            return created.Partitions;
        }
        catch (KafkaException ex) when (ex.ErrorCode == ErrorCode.TopicAlreadyExists)
        {
            var topic = await context.Admin.DescribeTopicAsync(settings.Topic, context.CancellationToken).ConfigureAwait(false);
            return topic.Partitions.Count;
        }
    }

    private static void WriteSummaries(CommandContext context, BenchSettings settings, int partitions, IReadOnlyList<(string Mode, BenchResult Result)> results)
    {
        var o = settings.Producer;
        if (context.Format == OutputFormat.Json)
        {
            var docs = results.Select(r => new
            {
                r.Mode,
                settings.Topic,
                Partitions = partitions,
                settings.Size,
                settings.Producers,
                Acks = AcksText(o.Acks),
                LingerMs = o.Linger.TotalMilliseconds,
                o.BatchSize,
                Compression = o.Compression.ToString().ToLowerInvariant(),
                r.Result.Messages,
                Seconds = Math.Round(r.Result.Seconds, 3),
                MsgPerSec = Math.Round(r.Result.MessagesPerSecond),
                MBPerSec = Math.Round(r.Result.MegabytesPerSecond, 2),
                Latency = new { r.Result.Latency.Kind, r.Result.Latency.Samples, P50Ms = r.Result.Latency.P50, P95Ms = r.Result.Latency.P95, P99Ms = r.Result.Latency.P99, MaxMs = r.Result.Latency.Max },
                AllocatedBytesPerMessage = r.Result.Messages > 0 ? Math.Round(r.Result.Use.AllocatedBytes / (double)r.Result.Messages, 2) : 0,
                CpuSeconds = Math.Round(r.Result.Use.CpuSeconds, 3),
            }).ToList();
            if (docs.Count == 1)
            {
                Output.Json(context.Out, docs[0]);
            }
            else
            {
                Output.Json(context.Out, docs);
            }

            return;
        }

        var w = context.Out;
        var ci = CultureInfo.InvariantCulture;
        foreach (var (mode, result) in results)
        {
            var latency = result.Latency;
            string setup = mode == "produce"
                ? string.Create(ci, $"{settings.Size} B values, {settings.Producers} producer(s), acks {AcksText(o.Acks)}, linger {o.Linger.TotalMilliseconds} ms, batch {o.BatchSize} B, compression {o.Compression.ToString().ToLowerInvariant()}")
                : "1 consumer, assign mode, every partition";
            w.WriteLine(string.Create(ci, $"bench {mode}: topic {settings.Topic} ({partitions} partitions), {setup}"));
            w.WriteLine(string.Create(ci, $"messages:  {result.Messages:N0}"));
            w.WriteLine(string.Create(ci, $"seconds:   {result.Seconds:F3}"));
            w.WriteLine(string.Create(ci, $"msg/s:     {result.MessagesPerSecond:N0}"));
            w.WriteLine(string.Create(ci, $"MB/s:      {result.MegabytesPerSecond:F1}"));
            w.WriteLine(string.Create(ci, $"latency ({latency.Kind}, {latency.Samples:N0} samples): p50 {latency.P50:F2} ms  p95 {latency.P95:F2} ms  p99 {latency.P99:F2} ms  max {latency.Max:F2} ms"));
            w.WriteLine(string.Create(ci, $"client:    {result.Use.CpuSeconds:F2} s CPU ({(result.Seconds > 0 ? result.Use.CpuSeconds / result.Seconds : 0):F2} cores), {(result.Messages > 0 ? result.Use.AllocatedBytes / (double)result.Messages : 0):F1} B allocated per message"));
        }
    }

    private static string AcksText(Acks acks) => acks switch
    {
        Acks.None => "0",
        Acks.Leader => "1",
        _ => "all",
    };
}

/// <summary>What one bench run does.</summary>
internal sealed record BenchSettings(string Topic, long Messages, int Size, int Partitions, int Producers, TimeSpan? Duration, ProducerOptions Producer);

/// <summary>Latency percentiles in milliseconds over the samples taken.</summary>
internal readonly record struct LatencySummary(string Kind, long Samples, double P50, double P95, double P99, double Max)
{
    /// <summary>Percentiles of <paramref name="count"/> Stopwatch-tick samples (sorted in place).</summary>
    public static LatencySummary FromTicks(string kind, long[] samples, int count)
    {
        if (count == 0)
        {
            return new LatencySummary(kind, 0, 0, 0, 0, 0);
        }

        Array.Sort(samples, 0, count);
        double ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
        double at(double q) => ms(samples[Math.Clamp((int)Math.Ceiling(q * count) - 1, 0, count - 1)]);
        return new LatencySummary(kind, count, at(0.50), at(0.95), at(0.99), ms(samples[count - 1]));
    }
}

/// <summary>The figures of one run.</summary>
internal sealed record BenchResult(long Messages, long Bytes, double Seconds, LatencySummary Latency, KafkaException? FirstError)
{
    /// <summary>This process's managed allocations and CPU time over the run (in <c>both</c>, each side's figure includes the other's).</summary>
    public ResourceUse Use { get; init; }

    public double MessagesPerSecond => Seconds > 0 ? Messages / Seconds : 0;

    public double MegabytesPerSecond => Seconds > 0 ? Bytes / Seconds / 1e6 : 0;
}

/// <summary>Managed bytes allocated and CPU seconds used by this process between <see cref="Start"/> and <see cref="Stop"/>.</summary>
internal readonly record struct ResourceUse(long AllocatedBytes, double CpuSeconds)
{
    public static ResourceUse Start() => new(GC.GetTotalAllocatedBytes(precise: false), Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds);

    public ResourceUse Stop() => new(GC.GetTotalAllocatedBytes(precise: false) - AllocatedBytes, Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - CpuSeconds);
}

/// <summary>The once-a-second progress report on stderr: a rewritten line on a terminal, else plain lines.</summary>
internal sealed class ProgressLine(TextWriter error, bool terminal)
{
    private int _lastLength;

    public void Update(string line)
    {
        lock (this)
        {
            if (terminal)
            {
                error.Write('\r' + line.PadRight(_lastLength));
                _lastLength = line.Length;
            }
            else
            {
                error.WriteLine(line);
            }

            error.Flush();
        }
    }

    public void End()
    {
        lock (this)
        {
            if (terminal && _lastLength > 0)
            {
                error.WriteLine();
                error.Flush();
                _lastLength = 0;
            }
        }
    }

    /// <summary>Runs <paramref name="line"/> once a second (given the elapsed time and the interval's seconds) until <paramref name="cancellationToken"/> ends it.</summary>
    public async Task RunAsync(Func<TimeSpan, double, string> line, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var last = TimeSpan.Zero;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                var now = clock.Elapsed;
                Update(line(now, (now - last).TotalSeconds));
                last = now;
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}

/// <summary>
/// The produce side: one thread and one <see cref="KafkaProducer"/> per <c>--producers</c>, each
/// calling the allocation-free <c>Produce</c> in a loop; every <see cref="SampleEvery"/>th message
/// carries a preallocated slot with its start time, and the delivery handler turns it into an ack
/// latency sample.
/// </summary>
internal sealed class ProduceBench : IDeliveryHandler
{
    public const int SampleEvery = 64;
    private const int SlotCount = 1 << 14;
    private const int MaxSamples = 1 << 21;
    private const int CounterStride = 16; // longs: one cache line apart and more

    private readonly Slot[] _slots = new Slot[SlotCount];
    private readonly long[] _samples = new long[MaxSamples];
    private readonly long[] _produced;
    private int _sampleCount;
    private long _failed;
    private KafkaException? _firstError;

    private ProduceBench(int producers)
    {
        _produced = new long[producers * CounterStride];
        for (int i = 0; i < _slots.Length; i++)
        {
            _slots[i] = new Slot();
        }
    }

    private long Produced
    {
        get
        {
            long sum = 0;
            for (int i = 0; i < _produced.Length; i += CounterStride)
            {
                sum += Volatile.Read(ref _produced[i]);
            }

            return sum;
        }
    }

    /// <summary>Runs the producers; <paramref name="progress"/> null for none, <paramref name="acked"/> receives a reader of the acknowledged count.</summary>
    public static async Task<BenchResult> RunAsync(ClientOptions clientOptions, BenchSettings settings, ProgressLine? progress, Action<Func<long>>? acked, CancellationToken cancellationToken)
    {
        var bench = new ProduceBench(settings.Producers);
        var producers = new KafkaProducer[settings.Producers];
        for (int i = 0; i < producers.Length; i++)
        {
            producers[i] = new KafkaProducer(clientOptions with { ClientId = $"{clientOptions.ClientId}-bench-{i}" }, settings.Producer);
        }

        var value = new byte[settings.Size];
        Random.Shared.NextBytes(value);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (settings.Duration is { } duration)
        {
            stop.CancelAfter(duration);
        }

        acked?.Invoke(() => producers.Sum(p => p.RecordsSent));
        using var progressStop = new CancellationTokenSource();
        long lastProduced = 0, lastAcked = 0;
        var reporter = progress?.RunAsync(
            (elapsed, interval) =>
            {
                long produced = bench.Produced, acked = producers.Sum(p => p.RecordsSent);
                double rate = (acked - lastAcked) / interval;
                string line = string.Create(
                    CultureInfo.InvariantCulture,
                    $"[produce {elapsed.TotalSeconds,4:F0}s] {rate,12:N0} msg/s {rate * settings.Size / 1e6,8:F1} MB/s  sent {(produced - lastProduced) / interval,12:N0} msg/s  acked {acked,13:N0}  in flight {produced - acked,10:N0}");
                lastProduced = produced;
                lastAcked = acked;
                return line;
            },
            progressStop.Token) ?? Task.CompletedTask;

        var use = ResourceUse.Start();
        var clock = Stopwatch.StartNew();
        double seconds;
        try
        {
            var threads = new Task[producers.Length];
            for (int i = 0; i < producers.Length; i++)
            {
                long quota = settings.Messages == long.MaxValue
                    ? long.MaxValue
                    : (settings.Messages / producers.Length) + (i < settings.Messages % producers.Length ? 1 : 0);
                var producer = producers[i];
                int index = i;
                threads[i] = Task.Factory.StartNew(() => bench.ProduceLoop(producer, index, settings.Topic, value, quota, stop.Token), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            }

            await Task.WhenAll(threads).ConfigureAwait(false);
            await Task.WhenAll(producers.Select(p => p.FlushAsync(cancellationToken))).ConfigureAwait(false);
            seconds = clock.Elapsed.TotalSeconds; // every message acknowledged
            use = use.Stop();
        }
        finally
        {
            await progressStop.CancelAsync().ConfigureAwait(false);
            await reporter.ConfigureAwait(false);
            progress?.End();
            foreach (var p in producers)
            {
                await p.DisposeAsync().ConfigureAwait(false);
            }
        }

        long delivered = bench.Produced - Interlocked.Read(ref bench._failed);
        return new BenchResult(
            delivered,
            delivered * settings.Size,
            seconds,
            LatencySummary.FromTicks("ack", bench._samples, Math.Min(Volatile.Read(ref bench._sampleCount), MaxSamples)),
            Volatile.Read(ref bench._firstError))
        {
            Use = use,
        };
    }

    private void ProduceLoop(KafkaProducer producer, int index, string topic, byte[] value, long quota, CancellationToken stop)
    {
        ref long produced = ref _produced[index * CounterStride];
        int slot = index * (SlotCount / (_produced.Length / CounterStride));
        long n = 0;
        for (; n < quota; n++)
        {
            if ((n & (SampleEvery - 1)) == 0)
            {
                Volatile.Write(ref produced, n);
                if (stop.IsCancellationRequested || Volatile.Read(ref _firstError) is not null)
                {
                    break;
                }

                var s = _slots[slot++ & (SlotCount - 1)];
                if (Interlocked.CompareExchange(ref s.Busy, 1, 0) == 0)
                {
                    s.Start = Stopwatch.GetTimestamp();
                    producer.Produce(topic, value, null, this, s);
                    continue;
                }
            }

            producer.Produce(topic, value, null, this, null);
        }

        Volatile.Write(ref produced, n);
    }

    public void OnDelivery(in DeliveryReport report)
    {
        if (report.Error is { } error)
        {
            Interlocked.Increment(ref _failed);
            Interlocked.CompareExchange(ref _firstError, error, null);
        }

        if (report.State is Slot s)
        {
            long latency = Stopwatch.GetTimestamp() - s.Start;
            Volatile.Write(ref s.Busy, 0);
            if (report.Error is null)
            {
                int i = Interlocked.Increment(ref _sampleCount) - 1;
                if (i < MaxSamples)
                {
                    _samples[i] = latency;
                }
            }
        }
    }

    private sealed class Slot
    {
        public long Start;
        public int Busy;
    }
}
