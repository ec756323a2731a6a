using System.Runtime.InteropServices;

namespace OrleansMQ.Broker.Benchmarks;

/// <summary>
/// Sub-millisecond sleeps: Thread.Sleep rounds to whole milliseconds, which would add up to a
/// millisecond of the generator's own lateness to every open-loop latency sample.
/// </summary>
internal static partial class NativeSleep
{
    public static void Microseconds(long microseconds)
    {
        if (microseconds > 0)
        {
            _ = Usleep((uint)Math.Min(microseconds, 1_000_000));
        }
    }

    [LibraryImport("libc", EntryPoint = "usleep")]
    private static partial int Usleep(uint microseconds);
}
