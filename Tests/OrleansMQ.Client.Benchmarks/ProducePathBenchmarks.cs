using System.Diagnostics.CodeAnalysis;
using BenchmarkDotNet.Attributes;
using OrleansMQ.Client.Producer;

namespace OrleansMQ.Client.Benchmarks;

/// <summary>
/// The producer's per-message path in steady state: <see cref="RecordsPerOp"/> records of 100 B
/// (no key, sticky partitioner, one shared delivery handler) per operation into a producer
/// connected to a real silo (a child process). <c>OperationsPerInvoke</c> makes every column per
/// message: MemoryDiagnoser's "Allocated" is bytes per message, process-wide (the calling thread
/// and the producer's I/O loop; the silo is another process).
/// </summary>
[SuppressMessage("Performance", "CA1515:Consider making public types internal", Justification = "BenchmarkDotNet needs public benchmark classes.")]
public class ProducePathBenchmarks
{
    public const int RecordsPerOp = 100_000;
    public const string Topic = "client-bench";

    private readonly byte[] _value = new byte[100];
    private SiloProcess _silo = null!;
    private KafkaProducer _producer = null!;

    [Params(Acks.Leader, Acks.All)]
    public Acks Acks { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _silo = SiloProcess.Start();
        _producer = CreateProducer(_silo.Bootstrap, Acks);
        ProduceMany(_producer, _value, RecordsPerOp); // metadata, connections, pools, JIT
        _producer.FlushAsync().GetAwaiter().GetResult();
    }

    internal static KafkaProducer CreateProducer(string bootstrap, Acks acks) => new(
        new ClientOptions { BootstrapServers = bootstrap, ClientId = "client-bench" },
        new ProducerOptions { Acks = acks, Linger = TimeSpan.FromMilliseconds(5), BatchSize = 256 * 1024 });

    [Benchmark(OperationsPerInvoke = RecordsPerOp, Description = "Produce 100 B (per message)")]
    public void Produce() => ProduceMany(_producer, _value, RecordsPerOp);

    internal static void ProduceMany(KafkaProducer producer, byte[] value, int count)
    {
        for (int i = 0; i < count; i++)
        {
            producer.Produce(Topic, value, null, CountingHandler.Instance);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _producer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _silo.Dispose();
    }
}

/// <summary>One handler for every record (no per-record allocation): counts deliveries and failures.</summary>
internal sealed class CountingHandler : IDeliveryHandler
{
    public static readonly CountingHandler Instance = new();
    private long _delivered;
    private long _failed;

    public long Delivered => Interlocked.Read(ref _delivered);

    public long Failed => Interlocked.Read(ref _failed);

    public void OnDelivery(in DeliveryReport report)
    {
        if (report.IsSuccess)
        {
            Interlocked.Increment(ref _delivered);
        }
        else
        {
            Interlocked.Increment(ref _failed);
        }
    }
}
