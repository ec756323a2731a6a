using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;
using OrleansMQ.Protocol.Batches;
using OrleansMQ.Storage.Engine;
using OrleansMQ.Storage.Tiering;
using static OrleansMQ.Storage.Benchmarks.BenchEnvironment;

namespace OrleansMQ.Storage.Benchmarks.Scenarios;

/// <summary>
/// Tiered storage (issue 7) against the Azurite named by $OMQ_BENCH_AZURITE (a connection string;
/// infra/bench-tiering.sh starts one and sets it):
/// (1) upload of one segment's worth of bytes through <see cref="AzureBlobStore"/> (blocks with
/// MD5, 1 and 4 in flight, and the file-range call the offloader makes) against one plain Put Blob
/// of the same bytes to Azurite (the SDK's BlockBlobClient, no MD5, no retries) and a PUT to an
/// HTTP sink in this process (pure loopback HTTP); the case names are those of the hand-written
/// client's scenario, so infra/bench-tiering.sh BASELINE=… pairs the two builds' rows;
/// (2) a sequential read of an offloaded partition with <see cref="StorageEngine.ReadRemoteAsync"/>
/// in 1 MiB fetches, read-ahead 0 / 1 / 4 blocks, against the local read of the same data before
/// offload; (3) the first fetch of a segment not in the cache against a warm fetch of the same offset.
/// </summary>
internal static class TieringScenario
{
    private const int FetchBytes = 1 << 20;
    private const int RecordsPerBatch = 64;
    private static readonly int[] ReadAheadCases = [0, 1, 4];
    private static readonly ArrayBufferWriter<byte> SampleBuffer = new(2 * FetchBytes);

    public static async Task RunAsync(BenchEnvironment env)
    {
        string connection = Environment.GetEnvironmentVariable("OMQ_BENCH_AZURITE") is { Length: > 0 } c
            ? c
            : throw new ArgumentException("the tiering scenario needs an Azurite: set OMQ_BENCH_AZURITE to its connection string (infra/bench-tiering.sh starts one)");
        await UploadAsync(env, connection).ConfigureAwait(false);
        await ReadAsync(env, connection).ConfigureAwait(false);
    }

    // ---- (1) upload --------------------------------------------------------------------------

    private static async Task UploadAsync(BenchEnvironment env, string account)
    {
        int size = (int)(64 * MiB);
        int runs = env.Quick ? 2 : 5;
        var data = new byte[size];
        new Random(7).NextBytes(data); // incompressible, like compressed batches
        string dir = env.NewDir("tier-upload");
        string file = Path.Combine(dir, "segment.log");
        await File.WriteAllBytesAsync(file, data).ConfigureAwait(false);
        env.Note($"{size} B per upload (one 64 MiB segment's worth, random bytes), {runs} uploads per case, cases interleaved; the file-range case reads a file in the page cache");

        string container = "bench" + Guid.NewGuid().ToString("N")[..20];
        var noRetry = new BlobStoreOptions { MaxAttempts = 1, AttemptTimeout = TimeSpan.FromMinutes(5) };
        using var serial = AzureBlobStore.FromConnectionString(account, container, Clone(noRetry, o => o.MaxParallelBlocks = 1));
        using var parallel = AzureBlobStore.FromConnectionString(account, container, Clone(noRetry, _ => { }));
        using var single = AzureBlobStore.FromConnectionString(account, container, Clone(noRetry, o => o.SingleUploadMaxBytes = int.MaxValue));
        using var noMd5 = AzureBlobStore.FromConnectionString(account, container, Clone(noRetry, o => o.Checksum = false));
        var raw = new RawPut(account, container);
        await using var sink = new HttpSink();
        await parallel.EnsureContainerAsync().ConfigureAwait(false);

        var cases = new (string Name, Func<string, Task> Upload)[]
        {
            ("AzureBlobStore, 8 MiB blocks + MD5, 1 in flight", name => serial.UploadAsync(name, data)),
            ("AzureBlobStore, 8 MiB blocks + MD5, 4 in flight (default)", name => parallel.UploadAsync(name, data)),
            ("AzureBlobStore.UploadFileAsync, default (the offloader's call)", name => parallel.UploadFileAsync(name, file, 0, size)),
            ("AzureBlobStore, one Put Blob + MD5 (single-upload limit raised)", name => single.UploadAsync(name, data)),
            ("AzureBlobStore, 8 MiB blocks, no MD5, 4 in flight", name => noMd5.UploadAsync(name, data)),
            ("plain PUT to Azurite, one request, Shared Key, no MD5 (baseline)", name => raw.PutAsync(name, data)),
            ("plain PUT to an HTTP sink in this process (loopback baseline)", _ => sink.PutAsync(data)),
        };

        // Warm-up: connections opened, JIT done, Azurite's first extent created.
        foreach (var (_, upload) in cases)
        {
            await upload("warmup").ConfigureAwait(false);
        }

        var seconds = cases.ToDictionary(c => c.Name, _ => new List<double>());
        for (int run = 0; run < runs; run++)
        {
            // Rotated every round so the drift of a shared machine hits every case alike.
            var order = cases.Skip((run + env.Run - 1) % cases.Length).Concat(cases.Take((run + env.Run - 1) % cases.Length));
            foreach (var (name, upload) in order)
            {
                string blob = string.Create(CultureInfo.InvariantCulture, $"up/{run}-{seconds[name].Count}-{name.Length}");
                long t0 = Stopwatch.GetTimestamp();
                await upload(blob).ConfigureAwait(false);
                seconds[name].Add(Stopwatch.GetElapsedTime(t0).TotalSeconds);
                await parallel.DeleteAsync(blob).ConfigureAwait(false); // keeps Azurite's folder small
            }
        }

        // MD5 alone: what the client adds per byte before anything is sent.
        var md5 = new List<double>();
        for (int run = 0; run < runs; run++)
        {
            long t0 = Stopwatch.GetTimestamp();
#pragma warning disable CA5351 // the service's Content-MD5 integrity check, not security: the cost the client pays
            _ = MD5.HashData(data);
#pragma warning restore CA5351
            md5.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds);
        }

        double baseline = Median(seconds[cases[^2].Name].Select(s => size / (double)MiB / s));
        foreach (var (name, _) in cases)
        {
            var rates = seconds[name].Select(s => size / (double)MiB / s).ToList();
            env.Row(name, "throughput, median", Median(rates), "MiB/s", $"runs {string.Join(" / ", rates.Select(r => F(r, "F0")))}; {F(100 * Median(rates) / baseline, "F0")}% of the plain PUT to Azurite");
        }

        env.Row("MD5 of the same bytes in memory (no I/O)", "throughput, median", Median(md5.Select(s => size / (double)MiB / s)), "MiB/s", "one core");
        DeleteDir(dir);
    }

    private static BlobStoreOptions Clone(BlobStoreOptions o, Action<BlobStoreOptions> change)
    {
        var copy = new BlobStoreOptions { MaxAttempts = o.MaxAttempts, AttemptTimeout = o.AttemptTimeout };
        change(copy);
        return copy;
    }

    /// <summary>One Put Blob through the SDK's BlockBlobClient (never split), without Content-MD5 and without retries: the single-request baseline.</summary>
    private sealed class RawPut(string account, string container)
    {
        private readonly BlobContainerClient _container = new(account, container, NoRetries());

        public async Task PutAsync(string name, byte[] data)
        {
            using var body = new MemoryStream(data, writable: false);
            await _container.GetBlockBlobClient(name).UploadAsync(body).ConfigureAwait(false);
        }

        private static BlobClientOptions NoRetries()
        {
            var options = new BlobClientOptions(AzureBlobStore.ApiVersion);
            options.Retry.MaxRetries = 0;
            options.Retry.NetworkTimeout = TimeSpan.FromMinutes(5);
            return options;
        }
    }

    /// <summary>
    /// A minimal HTTP/1.1 server on 127.0.0.1 that reads each request's body and answers 201: the
    /// cost of moving the bytes over loopback HTTP with HttpClient, without any storage behind it.
    /// </summary>
    private sealed class HttpSink : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly HttpClient _http = new(new SocketsHttpHandler { UseCookies = false }) { Timeout = TimeSpan.FromMinutes(5) };
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _accept;

        public HttpSink()
        {
            _listener.Start();
            _accept = AcceptAsync();
        }

        private int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public async Task PutAsync(ReadOnlyMemory<byte> data)
        {
            using var content = new ReadOnlyMemoryContent(data);
            content.Headers.ContentLength = data.Length;
            using var response = await _http.PutAsync(new Uri($"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}/sink"), content).ConfigureAwait(false);
            response.EnsureSuccessStatusCode();
        }

        private async Task AcceptAsync()
        {
            var connections = new List<Task>();
            try
            {
                while (true)
                {
                    var socket = await _listener.AcceptSocketAsync(_stop.Token).ConfigureAwait(false);
                    connections.Add(ServeAsync(socket));
                }
            }
            catch (OperationCanceledException)
            {
            }

            await Task.WhenAll(connections).ConfigureAwait(false);
        }

        private async Task ServeAsync(Socket socket)
        {
            using var _ = socket;
            var buffer = new byte[256 * 1024];
            int filled = 0;
            try
            {
                while (true)
                {
                    // Headers: read until the blank line, then drain Content-Length bytes of body.
                    int end;
                    while ((end = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0)
                    {
                        int n = await socket.ReceiveAsync(buffer.AsMemory(filled), _stop.Token).ConfigureAwait(false);
                        if (n == 0)
                        {
                            return;
                        }

                        filled += n;
                    }

                    string head = Encoding.ASCII.GetString(buffer, 0, end);
                    long length = 0;
                    foreach (var line in head.Split("\r\n"))
                    {
                        if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                        {
                            length = long.Parse(line.AsSpan(15).Trim(), CultureInfo.InvariantCulture);
                        }
                    }

                    long remaining = length - (filled - (end + 4));
                    while (remaining > 0)
                    {
                        int n = await socket.ReceiveAsync(buffer, _stop.Token).ConfigureAwait(false);
                        if (n == 0)
                        {
                            return;
                        }

                        remaining -= n;
                    }

                    filled = 0; // one request at a time per connection (HttpClient does not pipeline)
                    await socket.SendAsync("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"u8.ToArray(), _stop.Token).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException)
            {
            }
        }

        public async ValueTask DisposeAsync()
        {
            _http.Dispose();
            await _stop.CancelAsync().ConfigureAwait(false);
            _listener.Stop();
            await _accept.ConfigureAwait(false);
            _stop.Dispose();
        }
    }

    // ---- (2) sequential read and (3) cold first fetch ------------------------------------------

    private static async Task ReadAsync(BenchEnvironment env, string connection)
    {
        long segmentSize = env.Quick ? 32 * MiB : 64 * MiB;
        int segments = env.Quick ? 3 : 5;
        int samples = env.Quick ? 15 : 40;
        byte[] batch = BuildBatch(RecordsPerBatch, 1024);
        string dir = env.NewDir("tier-read");
        string container = "bench" + Guid.NewGuid().ToString("N")[..20];
        env.Note($"{segments} segments of {segmentSize} B offloaded, batches of {batch.Length} B (64 x 1 KiB values), fetches of {FetchBytes} B, ReadBlockSize 1 MiB, CacheBytes 64 MiB; {samples} cold/warm samples");
        try
        {
            // Phase 1: write with a long local retention (nothing leaves), read it locally.
            long lastOffset;
            var sampleOffsets = new List<long>();
            FetchRun localSpans, localCopy;
            var localSample = new List<double>();
            using (var engine = StorageEngine.Open(Options(dir, connection, container, segmentSize, TimeSpan.FromHours(1), readAhead: 1)))
            {
                var p = engine.GetOrCreatePartition("tier", 0);
                // Stop right after the roll into segment N+1: every batch but the last is in a sealed segment.
                while (engine.CommitLog.CommittedPosition < segments * segmentSize)
                {
                    await engine.AppendAsync(p, batch).ConfigureAwait(false);
                }

                while (p.HighWatermark < p.LogEndOffset)
                {
                    await Task.Delay(10).ConfigureAwait(false);
                }

                engine.Flush();
                lastOffset = p.HighWatermark - 1;
                var rnd = new Random(11);
                for (int i = 0; i < samples; i++)
                {
                    sampleOffsets.Add(rnd.NextInt64(0, lastOffset - 128));
                }

                localSpans = await SequentialAsync(engine, p, lastOffset, FetchMode.LocalSpans).ConfigureAwait(false);
                localCopy = await SequentialAsync(engine, p, lastOffset, FetchMode.LocalCopy).ConfigureAwait(false);
                foreach (long offset in sampleOffsets)
                {
                    localSample.Add(await TimeFetchAsync(engine, p, offset, remote: false).ConfigureAwait(false));
                }
            }

            // Phase 2: the same folder with LocalRetention 0: everything sealed goes to Azurite.
            double offloadSec;
            long offloaded;
            using (var engine = StorageEngine.Open(Options(dir, connection, container, segmentSize, TimeSpan.Zero, readAhead: 1)))
            {
                long t0 = Stopwatch.GetTimestamp();
                engine.Tier!.Wake();
                var deadline = DateTime.UtcNow.AddMinutes(10);
                while (!(engine.CommitLog.Segments.Count == 1 && engine.Tier.Segments.Count >= segments && engine.Tier.Segments[^1].EndPosition == engine.CommitLog.MinPosition))
                {
                    if (DateTime.UtcNow > deadline)
                    {
                        throw new TimeoutException($"offload did not finish in 10 minutes: {engine.Tier.Segments.Count} remote, {engine.CommitLog.Segments.Count} local, last error {engine.Tier.LastError}");
                    }

                    await Task.Delay(20).ConfigureAwait(false);
                }

                offloadSec = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                offloaded = engine.Tier.Segments.Sum(s => s.DataLength);
            }

            // Phase 3: a fresh engine (so a cold cache) per read-ahead setting.
            var remote = new List<(int ReadAhead, FetchRun Run, long Hits, long Misses)>();
            foreach (int readAhead in env.Rotate(ReadAheadCases))
            {
                using var engine = StorageEngine.Open(Options(dir, connection, container, segmentSize, TimeSpan.Zero, readAhead));
                var p = engine.GetOrCreatePartition("tier", 0);
                await WaitLoadedAsync(engine).ConfigureAwait(false);
                var run = await SequentialAsync(engine, p, lastOffset, FetchMode.Remote).ConfigureAwait(false);
                remote.Add((readAhead, run, engine.Tier!.Cache.Hits, engine.Tier.Cache.Misses));
            }

            // Phase 4: cold vs warm fetch of the same offsets (default read-ahead 1).
            var cold = new List<double>();
            var warm = new List<double>();
            var added = new List<double>();
            using (var engine = StorageEngine.Open(Options(dir, connection, container, segmentSize, TimeSpan.Zero, readAhead: 1)))
            {
                var p = engine.GetOrCreatePartition("tier", 0);
                await WaitLoadedAsync(engine).ConfigureAwait(false);
                // One fetch first, so the HTTP connection is open, as in a running broker.
                await TimeFetchAsync(engine, p, 0, remote: true).ConfigureAwait(false);
                foreach (long offset in sampleOffsets)
                {
                    // Let the previous sample's read-ahead finish, then forget every block: the next read is cold.
                    await Task.Delay(100).ConfigureAwait(false);
                    foreach (var s in engine.Tier!.Segments)
                    {
                        engine.Tier.Cache.Evict(s.StartPosition);
                    }

                    double c = await TimeFetchAsync(engine, p, offset, remote: true).ConfigureAwait(false);
                    double w = await TimeFetchAsync(engine, p, offset, remote: true).ConfigureAwait(false);
                    cold.Add(c);
                    warm.Add(w);
                    added.Add(c - w);
                }
            }

            // Output.
            env.Row("offload by the engine (UploadConcurrency 2, default blob options)", "throughput", offloaded / (double)MiB / offloadSec, "MiB/s", $"{F(offloaded / (double)MiB, "F0")} MiB in {F(offloadSec)} s, from reopening until the last local file was deleted (includes the first 100 ms check)");
            PrintRun(env, "local ReadSpans (zero-copy spans, baseline)", localSpans, localCopy);
            PrintRun(env, "local Read (copy into a buffer, baseline)", localCopy, localCopy);
            foreach (var (readAhead, run, hits, misses) in remote.OrderBy(r => r.ReadAhead))
            {
                PrintRun(env, $"remote ReadRemoteAsync, read-ahead {readAhead} block(s){(readAhead == 1 ? " (default)" : "")}", run, localCopy, $"; cache hits {hits:N0} / misses {misses:N0}");
            }

            env.Row("first fetch, cold cache (segment blocks evicted)", "latency p50", Percentile(cold, 50), "ms", $"p99 {F(Percentile(cold, 99), "F2")} ms, max {F(cold.Max(), "F2")} ms; {samples} random offsets, 1 MiB fetch");
            env.Row("same offset again, warm cache", "latency p50", Percentile(warm, 50), "ms", $"p99 {F(Percentile(warm, 99), "F2")} ms, max {F(warm.Max(), "F2")} ms");
            env.Row("added by a cold segment (cold - warm, per sample)", "latency p50", Percentile(added, 50), "ms", $"p99 {F(Percentile(added, 99), "F2")} ms, max {F(added.Max(), "F2")} ms");
            env.Row("same offsets, local Read before offload (baseline)", "latency p50", Percentile(localSample, 50), "ms", $"p99 {F(Percentile(localSample, 99), "F2")} ms, max {F(localSample.Max(), "F2")} ms");
        }
        finally
        {
            DeleteDir(dir);
        }
    }

    private static StorageOptions Options(string dir, string connection, string container, long segmentSize, TimeSpan localRetention, int readAhead) => new()
    {
        DataDirectory = dir,
        SegmentSize = segmentSize,
        RetentionTime = null,
        Tiering = new TieringOptions
        {
            ConnectionString = connection,
            Container = container,
            LocalRetention = localRetention,
            CheckInterval = TimeSpan.FromMilliseconds(100),
            ReadAheadBlocks = readAhead,
            BlobStore = new BlobStoreOptions { AttemptTimeout = TimeSpan.FromMinutes(2) },
        },
    };

    private static async Task WaitLoadedAsync(StorageEngine engine)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!engine.Tier!.IsLoaded)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the tier's manifests were not listed within 60 s: {engine.Tier.LastError}");
            }

            await Task.Delay(10).ConfigureAwait(false);
        }
    }

    private enum FetchMode
    {
        LocalSpans,
        LocalCopy,
        Remote,
    }

    private sealed record FetchRun(long Bytes, double Seconds, List<double> LatencyMs);

    /// <summary>Fetches from offset 0 through <paramref name="lastOffset"/> in <see cref="FetchBytes"/> steps, timing each fetch.</summary>
    private static async Task<FetchRun> SequentialAsync(StorageEngine engine, PartitionLog p, long lastOffset, FetchMode mode)
    {
        var spans = new List<LogSpan>();
        var buffer = new ArrayBufferWriter<byte>(2 * FetchBytes);
        var latency = new List<double>();
        long next = 0, bytes = 0;
        long start = Stopwatch.GetTimestamp();
        while (next <= lastOffset)
        {
            buffer.ResetWrittenCount();
            spans.Clear();
            long t0 = Stopwatch.GetTimestamp();
            var status = engine.ReadSpans(p, next, FetchBytes, spans);
            if (mode == FetchMode.Remote)
            {
                if (status != ReadStatus.Remote)
                {
                    // The first local batch: the remote part is read (the active segment stayed local).
                    foreach (var s in spans)
                    {
                        s.Release();
                    }

                    break;
                }

                var (_, remoteStatus) = await engine.ReadRemoteAsync(p, next, FetchBytes, buffer, CancellationToken.None).ConfigureAwait(false);
                if (remoteStatus != ReadStatus.Ok)
                {
                    throw new InvalidOperationException($"remote read at {next}: {remoteStatus}");
                }
            }
            else
            {
                if (status != ReadStatus.Ok || spans.Count == 0)
                {
                    throw new InvalidOperationException($"local read at {next}: {status}");
                }

                foreach (var s in spans)
                {
                    if (mode == FetchMode.LocalCopy)
                    {
                        buffer.Write(s.Bytes);
                    }
                    else
                    {
                        bytes += s.Length;
                    }

                    s.Release();
                }

                if (mode == FetchMode.LocalSpans)
                {
                    // Zero-copy: the bytes are not touched (sendfile would not); every batch holds RecordsPerBatch offsets.
                    latency.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                    next = spans[^1].BaseOffset + RecordsPerBatch;
                    continue;
                }
            }

            latency.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            bytes += buffer.WrittenCount;
            next = NextOffset(buffer.WrittenSpan);
        }

        return new FetchRun(bytes, Stopwatch.GetElapsedTime(start).TotalSeconds, latency);
    }

    /// <summary>One fetch of <see cref="FetchBytes"/> at <paramref name="offset"/>; returns its time in ms.</summary>
    private static async Task<double> TimeFetchAsync(StorageEngine engine, PartitionLog p, long offset, bool remote)
    {
        // One buffer for every sample: a fresh 2 MiB array per fetch would time the allocator too.
        var buffer = SampleBuffer;
        buffer.ResetWrittenCount();
        long t0 = Stopwatch.GetTimestamp();
        if (remote)
        {
            var (bytes, status) = await engine.ReadRemoteAsync(p, offset, FetchBytes, buffer, CancellationToken.None).ConfigureAwait(false);
            if (status != ReadStatus.Ok || bytes == 0)
            {
                throw new InvalidOperationException($"remote fetch at {offset}: {status}, {bytes} B");
            }
        }
        else
        {
            int bytes = engine.Read(p, offset, FetchBytes, buffer, out var status);
            if (status != ReadStatus.Ok || bytes == 0)
            {
                throw new InvalidOperationException($"local fetch at {offset}: {status}, {bytes} B");
            }
        }

        return Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
    }

    /// <summary>The offset after the last batch of a fetch answer.</summary>
    private static long NextOffset(ReadOnlySpan<byte> batches)
    {
        long next = -1;
        while (!batches.IsEmpty)
        {
            if (RecordBatch.TryValidate(batches, int.MaxValue, out var info) != BatchError.None)
            {
                throw new InvalidOperationException("a fetch returned a damaged batch");
            }

            next = info.LastOffset + 1;
            batches = batches[info.TotalLength..];
        }

        return next;
    }

    private static void PrintRun(BenchEnvironment env, string name, FetchRun run, FetchRun baseline, string extra = "")
    {
        double mbps = run.Bytes / (double)MiB / run.Seconds;
        double baseMbps = baseline.Bytes / (double)MiB / baseline.Seconds;
        env.Row(name, "throughput", mbps, "MiB/s", $"{F(run.Bytes / (double)MiB, "F0")} MiB in {run.LatencyMs.Count:N0} fetches; {F(100 * mbps / baseMbps, "F0")}% of the local copying read{extra}");
        env.Row(name, "per-fetch latency p50", Percentile(run.LatencyMs, 50), "ms", $"p99 {F(Percentile(run.LatencyMs, 99), "F2")} ms, max {F(run.LatencyMs.Max(), "F2")} ms");
    }

    private static double Median(IEnumerable<double> values) => Percentile(values.ToList(), 50);

    /// <summary>Nearest-rank percentile.</summary>
    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.OrderBy(v => v).ToList();
        int rank = (int)Math.Ceiling(p / 100 * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }
}
