using System.Diagnostics;
using System.Globalization;
using System.Text;
using OrleansMQ.Cli.Infrastructure;
using OrleansMQ.Client;
using OrleansMQ.Client.Producer;
using OrleansMQ.Protocol.Batches;

namespace OrleansMQ.Cli.Commands;

/// <summary>
/// <c>omq produce &lt;topic&gt;</c>: one message per line of a file or of stdin (like <c>kcat -P</c>),
/// through <see cref="KafkaProducer"/>'s allocation-free path; a summary on stderr.
/// </summary>
internal sealed class ProduceCommand : Command
{
    public override string Name => "produce";

    public override string Summary => "Produce messages to a topic, one per line of a file or of stdin.";

    public override string Arguments => "<topic> [options]";

    public override string Description => """
        Each line (without its '\n') is one message value; with -k SEP the text before the first SEP
        is the key (a line without SEP has no key). Lines are sent as read (bytes, not re-encoded).
        A summary (messages, bytes, time) goes to stderr once every message is acknowledged; the first
        delivery error stops the run with exit code 1.

        Examples:
          omq produce orders --file orders.txt -k : --acks all
          seq 1 1000 | omq produce numbers -p 0 -H source=seq --linger-ms 10
        """;

    public override IReadOnlyList<OptionSpec> Options { get; } = ProducerSpecs(
    [
        new("file", "f", "path", "Read messages from this file. Default: stdin."),
        new("key-separator", "k", "SEP", "Split each line into key SEP value at the first SEP."),
        new("header", "H", "key=value", "A header on every message; repeat for several.", Repeatable: true),
        new("partition", "p", "N", "Produce to this partition. Default: keyed by murmur2, else sticky."),
    ]);

    /// <summary>The producer tuning options shared with <c>omq bench</c>, after <paramref name="first"/>.</summary>
    public static IReadOnlyList<OptionSpec> ProducerSpecs(IReadOnlyList<OptionSpec> first, int defaultLingerMs = 5, int defaultBatchSize = 16384, string defaultAcks = "all") =>
    [
        .. first,
        new("acks", null, "0|1|all", $"Acknowledgements to wait for. Default: {defaultAcks}."),
        new("compression", null, "none|gzip|snappy|lz4|zstd", "Batch compression. Default: none."),
        new("linger-ms", null, "N", $"How long a batch waits for more messages. Default: {defaultLingerMs}."),
        new("batch-size", null, "bytes", $"Largest batch per partition. Default: {defaultBatchSize}."),
    ];

    /// <summary>Producer settings from <c>--acks --compression --linger-ms --batch-size</c>.</summary>
    public static ProducerOptions ProducerOptionsFrom(ParsedArguments args, int defaultLingerMs = 5, int defaultBatchSize = 16384, string defaultAcks = "all")
    {
        var acks = (args.Value("acks") ?? defaultAcks) switch
        {
            "0" => Acks.None,
            "1" => Acks.Leader,
            "all" or "-1" => Acks.All,
            var other => throw new UsageException($"--acks must be 0, 1 or all; got '{other}'"),
        };
        var compression = (args.Value("compression") ?? "none") switch
        {
            "none" => CompressionCodec.None,
            "gzip" => CompressionCodec.Gzip,
            "snappy" => CompressionCodec.Snappy,
            "lz4" => CompressionCodec.Lz4,
            "zstd" => CompressionCodec.Zstd,
            var other => throw new UsageException($"--compression must be none, gzip, snappy, lz4 or zstd; got '{other}'"),
        };
        int batchSize = args.Int("batch-size", min: 1024) ?? defaultBatchSize;
        var options = new ProducerOptions
        {
            Acks = acks,
            Compression = compression,
            Linger = TimeSpan.FromMilliseconds(args.Int("linger-ms", min: 0) ?? defaultLingerMs),
            BatchSize = batchSize,
            BufferMemory = Math.Max(32L << 20, 4L * batchSize),
        };
        return options;
    }

    public override async Task<int> RunAsync(CommandContext context)
    {
        string topic = context.Single("topic");
        var args = context.Arguments;
        int partition = args.Int("partition", min: 0) ?? -1;
        byte[]? separator = args.Value("key-separator") is { } sep
            ? (sep.Length > 0 ? Encoding.UTF8.GetBytes(sep) : throw new UsageException("--key-separator must not be empty"))
            : null;
        var headers = new List<KeyValuePair<string, byte[]?>>();
        foreach (var pair in args.Values("header"))
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new UsageException($"--header needs key=value; got '{pair}'");
            }

            headers.Add(new(pair[..eq], Encoding.UTF8.GetBytes(pair[(eq + 1)..])));
        }

        var options = ProducerOptionsFrom(args);
        string? file = args.Value("file");
        Stream input;
        try
        {
            input = file is null ? context.OpenInput() : new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        }
        catch (IOException ex)
        {
            throw new UsageException($"--file: {ex.Message}");
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new UsageException($"--file: {ex.Message}");
        }

        var handler = new Handler();
        var clock = Stopwatch.StartNew();
        long count = 0, bytes = 0;
        try
        {
            await using var producer = new KafkaProducer(context.ClientOptions, options);
            IReadOnlyList<KeyValuePair<string, byte[]?>>? hs = headers.Count > 0 ? headers : null;

            // Reading and Produce run on a worker thread: Produce may block (buffer memory, metadata).
            (count, bytes) = await Task.Factory.StartNew(
                () => ProduceLines(input, producer, topic, partition, separator, hs, handler, context.CancellationToken),
                context.CancellationToken,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default).ConfigureAwait(false);
            await producer.FlushAsync(context.CancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (file is not null)
            {
                await input.DisposeAsync().ConfigureAwait(false);
            }
        }

        if (handler.FirstError is { } error)
        {
            throw error;
        }

        double seconds = clock.Elapsed.TotalSeconds;
        await context.Error.WriteLineAsync(string.Create(
            CultureInfo.InvariantCulture,
            $"omq: produced {count} message(s), {bytes} bytes of keys and values, to '{topic}' in {seconds:F3} s ({(seconds > 0 ? count / seconds : 0):F0} msg/s)")).ConfigureAwait(false);
        return OmqCli.ExitOk;
    }

    /// <summary>Splits <paramref name="input"/> into lines and produces each; stops at the first delivery error.</summary>
    private static (long Count, long Bytes) ProduceLines(Stream input, KafkaProducer producer, string topic, int partition, byte[]? separator, IReadOnlyList<KeyValuePair<string, byte[]?>>? headers, Handler handler, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[1 << 16];
        int start = 0, end = 0;
        long count = 0, bytes = 0;
        bool eof = false;
        while (true)
        {
            int nl = buffer.AsSpan(start, end - start).IndexOf((byte)'\n');
            if (nl < 0)
            {
                if (eof)
                {
                    if (end > start)
                    {
                        bytes += Send(buffer.AsSpan(start, end - start));
                        count++;
                    }

                    return (count, bytes);
                }

                // Move the partial line to the front (grow for long lines) and read more.
                if (start > 0)
                {
                    Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                    end -= start;
                    start = 0;
                }

                if (end == buffer.Length)
                {
                    Array.Resize(ref buffer, buffer.Length * 2);
                }

                int read = input.Read(buffer, end, buffer.Length - end);
                if (read == 0)
                {
                    eof = true;
                }

                end += read;
                continue;
            }

            bytes += Send(buffer.AsSpan(start, nl));
            count++;
            start += nl + 1;
            if ((count & 1023) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (handler.FirstError is not null)
                {
                    return (count, bytes);
                }
            }
        }

        int Send(ReadOnlySpan<byte> line)
        {
            int at = separator is null ? -1 : line.IndexOf(separator);
            if (partition >= 0)
            {
                // The partition overload takes arrays (one copy per message).
                byte[]? key = at < 0 ? null : line[..at].ToArray();
                byte[] value = at < 0 ? line.ToArray() : line[(at + separator!.Length)..].ToArray();
                producer.Produce(topic, partition, key, value, headers, null, handler, null);
            }
            else if (at < 0)
            {
                producer.Produce(topic, line, headers, handler);
            }
            else
            {
                producer.Produce(topic, line[..at], line[(at + separator!.Length)..], headers, handler);
            }

            return line.Length - (at < 0 ? 0 : separator!.Length);
        }
    }

    /// <summary>Keeps the first delivery error.</summary>
    private sealed class Handler : IDeliveryHandler
    {
        private KafkaException? _firstError;

        public KafkaException? FirstError => Volatile.Read(ref _firstError);

        public void OnDelivery(in DeliveryReport report)
        {
            if (report.Error is { } error)
            {
                Interlocked.CompareExchange(ref _firstError, error, null);
            }
        }
    }
}
