using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Tests.Network;
using OrleansMQ.Protocol.Batches;
using Xunit;
using Xunit.Abstractions;

namespace OrleansMQ.Silo.Tests.Broker;

/// <summary>
/// The broker-level proof: a Fetch through the real handlers sends its record bytes with
/// sendfile(2) straight from the CommitLog segment (seen by strace from outside), and with
/// zero-copy switched off the same bytes arrive with no sendfile at all.
/// </summary>
[Collection(StraceTestGroup.Name)]
public sealed class FetchSendfileStraceTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("omq-fetch-strace-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [StraceFact]
    public async Task Fetch_record_data_leaves_through_sendfile()
    {
        await using var silo = await TestSilo.StartAsync();
        var (stored, fetched) = await ProduceAndFetchAsync(silo, traceFile: Path.Combine(_directory, "trace.txt"));
        Assert.Equal(stored, fetched);
        long moved = StraceSession.BytesMoved(Path.Combine(_directory, "trace.txt"), "sendfile");
        output.WriteLine($"sendfile moved {moved} bytes for {stored.Length} bytes of record data");
        Assert.True(moved >= stored.Length, $"strace saw {moved} bytes through sendfile, expected at least {stored.Length}");
    }

    [Fact]
    public async Task With_zero_copy_off_the_same_bytes_arrive_without_sendfile()
    {
        await using var silo = await TestSilo.StartAsync(new() { ["OrleansMQ:Broker:ZeroCopy"] = "false" });
        var (stored, fetched) = await ProduceAndFetchAsync(silo, traceFile: null);
        Assert.Equal(stored, fetched);
        Assert.Equal(0, silo.Listener.Metrics.BytesSentByFile);
    }

    /// <summary>Produces ~2 MiB in 32 batches, then fetches it all; returns the stored and the fetched record bytes.</summary>
    private static async Task<(byte[] Stored, byte[] Fetched)> ProduceAndFetchAsync(TestSilo silo, string? traceFile)
    {
        using var client = await silo.ConnectAsync();
        var rnd = new Random(7);
        for (int b = 0; b < 32; b++)
        {
            var builder = new RecordBatchBuilder();
            for (int r = 0; r < 64; r++)
            {
                var value = new byte[1024];
                rnd.NextBytes(value);
                builder.Add(value, 1_700_000_000_000 + b);
            }

            var produce = new ProduceRequest { Acks = -1, TimeoutMs = 5000, Topics = [new() { Name = "zc", Partitions = [new() { Index = 0, Records = builder.Build() }] }] };
            var pr = await client.SendAsync<ProduceRequest, ProduceResponse>(produce, 7);
            Assert.Equal(ErrorCode.None, pr.Topics[0].Partitions[0].ErrorCode);
        }

        // What the engine holds, read by the copying path.
        var stored = new System.Buffers.ArrayBufferWriter<byte>();
        Assert.True(silo.Engine.TryGetPartition("zc", 0, out var log));
        silo.Engine.Read(log, 0, int.MaxValue, stored, out _);

        var fetch = new FetchRequest
        {
            ReplicaId = -1,
            MaxWaitMs = 100,
            MinBytes = 1,
            MaxBytes = 64 << 20,
            IsolationLevel = 0,
            SessionId = 0,
            SessionEpoch = -1,
            Topics = [new() { Name = "zc", Partitions = [new() { PartitionIndex = 0, FetchOffset = 0, LogStartOffset = -1, PartitionMaxBytes = 64 << 20, CurrentLeaderEpoch = -1 }] }],
        };
        var strace = traceFile is null ? null : StraceSession.Start(traceFile, _ => { });
        FetchResponse response;
        try
        {
            response = await client.SendAsync<FetchRequest, FetchResponse>(fetch, 11);
        }
        finally
        {
            if (strace is not null)
            {
                await StraceSession.StopAsync(strace);
                strace.Dispose();
            }
        }

        var partition = response.Topics.Single().Partitions.Single();
        Assert.Equal(ErrorCode.None, partition.ErrorCode);
        Assert.Equal(32 * 64, partition.HighWatermark);
        return (stored.WrittenSpan.ToArray(), partition.Records!.Value.ToArray());
    }
}
