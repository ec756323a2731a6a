using System.Diagnostics;
using OrleansMQ.Silo.Kafka.Protocol;

namespace OrleansMQ.Broker.Benchmarks;

/// <summary>
/// Closed loop: every connection keeps <see cref="BenchOptions.InFlight"/> Produce requests
/// outstanding (a sender thread and a receiver thread per connection). The rate of acknowledged
/// messages over the measured seconds, after the warm-up, is the peak.
/// </summary>
internal static class PeakRun
{
    public static PeakResult Run(Workload workload, double seconds)
    {
        var options = workload.Options;
        var connections = workload.Connect();
        long acked = 0;
        long errors = 0;
        ErrorCode lastError = ErrorCode.None;
        bool stop = false;
        var threads = new List<Thread>();
        try
        {
            foreach (var connection in connections)
            {
                var window = new SemaphoreSlim(options.InFlight);
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
                        if (!connection.TryReceive(out _, out var error))
                        {
                            continue;
                        }

                        received++;
                        window.Release();
                        if (error == ErrorCode.None)
                        {
                            Interlocked.Add(ref acked, options.Batch);
                        }
                        else
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
            Thread.Sleep(TimeSpan.FromSeconds(options.WarmupSeconds));
            long startCount = Interlocked.Read(ref acked);
            var clock = Stopwatch.StartNew();
            var cpuMeasured = Process.GetCurrentProcess().TotalProcessorTime;
            Thread.Sleep(TimeSpan.FromSeconds(seconds));
            long endCount = Interlocked.Read(ref acked);
            double elapsed = clock.Elapsed.TotalSeconds;
            var cpuEnd = Process.GetCurrentProcess().TotalProcessorTime;
            Volatile.Write(ref stop, true);
            threads.ForEach(t => t.Join());
            return new PeakResult(
                (endCount - startCount) / elapsed,
                elapsed,
                Interlocked.Read(ref errors),
                lastError,
                (cpuEnd - cpuMeasured).TotalSeconds);
        }
        finally
        {
            foreach (var connection in connections)
            {
                connection.Dispose();
            }
        }
    }
}

internal readonly record struct PeakResult(double MessagesPerSecond, double Seconds, long Errors, ErrorCode LastError, double GeneratorCpuSeconds);
