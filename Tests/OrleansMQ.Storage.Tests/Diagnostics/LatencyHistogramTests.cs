using System.Diagnostics;
using OrleansMQ.Storage.Diagnostics;
using Xunit;

namespace OrleansMQ.Storage.Tests.Diagnostics;

public sealed class LatencyHistogramTests
{
    private static long Ticks(double seconds) => (long)(seconds * Stopwatch.Frequency);

    [Fact]
    public void Observations_land_in_the_first_bucket_whose_bound_holds_them()
    {
        var h = new LatencyHistogram();
        h.RecordTicks(Ticks(0.00001));  // 10 µs  -> le 0.00005
        h.RecordTicks(Ticks(0.0003));   // 300 µs -> le 0.0005
        h.RecordTicks(Ticks(0.001));    // exactly 1 ms -> le 0.001 (bounds are inclusive, as Prometheus' le)
        h.RecordTicks(Ticks(3));        // 3 s -> le 5
        h.RecordTicks(Ticks(60));       // beyond the last bound -> +Inf only
        h.RecordTicks(-5);              // a clock step back counts as zero

        var c = h.CumulativeCounts();
        int Index(double bound) => Array.IndexOf(LatencyHistogram.BoundsSeconds, bound);
        Assert.Equal(2, c[Index(0.00005)]);
        Assert.Equal(2, c[Index(0.00025)]);
        Assert.Equal(3, c[Index(0.0005)]);
        Assert.Equal(4, c[Index(0.001)]);
        Assert.Equal(4, c[Index(2.5)]);
        Assert.Equal(5, c[Index(5)]);
        Assert.Equal(5, c[Index(10)]);
        Assert.Equal(6, c[^1]);
        Assert.Equal(6, h.Count);
        Assert.InRange(h.SumSeconds, 63.0012, 63.0014);
    }

    [Fact]
    public void Quantile_is_the_bound_of_the_bucket_holding_that_rank()
    {
        var h = new LatencyHistogram();
        Assert.Equal(0, h.QuantileUpperBound(0.99));
        for (int i = 0; i < 98; i++)
        {
            h.RecordTicks(Ticks(0.0002));
        }

        h.RecordTicks(Ticks(0.02));
        h.RecordTicks(Ticks(20));
        Assert.Equal(0.00025, h.QuantileUpperBound(0.5));
        Assert.Equal(0.00025, h.QuantileUpperBound(0.98));
        Assert.Equal(0.025, h.QuantileUpperBound(0.99));
        Assert.Equal(double.PositiveInfinity, h.QuantileUpperBound(1.0));
    }

    [Fact]
    public async Task Concurrent_recording_loses_nothing()
    {
        var h = new LatencyHistogram();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (int i = 0; i < 100_000; i++)
            {
                h.RecordTicks(Ticks(0.001 * (i % 7)));
            }
        })));
        Assert.Equal(400_000, h.Count);
        Assert.Equal(400_000, h.CumulativeCounts()[^1]);
    }
}
