using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Protocol.Batches;
using Xunit;

namespace OrleansMQ.Silo.Tests.Broker;

/// <summary>InitProducerId v0–v2 and idempotent Produce: retries are not duplicated, gaps and stale epochs are refused.</summary>
public sealed class IdempotenceTests(SiloFixture fixture) : IClassFixture<SiloFixture>
{
    public static readonly TheoryData<short> InitVersions = [0, 1, 2];

    public static readonly TheoryData<short> ProduceVersions = [3, 4, 5, 6, 7, 8, 9];

    private TestSilo Silo => fixture.Silo;

    [Theory]
    [MemberData(nameof(InitVersions))]
    public async Task InitProducerId_hands_out_distinct_ids_at_epoch_zero(short version)
    {
        using var client = await Silo.ConnectAsync();
        using var other = await Silo.ConnectAsync();

        var a = await InitAsync(client, version);
        var b = await InitAsync(client, version);
        var c = await InitAsync(other, version);

        foreach (var r in new[] { a, b, c })
        {
            Assert.Equal(ErrorCode.None, r.ErrorCode);
            Assert.True(r.ProducerId >= 0);
            Assert.Equal(0, r.ProducerEpoch);
        }

        Assert.Equal(3, new[] { a.ProducerId, b.ProducerId, c.ProducerId }.Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(ProduceVersions))]
    public async Task Retries_are_not_appended_twice_and_gaps_and_stale_epochs_are_refused(short version)
    {
        using var client = await Silo.ConnectAsync();
        string topic = BrokerKit.NewTopic($"idem-v{version}");
        await BrokerKit.CreateTopicOkAsync(client, topic, 1);
        long pid = (await InitAsync(client, 2)).ProducerId;

        byte[] first = BrokerKit.IdempotentBatch(pid, 0, 0);
        Assert.Equal(0, await BrokerKit.ProduceOkAsync(client, topic, 0, first, version));
        await BrokerKit.ConsumeBatchesAsync(client, topic, 0, 0, 1);

        // The same batch again: a retry after a lost response.
        var retry = await BrokerKit.ProduceAsync(client, topic, 0, first, version);
        Assert.Equal(ErrorCode.None, retry.ErrorCode);
        Assert.Equal(0, retry.BaseOffset);
        Assert.Equal(1, await BrokerKit.LatestOffsetAsync(client, topic));

        // Sequence 5 while 1 is expected.
        var gap = await BrokerKit.ProduceAsync(client, topic, 0, BrokerKit.IdempotentBatch(pid, 0, 5), version);
        Assert.Equal(ErrorCode.OutOfOrderSequenceNumber, gap.ErrorCode);
        Assert.Equal(-1, gap.BaseOffset);

        Assert.Equal(1, await BrokerKit.ProduceOkAsync(client, topic, 0, BrokerKit.IdempotentBatch(pid, 0, 1, records: 3), version));

        // A bumped epoch starts again at sequence 0; the old epoch is fenced from then on.
        Assert.Equal(4, await BrokerKit.ProduceOkAsync(client, topic, 0, BrokerKit.IdempotentBatch(pid, 1, 0), version));
        var stale = await BrokerKit.ProduceAsync(client, topic, 0, BrokerKit.IdempotentBatch(pid, 0, 4), version);
        Assert.Equal(ErrorCode.InvalidProducerEpoch, stale.ErrorCode);
        Assert.Equal(-1, stale.BaseOffset);

        var batches = await BrokerKit.ConsumeBatchesAsync(client, topic, 0, 0, 3);
        Assert.Equal([0L, 1L, 4L], batches.Select(b => RecordBatch.ReadBaseOffset(b)));
        Assert.Equal(5, await BrokerKit.LatestOffsetAsync(client, topic));
    }

    [Fact]
    public async Task An_older_retry_among_the_last_five_batches_gets_its_original_offset()
    {
        using var client = await Silo.ConnectAsync();
        string topic = BrokerKit.NewTopic("idem-window");
        await BrokerKit.CreateTopicOkAsync(client, topic, 1);
        long pid = (await InitAsync(client, 2)).ProducerId;
        var sent = new List<byte[]>();
        for (int seq = 0; seq < 5; seq++)
        {
            sent.Add(BrokerKit.IdempotentBatch(pid, 0, seq));
            Assert.Equal(seq, await BrokerKit.ProduceOkAsync(client, topic, 0, sent[^1]));
        }

        var retry = await BrokerKit.ProduceAsync(client, topic, 0, sent[1]);

        Assert.Equal(ErrorCode.None, retry.ErrorCode);
        Assert.Equal(1, retry.BaseOffset);
        Assert.Equal(5, await BrokerKit.ProduceOkAsync(client, topic, 0, BrokerKit.IdempotentBatch(pid, 0, 5)));
    }

    [Fact]
    public async Task Two_producers_on_one_partition_keep_separate_sequences()
    {
        using var client = await Silo.ConnectAsync();
        string topic = BrokerKit.NewTopic("idem-two");
        await BrokerKit.CreateTopicOkAsync(client, topic, 1);
        long a = (await InitAsync(client, 2)).ProducerId;
        long b = (await InitAsync(client, 2)).ProducerId;

        Assert.Equal(0, await BrokerKit.ProduceOkAsync(client, topic, 0, BrokerKit.IdempotentBatch(a, 0, 0)));
        Assert.Equal(1, await BrokerKit.ProduceOkAsync(client, topic, 0, BrokerKit.IdempotentBatch(b, 0, 0)));
        Assert.Equal(2, await BrokerKit.ProduceOkAsync(client, topic, 0, BrokerKit.IdempotentBatch(a, 0, 1)));
        Assert.Equal(ErrorCode.OutOfOrderSequenceNumber, (await BrokerKit.ProduceAsync(client, topic, 0, BrokerKit.IdempotentBatch(b, 0, 2))).ErrorCode);
    }

    private static Task<InitProducerIdResponse> InitAsync(KafkaTestClient client, short version) =>
        client.SendAsync<InitProducerIdRequest, InitProducerIdResponse>(new InitProducerIdRequest { TransactionalId = null, TransactionTimeoutMs = 60_000 }, version);
}
