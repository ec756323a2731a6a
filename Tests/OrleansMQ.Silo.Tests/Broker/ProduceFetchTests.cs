using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Protocol.Batches;
using Xunit;

namespace OrleansMQ.Silo.Tests.Broker;

/// <summary>Produce v0–v9 and Fetch v2–v12 (RecordBatch data only): what goes in comes back, and what is refused leaves no trace.</summary>
public sealed class ProduceFetchTests(SiloFixture fixture) : IClassFixture<SiloFixture>
{
    /// <summary>Every Produce and every Fetch version, each pair as a client of that era would send.</summary>
    public static readonly TheoryData<short, short> VersionPairs = new()
    {
        { 0, 2 }, { 1, 2 }, { 2, 2 }, { 2, 3 }, { 3, 3 }, { 3, 4 }, { 4, 5 }, { 5, 6 }, { 6, 7 }, { 7, 8 }, { 8, 9 }, { 9, 10 }, { 9, 11 }, { 9, 12 },
    };

    public static readonly TheoryData<short> ProduceVersions = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

    /// <summary>Rounds of the read-your-writes checks: a lagging watermark is a race, so it is given many chances to show.</summary>
    private const int Rounds = 300;

    private TestSilo Silo => fixture.Silo;

    [Theory]
    [MemberData(nameof(VersionPairs))]
    public async Task Batches_come_back_byte_identical_with_consecutive_base_offsets(short produceVersion, short fetchVersion)
    {
        using var client = await Silo.ConnectAsync();
        string topic = BrokerKit.NewTopic($"pf-{produceVersion}-{fetchVersion}");
        await BrokerKit.CreateTopicOkAsync(client, topic, 1);
        long t0 = BrokerKit.Now;
        byte[][] sent =
        [
            BrokerKit.Batch(3, t0, CompressionCodec.None, "plain"),
            BrokerKit.Batch(5, t0 + 100, CompressionCodec.Gzip, "gzip"),
            BrokerKit.Batch(1, t0 + 200, CompressionCodec.None, "single"),
        ];

        var expectedBase = new List<long>();
        long next = 0;
        foreach (var batch in sent)
        {
            var p = await BrokerKit.ProduceAsync(client, topic, 0, batch, produceVersion);
            Assert.Equal(ErrorCode.None, p.ErrorCode);
            Assert.Equal(next, p.BaseOffset);
            Assert.Equal(-1, p.LogAppendTimeMs); // CreateTime topic
            Assert.Equal(produceVersion >= 5 ? 0 : -1, p.LogStartOffset);
            expectedBase.Add(next);
            next += BrokerKit.RecordCount(batch);
        }

        var fetched = await BrokerKit.ConsumeBatchesAsync(client, topic, 0, 0, sent.Length, fetchVersion);

        Assert.Equal(sent.Length, fetched.Count);
        for (int i = 0; i < sent.Length; i++)
        {
            Assert.Equal(BrokerKit.Stamped(sent[i], expectedBase[i]), fetched[i]);
            Assert.Equal(BatchError.None, RecordBatch.TryValidate(fetched[i], int.MaxValue, out _));
        }

        var tail = await BrokerKit.FetchAsync(client, topic, 0, 0, fetchVersion);
        Assert.Equal(ErrorCode.None, tail.ErrorCode);
        Assert.Equal(next, tail.HighWatermark);
        Assert.Equal(fetchVersion >= 4 ? next : -1, tail.LastStableOffset); // not on the wire before v4
        Assert.Equal(fetchVersion >= 5 ? 0 : -1, tail.LogStartOffset);
    }

    [Theory]
    [MemberData(nameof(ProduceVersions))]
    public async Task Acks_0_gets_no_response_and_the_next_frame_answers_the_next_request(short version)
    {
        using var client = await Silo.ConnectAsync();
        string topic = BrokerKit.NewTopic($"acks0-v{version}");
        await BrokerKit.CreateTopicOkAsync(client, topic, 1);
        byte[] batch = BrokerKit.Batch(2, BrokerKit.Now);

        await client.SendOnlyAsync(BrokerKit.ProduceRequestFor(topic, 0, batch, acks: 0), version);
        int metadataId = await client.SendOnlyAsync(new MetadataRequest { Topics = [topic] }, 9);

        // Decoding checks the correlation id: a produce response here would fail it.
        var metadata = await client.ReceiveAsync<MetadataResponse>(ApiKey.Metadata, 9, metadataId);
        Assert.Equal(topic, Assert.Single(metadata.Topics).Name);

        var fetched = await BrokerKit.ConsumeBatchesAsync(client, topic, 0, 0, 1);
        Assert.Equal(BrokerKit.Stamped(batch, 0), Assert.Single(fetched));
    }

    /// <summary>
    /// A pre-0.11 client's message set (magic 0 or 1) is well formed but not what this broker
    /// stores: UNSUPPORTED_FOR_MESSAGE_FORMAT (non-retriable, unlike CORRUPT_MESSAGE), per
    /// partition, nothing appended, and the other partition of the same request still goes in.
    /// </summary>
    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    [InlineData(2, 0)]
    public async Task A_legacy_message_set_is_UNSUPPORTED_FOR_MESSAGE_FORMAT_and_not_appended(short version, byte magic)
    {
        using var client = await Silo.ConnectAsync();
        string topic = BrokerKit.NewTopic($"legacy-v{version}-m{magic}");
        await BrokerKit.CreateTopicOkAsync(client, topic, 2);
        long end = await AppendGoodBatchAsync(client, topic);

        var request = new ProduceRequest
        {
            Acks = -1,
            TimeoutMs = 30_000,
            Topics =
            [
                new ProduceRequest.Topic
                {
                    Name = topic,
                    Partitions =
                    [
                        new ProduceRequest.Partition { Index = 0, Records = LegacyMessageSet(magic, "old", "older") },
                        new ProduceRequest.Partition { Index = 1, Records = BrokerKit.Batch(2, BrokerKit.Now) },
                    ],
                },
            ],
        };
        var response = await client.SendAsync<ProduceRequest, ProduceResponse>(request, version);

        var partitions = Assert.Single(response.Topics).Partitions.OrderBy(p => p.Index).ToList();
        Assert.Equal(ErrorCode.UnsupportedForMessageFormat, partitions[0].ErrorCode);
        Assert.Equal(-1, partitions[0].BaseOffset);
        Assert.Equal(ErrorCode.None, partitions[1].ErrorCode);
        Assert.Equal(0, partitions[1].BaseOffset);
        await AssertNothingAppendedAsync(client, topic, end);
    }

    [Fact]
    public void Legacy_magic_is_found_behind_record_batches_and_not_in_them()
    {
        byte[] batch = BrokerKit.Batch(2, BrokerKit.Now);
        Assert.Null(global::OrleansMQ.Silo.Kafka.Handlers.ProduceHandler.FindLegacyMagic(batch));
        Assert.Null(global::OrleansMQ.Silo.Kafka.Handlers.ProduceHandler.FindLegacyMagic([.. batch, .. batch]));
        Assert.Equal((byte)1, global::OrleansMQ.Silo.Kafka.Handlers.ProduceHandler.FindLegacyMagic([.. batch, .. LegacyMessageSet(1, "a")]));
        Assert.Equal((byte)0, global::OrleansMQ.Silo.Kafka.Handlers.ProduceHandler.FindLegacyMagic(LegacyMessageSet(0, "a", "b")));
        Assert.Null(global::OrleansMQ.Silo.Kafka.Handlers.ProduceHandler.FindLegacyMagic(batch.AsSpan(0, 10)));
    }

    [Theory]
    [MemberData(nameof(ProduceVersions))]
    public async Task A_batch_with_a_bad_crc_is_CORRUPT_MESSAGE_and_not_appended(short version)
    {
        using var client = await Silo.ConnectAsync();
        string topic = BrokerKit.NewTopic($"crc-v{version}");
        await BrokerKit.CreateTopicOkAsync(client, topic, 1);
        long end = await AppendGoodBatchAsync(client, topic);

        byte[] corrupt = BrokerKit.Batch(2, BrokerKit.Now);
        corrupt[^3] ^= 0x40; // a bit of the last record's value: covered by the CRC
        var p = await BrokerKit.ProduceAsync(client, topic, 0, corrupt, version);

        Assert.Equal(ErrorCode.CorruptMessage, p.ErrorCode);
        Assert.Equal(-1, p.BaseOffset);
        await AssertNothingAppendedAsync(client, topic, end);
    }

    [Theory]
    [MemberData(nameof(ProduceVersions))]
    public async Task A_batch_over_the_topics_max_message_bytes_is_MESSAGE_TOO_LARGE_and_not_appended(short version)
    {
        using var client = await Silo.ConnectAsync();
        string topic = BrokerKit.NewTopic($"large-v{version}");
        await BrokerKit.CreateTopicOkAsync(client, topic, 1, ("max.message.bytes", "1000"));
        long end = await AppendGoodBatchAsync(client, topic);

        byte[] large = BrokerKit.Batch(1, BrokerKit.Now, valueSize: 1200);
        Assert.True(large.Length > 1000);
        var p = await BrokerKit.ProduceAsync(client, topic, 0, large, version);

        Assert.Equal(ErrorCode.MessageTooLarge, p.ErrorCode);
        Assert.Equal(-1, p.BaseOffset);
        await AssertNothingAppendedAsync(client, topic, end);

        // Just under the limit is fine (the batch after the one AssertNothingAppendedAsync added).
        byte[] fits = BrokerKit.Batch(1, BrokerKit.Now, valueSize: 800);
        Assert.InRange(fits.Length, 800, 1000);
        Assert.Equal(end + 1, await BrokerKit.ProduceOkAsync(client, topic, 0, fits, version));
    }

    [Theory]
    [MemberData(nameof(ProduceVersions))]
    public async Task Producing_to_a_partition_the_topic_does_not_have_is_UNKNOWN_TOPIC_OR_PARTITION(short version)
    {
        using var client = await Silo.ConnectAsync();
        string topic = BrokerKit.NewTopic($"nopart-v{version}");
        await BrokerKit.CreateTopicOkAsync(client, topic, 1);
        long end = await AppendGoodBatchAsync(client, topic);

        var p = await BrokerKit.ProduceAsync(client, topic, 5, BrokerKit.Batch(1, BrokerKit.Now), version);

        Assert.Equal(ErrorCode.UnknownTopicOrPartition, p.ErrorCode);
        Assert.Equal(-1, p.BaseOffset);
        Assert.Single((await BrokerKit.DescribeTopicAsync(client, topic)).Partitions);
        await AssertNothingAppendedAsync(client, topic, end);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(9)]
    public async Task Producing_to_an_invalid_topic_name_is_INVALID_TOPIC_EXCEPTION(short version)
    {
        using var client = await Silo.ConnectAsync();
        var p = await BrokerKit.ProduceAsync(client, "bad name!", 0, BrokerKit.Batch(1, BrokerKit.Now), version);
        Assert.Equal(ErrorCode.InvalidTopicException, p.ErrorCode);
        Assert.DoesNotContain("bad name!", await BrokerKit.AllTopicNamesAsync(client));
    }

    [Fact]
    public async Task After_an_acks_all_produce_is_answered_ListOffsets_latest_includes_it()
    {
        // Read-your-writes, as with a one-replica Kafka topic: the high watermark has moved by the
        // time the produce is acknowledged. Repeated because a lagging watermark is a race.
        using var client = await Silo.ConnectAsync();
        string topic = BrokerKit.NewTopic("ryw");
        await BrokerKit.CreateTopicOkAsync(client, topic, 1);
        var stale = new List<string>();
        for (int i = 0; i < Rounds; i++)
        {
            long baseOffset = await BrokerKit.ProduceOkAsync(client, topic, 0, BrokerKit.Batch(1, BrokerKit.Now));
            long latest = await BrokerKit.LatestOffsetAsync(client, topic);
            if (latest != baseOffset + 1)
            {
                stale.Add($"#{i}: produced offset {baseOffset}, latest {latest}");
            }
        }

        Assert.True(stale.Count == 0, $"{stale.Count}/{Rounds} ListOffsets answers missed the acknowledged batch: {string.Join("; ", stale.Take(5))}");
    }

    [Fact]
    public async Task After_an_acks_all_produce_is_answered_a_fetch_without_waiting_returns_it()
    {
        using var client = await Silo.ConnectAsync();
        string topic = BrokerKit.NewTopic("ryw-fetch");
        await BrokerKit.CreateTopicOkAsync(client, topic, 1);
        var missing = new List<long>();
        for (int i = 0; i < Rounds; i++)
        {
            byte[] batch = BrokerKit.Batch(1, BrokerKit.Now);
            long baseOffset = await BrokerKit.ProduceOkAsync(client, topic, 0, batch);
            var p = await BrokerKit.FetchAsync(client, topic, 0, baseOffset, maxWaitMs: 0);
            if (BrokerKit.SplitBatches(p.Records).Count != 1)
            {
                missing.Add(baseOffset);
            }
        }

        Assert.True(missing.Count == 0, $"{missing.Count}/{Rounds} fetches (max_wait 0) right after the ack returned nothing, e.g. offsets {string.Join(", ", missing.Take(5))}");
    }

    /// <summary>Appends one good batch and waits until it can be fetched; returns the log end.</summary>
    private static async Task<long> AppendGoodBatchAsync(KafkaTestClient client, string topic)
    {
        byte[] batch = BrokerKit.Batch(3, BrokerKit.Now, tag: "good");
        Assert.Equal(0, await BrokerKit.ProduceOkAsync(client, topic, 0, batch));
        await BrokerKit.ConsumeBatchesAsync(client, topic, 0, 0, 1);
        return 3;
    }

    /// <summary>The end did not move: ListOffsets says so, and the next good batch gets exactly that offset.</summary>
    private static async Task AssertNothingAppendedAsync(KafkaTestClient client, string topic, long end)
    {
        Assert.Equal(end, await BrokerKit.LatestOffsetAsync(client, topic));
        Assert.Equal(end, await BrokerKit.ProduceOkAsync(client, topic, 0, BrokerKit.Batch(1, BrokerKit.Now, tag: "after")));
        var batches = await BrokerKit.ConsumeBatchesAsync(client, topic, 0, 0, 2);
        Assert.Equal(2, batches.Count);
    }

    /// <summary>
    /// A legacy message set (Kafka 0.8–0.10): per message offset INT64, message_size INT32, crc
    /// INT32 (CRC-32 of the rest), magic INT8, attributes INT8, timestamp INT64 (magic 1 only),
    /// key BYTES (null), value BYTES.
    /// </summary>
    private static byte[] LegacyMessageSet(byte magic, params string[] values)
    {
        var output = new List<byte>();
        long offset = 0;
        foreach (string value in values)
        {
            var body = new List<byte> { magic, 0 };
            if (magic == 1)
            {
                body.AddRange(BigEndian(BrokerKit.Now, 8));
            }

            body.AddRange(BigEndian(-1, 4)); // null key
            byte[] v = System.Text.Encoding.UTF8.GetBytes(value);
            body.AddRange(BigEndian(v.Length, 4));
            body.AddRange(v);
            byte[] message = [.. BigEndian(Crc32([.. body]), 4), .. body];
            output.AddRange(BigEndian(offset++, 8));
            output.AddRange(BigEndian(message.Length, 4));
            output.AddRange(message);
        }

        return [.. output];
    }

    private static byte[] BigEndian(long value, int size)
    {
        byte[] bytes = new byte[size];
        for (int i = size - 1; i >= 0; i--, value >>= 8)
        {
            bytes[i] = (byte)value;
        }

        return bytes;
    }

    private static uint Crc32(byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
            }
        }

        return ~crc;
    }
}
