using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace OrleansMQ.Broker.Benchmarks;

/// <summary>
/// The HTTP gateway's REST produce under load (docs/benchmarks.md, "HTTP gateway (issue 6)"):
/// <c>peak</c> is a closed loop of N connections each posting batches of records as fast as the
/// answers come; <c>latency</c> is an open loop at a fixed rate (default half the peak measured
/// first), timed from each request's scheduled send so a stalled server is not hidden
/// (coordinated omission); <c>healthz</c> is the same closed loop on GET /healthz — the HTTP
/// stack's own ceiling on this machine, the baseline of the same run.
/// </summary>
internal static class RestBench
{
    public const string Usage = """
        rest peak|latency|healthz --url http://127.0.0.1:PORT [options]
          --topic NAME          topic (created with --partitions through REST v3 when missing; default rest-bench)
          --partitions N        default 8
          --connections N       concurrent requests / HTTP connections (default 16)
          --records N           records per request (default 500)
          --bytes N             value bytes per record (default 100)
          --format binary|json  REST Proxy v2 embedded format (default binary: base64 values)
          --seconds S           measured seconds (default 10)
          --warmup S            warm-up seconds before measuring (default 2)
          --rate N              latency: records/s (default: half the peak measured first)
        Prints human lines and one RESULT line per run.
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            Console.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        Settings s;
        try
        {
            s = Settings.Parse(args.AsSpan(1));
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or OverflowException)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }

        using var http = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = s.Connections,
            UseProxy = false,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        })
        { BaseAddress = s.Url, Timeout = TimeSpan.FromSeconds(30) };

        try
        {
            return await RunAsync(args[0], http, s).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            Console.Error.WriteLine($"rest {args[0]}: {s.Url} cannot be reached: {ex.Message}");
            return 1;
        }
    }

    private static async Task<int> RunAsync(string command, HttpClient http, Settings s)
    {
        switch (command)
        {
            case "healthz":
                {
                    var r = await ClosedLoopAsync(http, s, () => new HttpRequestMessage(HttpMethod.Get, "/healthz"), recordsPerRequest: 0).ConfigureAwait(false);
                    Print("healthz", s, r);
                    return r.Errors == 0 ? 0 : 1;
                }

            case "peak":
                {
                    await EnsureTopicAsync(http, s).ConfigureAwait(false);
                    var r = await ClosedLoopAsync(http, s, ProduceRequest(s), s.Records).ConfigureAwait(false);
                    Print("peak", s, r);
                    return r.Errors == 0 ? 0 : 1;
                }

            case "latency":
                {
                    await EnsureTopicAsync(http, s).ConfigureAwait(false);
                    double rate = s.Rate;
                    if (rate <= 0)
                    {
                        var peak = await ClosedLoopAsync(http, s, ProduceRequest(s), s.Records).ConfigureAwait(false);
                        Print("peak", s, peak);
                        rate = peak.RecordsPerSecond / 2;
                    }

                    var r = await OpenLoopAsync(http, s, ProduceRequest(s), rate).ConfigureAwait(false);
                    Print("latency", s, r);
                    return r.Errors == 0 ? 0 : 1;
                }

            default:
                Console.Error.WriteLine($"unknown rest command {command}");
                Console.Error.WriteLine(Usage);
                return 2;
        }
    }

    private sealed record Settings(Uri Url, string Topic, int Partitions, int Connections, int Records, int Bytes, bool Binary, double Seconds, double Warmup, double Rate)
    {
        public static Settings Parse(ReadOnlySpan<string> args)
        {
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            for (int i = 0; i < args.Length; i += 2)
            {
                if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
                {
                    throw new ArgumentException($"expected --option value at '{args[i]}'");
                }

                values[args[i][2..]] = args[i + 1];
            }

            string Get(string name, string fallback)
            {
                if (values.Remove(name, out var v))
                {
                    return v;
                }

                return fallback;
            }

            var c = CultureInfo.InvariantCulture;
            var url = new Uri(Get("url", "") is { Length: > 0 } u ? u : throw new ArgumentException("--url is required"));
            var s = new Settings(
                url,
                Get("topic", "rest-bench"),
                int.Parse(Get("partitions", "8"), c),
                int.Parse(Get("connections", "16"), c),
                int.Parse(Get("records", "500"), c),
                int.Parse(Get("bytes", "100"), c),
                Get("format", "binary") switch { "binary" => true, "json" => false, var f => throw new ArgumentException($"--format binary|json, not {f}") },
                double.Parse(Get("seconds", "10"), c),
                double.Parse(Get("warmup", "2"), c),
                double.Parse(Get("rate", "0"), c));
            if (values.Count > 0)
            {
                throw new ArgumentException("unknown option --" + values.Keys.First());
            }

            return s;
        }
    }

    private sealed record RunResult(double Seconds, long Requests, long Records, long BodyBytes, long Errors, string? LastError, double[] LatenciesMs, double TargetRate, double SendLagMaxMs)
    {
        public double RecordsPerSecond => Records / Seconds;

        public double Percentile(double q)
        {
            if (LatenciesMs.Length == 0)
            {
                return 0;
            }

            return LatenciesMs[Math.Min(LatenciesMs.Length - 1, (int)Math.Ceiling(q * LatenciesMs.Length) - 1)];
        }
    }

    private static async Task EnsureTopicAsync(HttpClient http, Settings s)
    {
        using var clusters = await http.GetAsync(new Uri("/v3/clusters", UriKind.Relative)).ConfigureAwait(false);
        string text = await clusters.Content.ReadAsStringAsync().ConfigureAwait(false);
        clusters.EnsureSuccessStatusCode();
        string cluster = System.Text.Json.JsonDocument.Parse(text).RootElement.GetProperty("data")[0].GetProperty("cluster_id").GetString()!;
        using var content = new StringContent($$"""{"topic_name":"{{s.Topic}}","partitions_count":{{s.Partitions}}}""", Encoding.UTF8, "application/json");
        using var created = await http.PostAsync(new Uri($"/v3/clusters/{cluster}/topics", UriKind.Relative), content).ConfigureAwait(false);
        if (created.StatusCode is not (HttpStatusCode.Created or HttpStatusCode.BadRequest))
        {
            throw new InvalidOperationException($"creating {s.Topic}: {(int)created.StatusCode} {await created.Content.ReadAsStringAsync().ConfigureAwait(false)}");
        }
    }

    /// <summary>One body, built once and reused: the generator must not be the bottleneck.</summary>
    private static Func<HttpRequestMessage> ProduceRequest(Settings s)
    {
        var random = new Random(42);
        var sb = new StringBuilder("{\"records\":[");
        for (int i = 0; i < s.Records; i++)
        {
            byte[] value = new byte[s.Bytes];
            random.NextBytes(value);
            sb.Append(i == 0 ? "" : ",").Append("{\"value\":");
            if (s.Binary)
            {
                sb.Append('"').Append(Convert.ToBase64String(value)).Append('"');
            }
            else
            {
                // A JSON string of printable characters of the same length.
                sb.Append('"').Append(string.Create(s.Bytes, value, (span, v) =>
                {
                    for (int k = 0; k < span.Length; k++)
                    {
                        span[k] = (char)('a' + (v[k] % 26));
                    }
                })).Append('"');
            }

            sb.Append('}');
        }

        byte[] body = Encoding.UTF8.GetBytes(sb.Append("]}").ToString());
        var type = MediaTypeHeaderValue.Parse(s.Binary ? "application/vnd.kafka.binary.v2+json" : "application/vnd.kafka.json.v2+json");
        var uri = new Uri("/topics/" + s.Topic, UriKind.Relative);
        return () =>
        {
            var content = new ByteArrayContent(body);
            content.Headers.ContentType = type;
            return new HttpRequestMessage(HttpMethod.Post, uri) { Content = content };
        };
    }

    private static async Task<RunResult> ClosedLoopAsync(HttpClient http, Settings s, Func<HttpRequestMessage> request, int recordsPerRequest)
    {
        long requests = 0, errors = 0, bodyBytes = 0;
        string? lastError = null;
        var latencies = new List<double>[s.Connections];
        var start = Stopwatch.GetTimestamp();
        long measureFrom = start + (long)(s.Warmup * Stopwatch.Frequency);
        long end = measureFrom + (long)(s.Seconds * Stopwatch.Frequency);
        long measureTo = end;

        async Task WorkerAsync(int index)
        {
            var mine = latencies[index] = new List<double>();
            while (true)
            {
                long sent = Stopwatch.GetTimestamp();
                if (sent >= end)
                {
                    return;
                }

                var (ok, length, error) = await SendOneAsync(http, request).ConfigureAwait(false);
                if (!ok && sent >= measureFrom)
                {
                    lastError = error;
                }

                long done = Stopwatch.GetTimestamp();
                if (sent >= measureFrom && done <= measureTo)
                {
                    if (ok)
                    {
                        Interlocked.Increment(ref requests);
                        Interlocked.Add(ref bodyBytes, length);
                        mine.Add((done - sent) * 1000.0 / Stopwatch.Frequency);
                    }
                    else
                    {
                        Interlocked.Increment(ref errors);
                    }
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, s.Connections).Select(i => Task.Run(() => WorkerAsync(i)))).ConfigureAwait(false);
        var all = latencies.SelectMany(l => l).Order().ToArray();
        return new RunResult(s.Seconds, requests, requests * recordsPerRequest, bodyBytes, errors, lastError, all, 0, 0);
    }

    /// <summary>One request to its end (the answer read): success, request body bytes, and the error if any.</summary>
    private static async Task<(bool Ok, long BodyBytes, string? Error)> SendOneAsync(HttpClient http, Func<HttpRequestMessage> request)
    {
        try
        {
            using var message = request();
            long length = message.Content?.Headers.ContentLength ?? 0;
            using var response = await http.SendAsync(message).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return (false, length, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync().ConfigureAwait(false)}");
            }

            await response.Content.LoadIntoBufferAsync().ConfigureAwait(false);
            return (true, length, null);
        }
        catch (HttpRequestException ex)
        {
            return (false, 0, ex.Message);
        }
    }

    private static async Task<RunResult> OpenLoopAsync(HttpClient http, Settings s, Func<HttpRequestMessage> request, double recordsPerSecond)
    {
        double requestsPerSecond = recordsPerSecond / s.Records;
        long interval = (long)(Stopwatch.Frequency / requestsPerSecond);
        long start = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 10;
        long warmupEnd = start + (long)(s.Warmup * Stopwatch.Frequency);
        long end = warmupEnd + (long)(s.Seconds * Stopwatch.Frequency);
        long requests = 0, errors = 0, bodyBytes = 0;
        string? lastError = null;
        var latencies = new System.Collections.Concurrent.ConcurrentBag<double>();
        var inFlight = new List<Task>();
        double sendLagMax = 0;

        async Task OneAsync(long scheduled)
        {
            var (ok, length, error) = await SendOneAsync(http, request).ConfigureAwait(false);
            if (!ok && scheduled >= warmupEnd)
            {
                lastError = error;
            }

            if (scheduled < warmupEnd)
            {
                return;
            }

            if (ok)
            {
                Interlocked.Increment(ref requests);
                Interlocked.Add(ref bodyBytes, length);
                latencies.Add((Stopwatch.GetTimestamp() - scheduled) * 1000.0 / Stopwatch.Frequency);
            }
            else
            {
                Interlocked.Increment(ref errors);
            }
        }

        // The pacer sleeps with usleep (no spinning: on two cores a spinning generator would take
        // one from the silo) on its own thread, and only starts each request; completions run on
        // the pool.
        void Pace()
        {
            for (long next = start; next < end; next += interval)
            {
                long wait = next - Stopwatch.GetTimestamp();
                if (wait > 0)
                {
                    NativeSleep.Microseconds(wait * 1_000_000 / Stopwatch.Frequency);
                }

                if (next >= warmupEnd)
                {
                    sendLagMax = Math.Max(sendLagMax, (Stopwatch.GetTimestamp() - next) * 1000.0 / Stopwatch.Frequency);
                }

                inFlight.Add(OneAsync(next));
                if (inFlight.Count > 4096)
                {
                    inFlight.RemoveAll(t => t.IsCompleted);
                }
            }
        }

        await Task.Factory.StartNew(Pace, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        await Task.WhenAll(inFlight).ConfigureAwait(false);
        return new RunResult(s.Seconds, requests, requests * s.Records, bodyBytes, errors, lastError, latencies.Order().ToArray(), recordsPerSecond, sendLagMax);
    }

    private static void Print(string kind, Settings s, RunResult r)
    {
        var c = CultureInfo.InvariantCulture;
        string shape = kind == "healthz"
            ? $"GET /healthz, {s.Connections} connections"
            : $"POST /topics/{s.Topic} ({(s.Binary ? "binary" : "json")}.v2), {s.Records} records x {s.Bytes} B per request, {s.Connections} connections";
        Console.WriteLine(string.Create(c, $"{kind}: {shape}, {s.Seconds:0.#} s after {s.Warmup:0.#} s warm-up{(r.TargetRate > 0 ? $", open loop at {r.TargetRate:N0} records/s" : "")}"));
        Console.WriteLine(string.Create(c,
            $"  {r.Requests / r.Seconds:N0} requests/s, {r.RecordsPerSecond:N0} records/s, {r.BodyBytes / r.Seconds / 1e6:0.0} MB/s of request bodies, {r.Errors} errors{(r.LastError is null ? "" : " (last " + r.LastError + ")")}"));
        Console.WriteLine(string.Create(c,
            $"  latency{(r.TargetRate > 0 ? " from scheduled send" : "")}: p50 {r.Percentile(0.5):0.00} ms, p99 {r.Percentile(0.99):0.00} ms, p99.9 {r.Percentile(0.999):0.00} ms, max {r.Percentile(1):0.00} ms{(r.TargetRate > 0 ? $"; generator send lag max {r.SendLagMaxMs:0.00} ms" : "")}"));
        Console.WriteLine(string.Create(c,
            $"RESULT rest kind={kind} connections={s.Connections} records={s.Records} bytes={s.Bytes} rate={r.TargetRate:0} requests_per_s={r.Requests / r.Seconds:0} records_per_s={r.RecordsPerSecond:0} mb_per_s={r.BodyBytes / r.Seconds / 1e6:0.0} errors={r.Errors} p50_ms={r.Percentile(0.5):0.00} p99_ms={r.Percentile(0.99):0.00} p999_ms={r.Percentile(0.999):0.00} max_ms={r.Percentile(1):0.00} send_lag_max_ms={r.SendLagMaxMs:0.00}"));
    }
}
