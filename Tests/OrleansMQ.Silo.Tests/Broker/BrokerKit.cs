using System.Buffers;
using System.Text;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Protocol.Batches;
using Xunit;

namespace OrleansMQ.Silo.Tests.Broker;

/// <summary>One real silo shared by the tests of a class (xunit runs them one at a time).</summary>
public sealed class SiloFixture : IAsyncLifetime
{
    public TestSilo Silo { get; private set; } = null!;

    public async Task InitializeAsync() => Silo = await TestSilo.StartAsync();

    public async Task DisposeAsync() => await Silo.DisposeAsync();
}

/// <summary>
/// Requests the protocol tests send over and over, each decoded with our codec; plus record
/// batches built the way a producer builds them.
/// </summary>
internal static class BrokerKit
{
    public static readonly TimeSpan Quickly = TimeSpan.FromSeconds(5);

    /// <summary>A topic name no other test uses.</summary>
    public static string NewTopic(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    /// <summary>
    /// A batch of <paramref name="records"/> records: keys (every third one null), values and two
    /// headers per record, timestamps <paramref name="firstTimestamp"/> + 10 ms per record.
    /// </summary>
    public static byte[] Batch(int records, long firstTimestamp, CompressionCodec codec = CompressionCodec.None, string tag = "r", int valueSize = 24)
    {
        var builder = new RecordBatchBuilder(codec);
        for (int i = 0; i < records; i++)
        {
            var headers = new List<KeyValuePair<string, byte[]>>
            {
                new("trace", Encoding.UTF8.GetBytes($"{tag}-{i}")),
                new("empty", []),
            };
            byte[] value = Encoding.UTF8.GetBytes($"value-{tag}-{i}-".PadRight(valueSize, 'v'));
            long timestamp = firstTimestamp + (10 * i);
            if (i % 3 == 2)
            {
                builder.Add(value, timestamp, headers);
            }
            else
            {
                builder.Add(Encoding.UTF8.GetBytes($"key-{tag}-{i}"), value, timestamp, headers);
            }
        }

        return builder.Build();
    }

    /// <summary>An idempotent producer's batch.</summary>
    public static byte[] IdempotentBatch(long producerId, short epoch, int baseSequence, int records = 1, string tag = "idem")
    {
        var builder = new RecordBatchBuilder { ProducerId = producerId, ProducerEpoch = epoch, BaseSequence = baseSequence };
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        for (int i = 0; i < records; i++)
        {
            builder.Add(Encoding.UTF8.GetBytes($"{tag}-{baseSequence + i}"), Encoding.UTF8.GetBytes($"value-{tag}-{baseSequence + i}"), now);
        }

        return builder.Build();
    }

    public static long Now => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    public static async Task<CreateTopicsResponse.Topic> CreateTopicAsync(
        KafkaTestClient client, string name, int partitions = 1, IEnumerable<(string Name, string Value)>? configs = null, short version = 5, short replicationFactor = 1, bool validateOnly = false)
    {
        var request = new CreateTopicsRequest
        {
            TimeoutMs = 30_000,
            ValidateOnly = validateOnly,
            Topics =
            [
                new CreateTopicsRequest.Topic
                {
                    Name = name,
                    NumPartitions = partitions,
                    ReplicationFactor = replicationFactor,
                    Configs = (configs ?? []).Select(c => new CreateTopicsRequest.Config { Name = c.Name, Value = c.Value }).ToList(),
                },
            ],
        };
        var response = await client.SendAsync<CreateTopicsRequest, CreateTopicsResponse>(request, version);
        var topic = Assert.Single(response.Topics);
        Assert.Equal(name, topic.Name);
        return topic;
    }

    /// <summary>Creates the topic and asserts it worked.</summary>
    public static async Task CreateTopicOkAsync(KafkaTestClient client, string name, int partitions = 1, params (string Name, string Value)[] configs)
    {
        var topic = await CreateTopicAsync(client, name, partitions, configs);
        Assert.True(topic.ErrorCode == ErrorCode.None, $"CreateTopics {name}: {topic.ErrorCode} {topic.ErrorMessage}");
    }

    public static ProduceRequest ProduceRequestFor(string topic, int partition, byte[] records, short acks = -1) => new()
    {
        Acks = acks,
        TimeoutMs = 30_000,
        Topics = [new ProduceRequest.Topic { Name = topic, Partitions = [new ProduceRequest.Partition { Index = partition, Records = records }] }],
    };

    public static async Task<ProduceResponse.Partition> ProduceAsync(KafkaTestClient client, string topic, int partition, byte[] records, short version = 9)
    {
        var response = await client.SendAsync<ProduceRequest, ProduceResponse>(ProduceRequestFor(topic, partition, records), version);
        var t = Assert.Single(response.Topics);
        Assert.Equal(topic, t.Name);
        var p = Assert.Single(t.Partitions);
        Assert.Equal(partition, p.Index);
        return p;
    }

    /// <summary>Produces and asserts success; returns the base offset.</summary>
    public static async Task<long> ProduceOkAsync(KafkaTestClient client, string topic, int partition, byte[] records, short version = 9)
    {
        var p = await ProduceAsync(client, topic, partition, records, version);
        Assert.True(p.ErrorCode == ErrorCode.None, $"Produce to {topic}-{partition}: {p.ErrorCode} {p.ErrorMessage}");
        return p.BaseOffset;
    }

    public static FetchRequest FetchRequestFor(string topic, int partition, long offset, int maxWaitMs = 0, int minBytes = 0, int maxBytes = 50 << 20, int partitionMaxBytes = 1 << 20) => new()
    {
        MaxWaitMs = maxWaitMs,
        MinBytes = minBytes,
        MaxBytes = maxBytes,
        Topics = [new FetchRequest.Topic { Name = topic, Partitions = [new FetchRequest.Partition { PartitionIndex = partition, FetchOffset = offset, PartitionMaxBytes = partitionMaxBytes }] }],
    };

    public static async Task<FetchResponse.Partition> FetchAsync(
        KafkaTestClient client, string topic, int partition, long offset, short version = 12, int maxWaitMs = 0, int minBytes = 0, int partitionMaxBytes = 1 << 20)
    {
        var response = await client.SendAsync<FetchRequest, FetchResponse>(FetchRequestFor(topic, partition, offset, maxWaitMs, minBytes, partitionMaxBytes: partitionMaxBytes), version);
        Assert.Equal(ErrorCode.None, response.ErrorCode);
        var t = Assert.Single(response.Topics);
        Assert.Equal(topic, t.Name);
        var p = Assert.Single(t.Partitions);
        Assert.Equal(partition, p.PartitionIndex);
        return p;
    }

    /// <summary>
    /// What a consumer does: fetches (long-polling) from <paramref name="offset"/> until
    /// <paramref name="batchCount"/> whole batches have come back.
    /// </summary>
    public static async Task<List<byte[]>> ConsumeBatchesAsync(KafkaTestClient client, string topic, int partition, long offset, int batchCount, short version = 12)
    {
        var batches = new List<byte[]>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (batches.Count < batchCount)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{topic}-{partition}: only {batches.Count} of {batchCount} batches came back");
            var p = await FetchAsync(client, topic, partition, offset, version, maxWaitMs: 1000, minBytes: 1);
            Assert.Equal(ErrorCode.None, p.ErrorCode);
            foreach (var batch in SplitBatches(p.Records))
            {
                Assert.Equal(BatchError.None, RecordBatch.TryReadInfo(batch, out var info));
                batches.Add(batch);
                offset = info.LastOffset + 1;
            }
        }

        return batches;
    }

    public static async Task<ListOffsetsResponse.Partition> ListOffsetAsync(KafkaTestClient client, string topic, int partition, long timestamp, short version = 6)
    {
        var request = new ListOffsetsRequest
        {
            Topics = [new ListOffsetsRequest.Topic { Name = topic, Partitions = [new ListOffsetsRequest.Partition { PartitionIndex = partition, Timestamp = timestamp }] }],
        };
        var response = await client.SendAsync<ListOffsetsRequest, ListOffsetsResponse>(request, version);
        var t = Assert.Single(response.Topics);
        Assert.Equal(topic, t.Name);
        var p = Assert.Single(t.Partitions);
        Assert.Equal(partition, p.PartitionIndex);
        return p;
    }

    /// <summary>ListOffsets latest (-1): the high watermark.</summary>
    public static async Task<long> LatestOffsetAsync(KafkaTestClient client, string topic, int partition = 0)
    {
        var p = await ListOffsetAsync(client, topic, partition, ListOffsetsRequest.LatestTimestamp);
        Assert.Equal(ErrorCode.None, p.ErrorCode);
        return p.Offset;
    }

    /// <summary>ListOffsets earliest (-2): the log start offset.</summary>
    public static async Task<long> EarliestOffsetAsync(KafkaTestClient client, string topic, int partition = 0)
    {
        var p = await ListOffsetAsync(client, topic, partition, ListOffsetsRequest.EarliestTimestamp);
        Assert.Equal(ErrorCode.None, p.ErrorCode);
        return p.Offset;
    }

    public static Task<MetadataResponse> MetadataAsync(KafkaTestClient client, List<string>? topics, short version = 9, bool allowAutoCreate = true) =>
        client.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = topics, AllowAutoTopicCreation = allowAutoCreate }, version);

    /// <summary>Metadata of one topic without auto-creating it.</summary>
    public static async Task<MetadataResponse.Topic> DescribeTopicAsync(KafkaTestClient client, string topic)
    {
        var response = await MetadataAsync(client, [topic], allowAutoCreate: false);
        var t = Assert.Single(response.Topics);
        Assert.Equal(topic, t.Name);
        return t;
    }

    /// <summary>Names in a Metadata request for all topics.</summary>
    public static async Task<List<string>> AllTopicNamesAsync(KafkaTestClient client)
    {
        var response = await MetadataAsync(client, null);
        return response.Topics.Select(t => t.Name).ToList();
    }

    /// <summary>The whole batches in a fetch's records (a trailing partial batch is dropped, as clients do).</summary>
    public static List<byte[]> SplitBatches(ReadOnlyMemory<byte>? records)
    {
        var batches = new List<byte[]>();
        var rest = records ?? ReadOnlyMemory<byte>.Empty;
        while (rest.Length >= RecordBatch.HeaderSize)
        {
            long total = RecordBatch.ReadTotalLength(rest.Span);
            if (total > rest.Length)
            {
                break;
            }

            batches.Add(rest[..(int)total].ToArray());
            rest = rest[(int)total..];
        }

        return batches;
    }

    /// <summary>
    /// The batch as the broker stores it: <paramref name="baseOffset"/> and the partition leader
    /// epoch it was appended under (a single silo's partitions are at epoch 0) stamped.
    /// </summary>
    public static byte[] Stamped(byte[] batch, long baseOffset, int leaderEpoch = 0)
    {
        var copy = batch.ToArray();
        RecordBatch.StampBaseOffset(copy, baseOffset);
        RecordBatch.StampPartitionLeaderEpoch(copy, leaderEpoch);
        return copy;
    }

    /// <summary>Records in a batch.</summary>
    public static int RecordCount(byte[] batch)
    {
        Assert.Equal(BatchError.None, RecordBatch.TryReadInfo(batch, out var info));
        return info.RecordCount;
    }

    /// <summary>The records of one batch (decompressed): key, value, timestamp and the "trace" header's value.</summary>
    public static List<(string? Key, string Value, long Timestamp, string? Trace)> ReadRecords(byte[] batch)
    {
        Assert.Equal(BatchError.None, RecordBatch.TryReadInfo(batch, out var info));
        var records = new List<(string? Key, string Value, long Timestamp, string? Trace)>();
        using (var section = RecordBatchRecords.GetRecords(batch, info))
        {
            var reader = new RecordReader(section.Span, info.RecordCount);
            while (reader.TryReadNext(out var record))
            {
                string? trace = null;
                var headers = record.GetHeaders();
                while (headers.TryReadNext(out var header))
                {
                    if (header.Key.SequenceEqual("trace"u8))
                    {
                        trace = Encoding.UTF8.GetString(header.Value);
                    }
                }

                long timestamp = info.IsLogAppendTime ? info.MaxTimestamp : info.FirstTimestamp + record.TimestampDelta;
                records.Add((record.KeyIsNull ? null : Encoding.UTF8.GetString(record.Key), Encoding.UTF8.GetString(record.Value), timestamp, trace));
            }

            Assert.Equal(info.RecordCount, reader.RecordsRead);
        }

        return records;
    }

    /// <summary>A request frame body with a hand-written header: for APIs and versions our codec refuses to write.</summary>
    public static byte[] RawRequest(short apiKey, short apiVersion, int correlationId, bool flexibleHeader, ReadOnlySpan<byte> body)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new KafkaWriter(buffer);
        writer.WriteInt16(apiKey);
        writer.WriteInt16(apiVersion);
        writer.WriteInt32(correlationId);
        writer.WriteNullableString("omq-tests");
        if (flexibleHeader)
        {
            writer.WriteEmptyTaggedFields();
        }

        writer.WriteRaw(body);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Polls until <paramref name="condition"/> holds.</summary>
    public static async Task EventuallyAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException($"timed out waiting until {what}");
            }

            await Task.Delay(10);
        }
    }
}
