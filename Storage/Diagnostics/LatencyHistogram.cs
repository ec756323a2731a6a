using System.Diagnostics;

namespace OrleansMQ.Storage.Diagnostics;

/// <summary>
/// A fixed-bucket latency histogram in the shape Prometheus exposes (cumulative buckets, sum,
/// count). Recording is lock-free and allocation-free (a few Interlocked adds), so it can sit on
/// the request and flush paths; a read is not an atomic snapshot of all buckets, which a scrape
/// tolerates.
/// </summary>
public sealed class LatencyHistogram
{
    /// <summary>Upper bounds in seconds: 50 µs to 10 s, roughly 1-2.5-5 steps.</summary>
    public static readonly double[] BoundsSeconds =
        [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private static readonly long[] BoundsTicks = BoundsSeconds.Select(s => (long)Math.Ceiling(s * Stopwatch.Frequency)).ToArray();

    // One slot per bound plus the overflow (+Inf) slot; counts per slot, not cumulative.
    private readonly long[] _counts = new long[BoundsSeconds.Length + 1];
    private long _sumTicks;
    private long _count;

    /// <summary>Records the time since <paramref name="startTimestamp"/> (a <see cref="Stopwatch.GetTimestamp"/> value).</summary>
    public void RecordSince(long startTimestamp) => RecordTicks(Stopwatch.GetTimestamp() - startTimestamp);

    /// <summary>Records one observation of <paramref name="elapsedTicks"/> Stopwatch ticks.</summary>
    public void RecordTicks(long elapsedTicks)
    {
        if (elapsedTicks < 0)
        {
            elapsedTicks = 0;
        }

        int slot = 0;
        var bounds = BoundsTicks;
        while (slot < bounds.Length && elapsedTicks > bounds[slot])
        {
            slot++;
        }

        Interlocked.Increment(ref _counts[slot]);
        Interlocked.Add(ref _sumTicks, elapsedTicks);
        Interlocked.Increment(ref _count);
    }

    /// <summary>Observations recorded.</summary>
    public long Count => Volatile.Read(ref _count);

    /// <summary>Sum of all observations, seconds.</summary>
    public double SumSeconds => (double)Volatile.Read(ref _sumTicks) / Stopwatch.Frequency;

    /// <summary>Cumulative counts per bound of <see cref="BoundsSeconds"/>, then the +Inf count (the total).</summary>
    public long[] CumulativeCounts()
    {
        var result = new long[_counts.Length];
        long running = 0;
        for (int i = 0; i < _counts.Length; i++)
        {
            running += Volatile.Read(ref _counts[i]);
            result[i] = running;
        }

        return result;
    }

    /// <summary>
    /// The smallest bucket bound at or below which <paramref name="quantile"/> of the observations
    /// fall (an upper estimate, as Prometheus' histogram_quantile without interpolation);
    /// <see cref="double.PositiveInfinity"/> when they lie beyond the last bound, 0 when empty.
    /// </summary>
    public double QuantileUpperBound(double quantile)
    {
        var cumulative = CumulativeCounts();
        long total = cumulative[^1];
        if (total == 0)
        {
            return 0;
        }

        long rank = (long)Math.Ceiling(quantile * total);
        for (int i = 0; i < BoundsSeconds.Length; i++)
        {
            if (cumulative[i] >= rank)
            {
                return BoundsSeconds[i];
            }
        }

        return double.PositiveInfinity;
    }
}
