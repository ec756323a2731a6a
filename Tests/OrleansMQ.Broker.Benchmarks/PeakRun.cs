using System.Diagnostics;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Broker.Benchmarks;

/// <summary>
/// Closed loop: every connection keeps <see cref="BenchOptions.InFlight"/> requests outstanding
/// (a sender thread and a receiver thread per connection). The rate of acknowledged units
/// (Produce: messages; OffsetCommit: committed offsets) over the measured seconds, after the
/// warm-up, is the peak.
/// </summary>
internal static class PeakRun
{
    public static PeakResult Run(Workload workload, double seconds)
    {
        var options = workload.Options;
        return Run(workload.Connect(), options.InFlight, options.WarmupSeconds, seconds);
    }

    /// <summary>Drives <paramref name="connections"/> and disposes them; with <paramref name="siloPid"/> &gt; 0 also measures that process's CPU over the window.</summary>
    public static PeakResult Run(IReadOnlyList<IPipelinedConnection> connections, int inFlight, double warmupSeconds, double seconds, int siloPid = 0)
    {
        long acked = 0;
        long responses = 0;
        long errors = 0;
        ErrorCode lastError = ErrorCode.None;
        bool stop = false;
        var threads = new List<Thread>();
        try
        {
            foreach (var connection in connections)
            {
                var window = new SemaphoreSlim(inFlight);
                long sent = 0;
                bool senderDone = false;
                var sender = new Thread(() =>
                {
                    int correlationId = 0;
                    while (!Volatile.Read(ref stop))
                    {
                        if (window.Wait(100))
                        {
                            connection.Send(++correlationId);
                            Volatile.Write(ref sent, correlationId);
                        }
                    }

                    Volatile.Write(ref senderDone, true);
                })
                { IsBackground = true, Name = "peak-send" };
                var receiver = new Thread(() =>
                {
                    connection.SetReceiveTimeout(100);
                    long received = 0;
                    while (!Volatile.Read(ref senderDone) || received < Volatile.Read(ref sent))
                    {
                        if (!connection.TryReceive(out int units, out int failed, out var error))
                        {
                            continue;
                        }

                        received++;
                        window.Release();
                        Interlocked.Increment(ref responses);
                        Interlocked.Add(ref acked, units);
                        if (failed > 0)
                        {
                            Interlocked.Increment(ref errors);
                            lastError = error;
                        }
                    }
                })
                { IsBackground = true, Name = "peak-receive" };
                threads.Add(sender);
                threads.Add(receiver);
            }

            threads.ForEach(t => t.Start());
            Thread.Sleep(TimeSpan.FromSeconds(warmupSeconds));
            long startCount = Interlocked.Read(ref acked);
            long startResponses = Interlocked.Read(ref responses);
            var clock = Stopwatch.StartNew();
            var cpuMeasured = Process.GetCurrentProcess().TotalProcessorTime;
            var siloCpuMeasured = ProcessCpu(siloPid);
            Thread.Sleep(TimeSpan.FromSeconds(seconds));
            long endCount = Interlocked.Read(ref acked);
            long endResponses = Interlocked.Read(ref responses);
            double elapsed = clock.Elapsed.TotalSeconds;
            var cpuEnd = Process.GetCurrentProcess().TotalProcessorTime;
            var siloCpuEnd = ProcessCpu(siloPid);
            Volatile.Write(ref stop, true);
            threads.ForEach(t => t.Join());
            return new PeakResult(
                (endCount - startCount) / elapsed,
                elapsed,
                Interlocked.Read(ref errors),
                lastError,
                (cpuEnd - cpuMeasured).TotalSeconds,
                (endResponses - startResponses) / elapsed,
                siloPid > 0 ? (siloCpuEnd - siloCpuMeasured).TotalSeconds : double.NaN);
        }
        finally
        {
            foreach (var connection in connections)
            {
                connection.Dispose();
            }
        }
    }

    /// <summary>User + system CPU of another process (on Linux read from /proc/PID/stat); zero for pid 0.</summary>
    private static TimeSpan ProcessCpu(int pid)
    {
        if (pid <= 0)
        {
            return TimeSpan.Zero;
        }

        using var process = Process.GetProcessById(pid);
        return process.TotalProcessorTime;
    }
}

/// <summary>
/// MessagesPerSecond: acknowledged units per second (messages, or committed offsets);
/// RequestsPerSecond: answered requests per second; SiloCpuSeconds: the silo's CPU over the window (NaN when not measured).
/// </summary>
internal readonly record struct PeakResult(double MessagesPerSecond, double Seconds, long Errors, ErrorCode LastError, double GeneratorCpuSeconds, double RequestsPerSecond, double SiloCpuSeconds);
