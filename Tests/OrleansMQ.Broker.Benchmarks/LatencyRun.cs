using System.Collections.Concurrent;
using System.Diagnostics;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Broker.Benchmarks;

/// <summary>
/// Open loop: request k is due at start + k × batch / rate and goes out on connection
/// k mod C as soon as it is due (late requests go out at once, never skipped). Latency is measured
/// from the request's scheduled time to its response, so a stall of the broker or of the
/// generator counts against every request it delays (no coordinated omission). The send lag
/// (actual minus scheduled send time) shows how much of it the generator's own lateness is,
/// including a blocking send while the broker is not reading.
/// </summary>
internal static class LatencyRun
{
    public static LatencyResult Run(Workload workload, long rate)
    {
        var options = workload.Options;
        double interval = Stopwatch.Frequency * (double)options.Batch / rate;
        long expected = (long)((options.WarmupSeconds + options.Seconds) * rate / options.Batch) + 16;
        int capacity = (int)Math.Min(expected, 50_000_000);
        var connections = workload.Connect();
        var schedules = connections.Select(_ => new ConcurrentQueue<long>()).ToArray();
        var samples = connections.Select(_ => new List<Sample>((capacity / connections.Length) + 1)).ToArray();
        var lags = new List<Sample>(capacity);
        var sent = new long[connections.Length];
        long errors = 0;
        ErrorCode lastError = ErrorCode.None;
        bool senderDone = false;
        long start = Stopwatch.GetTimestamp() + (Stopwatch.Frequency / 10);
        long measureFrom = start + (long)(options.WarmupSeconds * Stopwatch.Frequency);
        long end = measureFrom + (long)(options.Seconds * Stopwatch.Frequency);
        double measureFromUnix = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0) + ((measureFrom - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency);

        var receivers = new Thread[connections.Length];
        for (int c = 0; c < connections.Length; c++)
        {
            int index = c;
            receivers[c] = new Thread(() =>
            {
                var connection = connections[index];
                connection.SetReceiveTimeout(100);
                long received = 0;
                while (!Volatile.Read(ref senderDone) || received < Volatile.Read(ref sent[index]))
                {
                    if (!connection.TryReceive(out _, out var error))
                    {
                        continue;
                    }

                    long now = Stopwatch.GetTimestamp();
                    received++;
                    if (!schedules[index].TryDequeue(out long due))
                    {
                        throw new InvalidOperationException("a response without a request");
                    }

                    if (error != ErrorCode.None)
                    {
                        Interlocked.Increment(ref errors);
                        lastError = error;
                    }
                    else if (due >= measureFrom)
                    {
                        samples[index].Add(new Sample(due, now - due));
                    }
                }
            })
            { IsBackground = true, Name = "latency-receive" };
            receivers[c].Start();
        }

        var cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
        var pacer = new Thread(() =>
        {
            int correlationId = 0;
            for (long k = 0; ; k++)
            {
                long due = start + (long)(k * interval);
                if (due >= end)
                {
                    break;
                }

                long wait = due - Stopwatch.GetTimestamp();
                if (wait > 0)
                {
                    NativeSleep.Microseconds(wait * 1_000_000 / Stopwatch.Frequency);
                }

                int c = (int)(k % connections.Length);
                schedules[c].Enqueue(due);
                connections[c].Send(++correlationId);
                Volatile.Write(ref sent[c], sent[c] + 1);
                if (due >= measureFrom)
                {
                    lags.Add(new Sample(due, Stopwatch.GetTimestamp() - due));
                }
            }

            Volatile.Write(ref senderDone, true);
        })
        { IsBackground = true, Name = "latency-pacer", Priority = ThreadPriority.AboveNormal };
        pacer.Start();
        pacer.Join();
        foreach (var receiver in receivers)
        {
            receiver.Join();
        }

        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuStart).TotalSeconds;
        foreach (var connection in connections)
        {
            connection.Dispose();
        }

        var all = samples.SelectMany(s => s).ToArray();
        var latencies = all.Select(s => s.Ticks).Order().ToArray();
        var lagTicks = lags.Select(s => s.Ticks).Order().ToArray();
        return new LatencyResult(
            rate,
            all.Length * (double)options.Batch / options.Seconds,
            all.Length,
            Interlocked.Read(ref errors),
            lastError,
            Millis(Percentile(latencies, 0.50)),
            Millis(Percentile(latencies, 0.99)),
            Millis(Percentile(latencies, 0.999)),
            Millis(latencies.Length == 0 ? 0 : latencies[^1]),
            Millis(Percentile(lagTicks, 0.99)),
            Millis(lagTicks.Length == 0 ? 0 : lagTicks[^1]),
            cpu,
            Timeline(all, lags, measureFrom, measureFromUnix, (int)Math.Ceiling(options.Seconds)));
    }

    /// <summary>Per second of the measured window (and its wall-clock start): requests, p99 and max latency, max send lag.</summary>
    private static TimelineSecond[] Timeline(Sample[] samples, List<Sample> lags, long measureFrom, double measureFromUnix, int seconds)
    {
        var buckets = Enumerable.Range(0, seconds).Select(_ => new List<long>()).ToArray();
        var maxLag = new long[seconds];
        foreach (var s in samples)
        {
            buckets[Math.Min((int)((s.Due - measureFrom) / Stopwatch.Frequency), seconds - 1)].Add(s.Ticks);
        }

        foreach (var s in lags)
        {
            int i = Math.Min((int)((s.Due - measureFrom) / Stopwatch.Frequency), seconds - 1);
            maxLag[i] = Math.Max(maxLag[i], s.Ticks);
        }

        return buckets.Select((b, i) =>
        {
            var sorted = b.Order().ToArray();
            return new TimelineSecond(i, measureFromUnix + i, sorted.Length, Millis(Percentile(sorted, 0.99)), Millis(sorted.Length == 0 ? 0 : sorted[^1]), Millis(maxLag[i]));
        }).ToArray();
    }

    private static long Percentile(long[] sorted, double q) =>
        sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];

    private static double Millis(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    /// <summary>A request's scheduled send time and a duration, in Stopwatch ticks.</summary>
    private readonly record struct Sample(long Due, long Ticks);
}

internal readonly record struct TimelineSecond(int Second, double UnixTime, int Requests, double P99Ms, double MaxMs, double SendLagMaxMs);

internal readonly record struct LatencyResult(
    long TargetRate,
    double AchievedRate,
    long Requests,
    long Errors,
    ErrorCode LastError,
    double P50Ms,
    double P99Ms,
    double P999Ms,
    double MaxMs,
    double SendLagP99Ms,
    double SendLagMaxMs,
    double GeneratorCpuSeconds,
    IReadOnlyList<TimelineSecond> Timeline);
