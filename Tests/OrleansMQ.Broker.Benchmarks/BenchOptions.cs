using System.Globalization;
using System.Net;

namespace OrleansMQ.Broker.Benchmarks;

/// <summary>Command-line settings of a run; every flag has a default that the usage text shows.</summary>
internal sealed record BenchOptions
{
    public IPEndPoint Bootstrap { get; init; } = new(IPAddress.Loopback, 9092);

    /// <summary>Empty: a fresh topic per run ("bench-" + a random suffix).</summary>
    public string Topic { get; init; } = "";

    public int MessageBytes { get; init; } = 100;

    /// <summary>Records per RecordBatch; one batch per Produce request.</summary>
    public int Batch { get; init; } = 100;

    public int Connections { get; init; } = 1;

    /// <summary>Closed-loop window per connection (the broker stops reading a connection beyond 100).</summary>
    public int InFlight { get; init; } = 16;

    /// <summary>Open-loop messages per second; 0 = find the peak first and use half of it.</summary>
    public long Rate { get; init; }

    public double Seconds { get; init; } = 20;

    public double WarmupSeconds { get; init; } = 2;

    public double PeakSeconds { get; init; } = 10;

    public short Acks { get; init; } = 1;

    public short ProduceVersion { get; init; } = 7;

    /// <summary>Latency: also print p99, max and send lag per second of the measured window.</summary>
    public bool Timeline { get; init; }

    public const string Usage = """
        usage: OrleansMQ.Broker.Benchmarks <peak|latency> [flags]
               OrleansMQ.Broker.Benchmarks groups <rebalance|commit|memory> [flags]   (groups --help)
               OrleansMQ.Broker.Benchmarks rest <peak|latency|healthz> [flags]          (rest --help)
          peak      closed loop: every connection keeps --in-flight Produce requests outstanding; prints msg/s
          latency   open loop: sends one batch every batch/rate seconds on a fixed schedule and measures
                    from the scheduled send time to the response (no coordinated omission); without
                    --rate it first runs 'peak' and then uses half of the peak rate
        flags (defaults):
          --bootstrap HOST:PORT    127.0.0.1:9092
          --topic NAME             a fresh topic per run
          --message-bytes N        100
          --batch K                100 records per RecordBatch / Produce request
          --connections C          1
          --in-flight N            16 (closed loop, per connection)
          --rate MSG_PER_S         0 = half of the measured peak
          --seconds S              20 (latency: measured seconds, after the warm-up)
          --warmup-seconds S       2
          --peak-seconds S         10 (peak: measured seconds, after the warm-up)
          --acks N                 1
          --produce-version V      7
          --timeline true|false    false (latency: print p99/max/send lag per second)
        """;

    public static BenchOptions Parse(ReadOnlySpan<string> args)
    {
        var options = new BenchOptions();
        for (int i = 0; i < args.Length; i += 2)
        {
            string name = args[i];
            if (i + 1 >= args.Length)
            {
                throw new ArgumentException($"{name} needs a value");
            }

            string value = args[i + 1];
            options = name switch
            {
                "--bootstrap" => options with { Bootstrap = ParseEndPoint(value) },
                "--topic" => options with { Topic = value },
                "--message-bytes" => options with { MessageBytes = Positive(name, value) },
                "--batch" => options with { Batch = Positive(name, value) },
                "--connections" => options with { Connections = Positive(name, value) },
                "--in-flight" => options with { InFlight = Positive(name, value) },
                "--rate" => options with { Rate = long.Parse(value, CultureInfo.InvariantCulture) },
                "--seconds" => options with { Seconds = double.Parse(value, CultureInfo.InvariantCulture) },
                "--warmup-seconds" => options with { WarmupSeconds = double.Parse(value, CultureInfo.InvariantCulture) },
                "--peak-seconds" => options with { PeakSeconds = double.Parse(value, CultureInfo.InvariantCulture) },
                "--acks" => options with { Acks = short.Parse(value, CultureInfo.InvariantCulture) },
                "--produce-version" => options with { ProduceVersion = short.Parse(value, CultureInfo.InvariantCulture) },
                "--timeline" => options with { Timeline = bool.Parse(value) },
                _ => throw new ArgumentException($"unknown flag {name}"),
            };
        }

        if (options.Acks == 0)
        {
            throw new ArgumentException("--acks 0 gets no responses, so nothing can be timed; use 1 or -1");
        }

        return options;
    }

    private static int Positive(string name, string value)
    {
        int n = int.Parse(value, CultureInfo.InvariantCulture);
        return n > 0 ? n : throw new ArgumentException($"{name} must be positive");
    }

    private static IPEndPoint ParseEndPoint(string value)
    {
        int colon = value.LastIndexOf(':');
        if (colon <= 0)
        {
            throw new ArgumentException("--bootstrap must be HOST:PORT");
        }

        string host = value[..colon];
        int port = int.Parse(value.AsSpan(colon + 1), CultureInfo.InvariantCulture);
        var address = IPAddress.TryParse(host, out var ip) ? ip : Dns.GetHostAddresses(host)[0];
        return new IPEndPoint(address, port);
    }
}
