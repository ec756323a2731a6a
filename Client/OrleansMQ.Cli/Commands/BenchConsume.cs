using System.Diagnostics;
using System.Globalization;
using OrleansMQ.Cli.Infrastructure;
using OrleansMQ.Client;
using OrleansMQ.Client.Admin;
using OrleansMQ.Client.Consumer;
using OrleansMQ.Protocol;

namespace OrleansMQ.Cli.Commands;

/// <summary>
/// The consume side of <c>omq bench</c>: one <see cref="KafkaConsumer"/> assigned every partition
/// of the topic (no group), reading until it has <c>target</c> messages; end-to-end latency is now
/// minus the record's timestamp, sampled every <see cref="SampleEvery"/>th message.
/// </summary>
internal static class ConsumeBench
{
    public const int SampleEvery = 64;
    private const int MaxSamples = 1 << 21;

    /// <summary>Where the consumer starts and how many messages it waits for.</summary>
    /// <param name="Starts">Start offset per partition.</param>
    /// <param name="Target">Messages to read; <see cref="Target"/> may be lowered or raised while running (both: the producers' count).</param>
    internal sealed class Plan(Dictionary<int, long> starts, long target)
    {
        private long _target = target;

        public Dictionary<int, long> Starts { get; } = starts;

        public long Target
        {
            get => Volatile.Read(ref _target);
            set => Volatile.Write(ref _target, value);
        }

        /// <summary>Bench both: the producers' acknowledged count (the lag is that minus what was consumed); null otherwise.</summary>
        public Func<long>? Acked { get; set; }
    }

    /// <summary>Bench consume: every partition from its earliest offset up to its end now (at most --messages).</summary>
    public static async Task<Plan> FromBeginningAsync(CommandContext context, string topic, long messages)
    {
        var earliest = await context.Admin.ListOffsetsAsync(topic, OffsetSpec.Earliest, context.CancellationToken).ConfigureAwait(false);
        var latest = (await context.Admin.ListOffsetsAsync(topic, OffsetSpec.Latest, context.CancellationToken).ConfigureAwait(false)).ToDictionary(o => o.Partition, o => o.Offset);
        long available = earliest.Sum(o => latest.GetValueOrDefault(o.Partition) - o.Offset);
        return new Plan(earliest.ToDictionary(o => o.Partition, o => o.Offset), Math.Min(available, messages));
    }

    /// <summary>Bench both: every partition from its end now (only what the producers send next).</summary>
    public static async Task<Plan> FromEndAsync(CommandContext context, string topic, long messages)
    {
        var latest = await context.Admin.ListOffsetsAsync(topic, OffsetSpec.Latest, context.CancellationToken).ConfigureAwait(false);
        return new Plan(latest.ToDictionary(o => o.Partition, o => o.Offset), messages);
    }

    public static async Task<BenchResult> RunAsync(ClientOptions clientOptions, string topic, Plan plan, ProgressLine? progress, TimeSpan? duration, CancellationToken cancellationToken)
    {
        var options = new ConsumerOptions
        {
            Client = clientOptions with { ClientId = $"{clientOptions.ClientId}-bench-consumer" },
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
        };
        var samples = new long[MaxSamples];
        int sampleCount = 0;
        long consumed = 0, bytes = 0;
        await using var consumer = new KafkaConsumer(options);
        consumer.Assign(plan.Starts.Keys.Select(p => new TopicPartition(topic, p)));
        foreach (var (p, offset) in plan.Starts)
        {
            consumer.Seek(new TopicPartition(topic, p), offset);
        }

        using var progressStop = new CancellationTokenSource();
        long last = 0;
        var reporter = progress?.RunAsync(
            (elapsed, interval) =>
            {
                long now = Volatile.Read(ref consumed), target = plan.Target;
                double rate = (now - last) / interval;
                last = now;
                long? behind = plan.Acked is { } acked ? acked() - now : (target == long.MaxValue ? null : target - now);
                string lag = behind is { } b ? b.ToString("N0", CultureInfo.InvariantCulture) : "?";
                return string.Create(CultureInfo.InvariantCulture, $"[consume {elapsed.TotalSeconds,4:F0}s] {rate,12:N0} msg/s {rate * (now > 0 ? Volatile.Read(ref bytes) / (double)now : 0) / 1e6,8:F1} MB/s  consumed {now,13:N0}  lag {lag,10}");
            },
            progressStop.Token) ?? Task.CompletedTask;

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (duration is { } d)
        {
            stop.CancelAfter(d);
        }

        var use = ResourceUse.Start();
        var clock = Stopwatch.StartNew();
        long lastRecordAt = 0;
        bool reached = false;

        // The target can drop to what was consumed already (both with --duration): a watcher ends the wait then.
        using var watchStop = new CancellationTokenSource();
        var watcher = Task.Run(async () =>
        {
            try
            {
                while (!watchStop.IsCancellationRequested)
                {
                    await Task.Delay(50, watchStop.Token).ConfigureAwait(false);
                    if (Volatile.Read(ref consumed) >= plan.Target)
                    {
                        Volatile.Write(ref reached, true);
                        await stop.CancelAsync().ConfigureAwait(false);
                        return;
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }, CancellationToken.None);

        double seconds;
        try
        {
            if (plan.Target > 0)
            {
                await foreach (var record in consumer.ConsumeAsync(stop.Token).ConfigureAwait(false))
                {
                    long n = consumed + 1;
                    Volatile.Write(ref consumed, n);
                    Volatile.Write(ref bytes, bytes + (record.Value?.Length ?? 0));
                    lastRecordAt = clock.ElapsedTicks;
                    if (n % SampleEvery == 0 && sampleCount < MaxSamples)
                    {
                        long ms = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - record.Timestamp.ToUnixTimeMilliseconds();
                        samples[sampleCount++] = Math.Max(0, ms) * Stopwatch.Frequency / 1000;
                    }

                    if (n >= plan.Target)
                    {
                        break;
                    }
                }
            }

            seconds = clock.Elapsed.TotalSeconds;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // --duration, or the target was reached while waiting.
            seconds = Volatile.Read(ref reached) ? lastRecordAt / (double)Stopwatch.Frequency : clock.Elapsed.TotalSeconds;
        }
        finally
        {
            await watchStop.CancelAsync().ConfigureAwait(false);
            await watcher.ConfigureAwait(false);
            await progressStop.CancelAsync().ConfigureAwait(false);
            await reporter.ConfigureAwait(false);
        }

        return new BenchResult(consumed, bytes, seconds, LatencySummary.FromTicks("end-to-end", samples, sampleCount), null) { Use = use.Stop() };
    }
}
