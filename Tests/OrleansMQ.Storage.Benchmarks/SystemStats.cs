using System.Globalization;
using System.Runtime.InteropServices;

namespace OrleansMQ.Storage.Benchmarks;

/// <summary>
/// Bytes written to the block devices (from /proc/diskstats, all whole disks except loop/ram/zram).
/// System-wide, so other tenants of a shared machine show up too: an approximation that shows
/// write amplification (e.g. zero pages written back), not an exact count.
/// </summary>
internal static class DiskStats
{
    public static long SectorsWritten()
    {
        try
        {
            long total = 0;
            foreach (var line in File.ReadLines("/proc/diskstats"))
            {
                var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length < 10)
                {
                    continue;
                }

                string dev = f[2];
                if (dev.StartsWith("loop", StringComparison.Ordinal) || dev.StartsWith("ram", StringComparison.Ordinal) || dev.StartsWith("zram", StringComparison.Ordinal) || !Directory.Exists("/sys/block/" + dev))
                {
                    continue;
                }

                total += long.Parse(f[9], CultureInfo.InvariantCulture);
            }

            return total;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    public static long BytesWritten() => SectorsWritten() * 512;
}

/// <summary>libc calls the benchmarks need that the BCL does not expose.</summary>
internal static partial class NativeIo
{
    public const int PosixFadvDontNeed = 4;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int fdatasync(int fd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int posix_fadvise(int fd, long offset, long len, int advice);

    /// <summary>Writes back and drops the page cache of a file (a cold-cache start without root).</summary>
    public static void DropFromCache(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        RandomAccess.FlushToDisk(handle);
        int fd = (int)handle.DangerousGetHandle();
        _ = posix_fadvise(fd, 0, 0, PosixFadvDontNeed);
    }
}

/// <summary>
/// A log-linear latency histogram over nanoseconds (16 sub-buckets per power of two, so a
/// percentile is within about 6%); the maximum is exact. Not thread-safe: one per thread, then <see cref="Merge"/>.
/// </summary>
internal sealed class Histogram
{
    private const int SubBits = 5;
    private const int Sub = 1 << SubBits;
    private readonly long[] _counts = new long[64 * Sub];

    public long Count { get; private set; }

    public long MaxNanos { get; private set; }

    public double SumNanos { get; private set; }

    public void Record(long nanos)
    {
        if (nanos < 0)
        {
            nanos = 0;
        }

        _counts[Index(nanos)]++;
        Count++;
        SumNanos += nanos;
        if (nanos > MaxNanos)
        {
            MaxNanos = nanos;
        }
    }

    public void Merge(Histogram other)
    {
        for (int i = 0; i < _counts.Length; i++)
        {
            _counts[i] += other._counts[i];
        }

        Count += other.Count;
        SumNanos += other.SumNanos;
        MaxNanos = Math.Max(MaxNanos, other.MaxNanos);
    }

    /// <summary>Upper bound of the bucket holding the <paramref name="p"/>-th percentile (0-100), ns.</summary>
    public long Percentile(double p)
    {
        if (Count == 0)
        {
            return 0;
        }

        long rank = (long)Math.Ceiling(p / 100.0 * Count);
        long seen = 0;
        for (int i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                return Math.Min(UpperBound(i), MaxNanos);
            }
        }

        return MaxNanos;
    }

    public double MeanNanos => Count == 0 ? 0 : SumNanos / Count;

    private static int Index(long v)
    {
        if (v < Sub)
        {
            return (int)v;
        }

        int exp = 63 - System.Numerics.BitOperations.LeadingZeroCount((ulong)v); // >= SubBits
        int sub = (int)(v >> (exp - SubBits + 1)) & (Sub / 2 - 1);
        return ((exp - SubBits + 2) * (Sub / 2)) + sub;
    }

    private static long UpperBound(int index)
    {
        if (index < Sub)
        {
            return index;
        }

        int half = Sub / 2;
        int exp = (index / half) + SubBits - 2;
        int sub = index % half;
        long lower = (1L << exp) + ((long)sub << (exp - SubBits + 1));
        return lower + (1L << (exp - SubBits + 1)) - 1;
    }
}
