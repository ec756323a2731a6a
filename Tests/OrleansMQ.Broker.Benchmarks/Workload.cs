using System.Globalization;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Protocol.Batches;

namespace OrleansMQ.Broker.Benchmarks;

/// <summary>
/// What every run sends: one topic with one partition, and one Produce request of
/// <see cref="BenchOptions.Batch"/> records of <see cref="BenchOptions.MessageBytes"/> random
/// bytes (no key), encoded once and re-sent with new correlation ids.
/// </summary>
internal sealed class Workload
{
    private Workload(BenchOptions options, string topic, ProduceRequest request)
    {
        Options = options;
        Topic = topic;
        Request = request;
    }

    public BenchOptions Options { get; }

    public string Topic { get; }

    public ProduceRequest Request { get; }

    public static Workload Create(BenchOptions options)
    {
        string topic = options.Topic.Length > 0
            ? options.Topic
            : "bench-" + Environment.TickCount64.ToString("x", CultureInfo.InvariantCulture);
        CreateTopic(options, topic);

        var random = new Random(42);
        var value = new byte[options.MessageBytes];
        var builder = new RecordBatchBuilder();
        long timestamp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        for (int i = 0; i < options.Batch; i++)
        {
            random.NextBytes(value);
            builder.Add(value, timestamp);
        }

        var request = new ProduceRequest
        {
            Acks = options.Acks,
            TimeoutMs = 30_000,
            Topics = [new ProduceRequest.Topic { Name = topic, Partitions = [new ProduceRequest.Partition { Index = 0, Records = builder.Build() }] }],
        };
        return new Workload(options, topic, request);
    }

    public ProduceConnection[] Connect()
    {
        var connections = new ProduceConnection[Options.Connections];
        for (int i = 0; i < connections.Length; i++)
        {
            connections[i] = ProduceConnection.Connect(Options.Bootstrap, Request, Options.ProduceVersion, Options.Batch);
        }

        return connections;
    }

    private static void CreateTopic(BenchOptions options, string topic)
    {
        var request = new CreateTopicsRequest
        {
            Topics = [new CreateTopicsRequest.Topic { Name = topic, NumPartitions = 1, ReplicationFactor = 1 }],
            TimeoutMs = 30_000,
        };
        var response = ProduceConnection.Exchange<CreateTopicsRequest, CreateTopicsResponse>(options.Bootstrap, request, 4);
        var error = response.Topics.Single().ErrorCode;
        if (error is not (ErrorCode.None or ErrorCode.TopicAlreadyExists))
        {
            throw new InvalidOperationException($"CreateTopics {topic}: {error}");
        }
    }
}
