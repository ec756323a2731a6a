using OrleansMQ.Silo.Tests.Groups;
using OrleansMQ.Silo.Topics;
using OrleansMQ.Storage.Engine;
using Xunit;

namespace OrleansMQ.Silo.Tests.Broker;

/// <summary>
/// A leader's high watermark over a real CommitLog: the ISR's smallest log end, never moving back,
/// and standing still while the ISR is below min.insync.replicas (KIP-966) — so a replica that
/// left the ISR then still holds every record a consumer could have read.
/// </summary>
public sealed class HighWatermarkTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("omq-hw-").FullName;
    private readonly StorageEngine _engine;
    private readonly PartitionLog _log;

    public HighWatermarkTests()
    {
        _engine = StorageEngine.Open(OffsetStoreTests.StorageOptionsFor(_dir));
        _log = _engine.GetOrCreatePartition("t", 0);
    }

    public void Dispose()
    {
        _engine.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private async Task AppendAsync(int records)
    {
        long end = _log.HighWatermark;
        await _engine.AppendAsync(_log, BrokerKit.Batch(records, BrokerKit.Now));
        await _log.WaitForDataAsync(end + records - 1, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task The_high_watermark_stands_still_while_the_isr_is_below_min_insync_replicas()
    {
        var replica = new PartitionReplica("t", 0, _log, self: 1) { MinInsync = 2 };
        var healthy = new PartitionState([1, 2, 3], 1, 0, [1, 2, 3], 0);
        replica.Apply(healthy, nowMs: 0);
        await AppendAsync(10);

        // Followers 2 and 3 fetch from offset 10 (they have 0..9): committed up to 10.
        replica.OnFollowerFetch(2, 10, nowMs: 1);
        replica.OnFollowerFetch(3, 10, nowMs: 1);
        Assert.Equal(10, replica.HighWatermark);

        // The leader drops both (cut off from them): 2 and 3 are eligible leaders, and what the
        // leader appends now (acks=1) is not committed — a consumer must not see it.
        var alone = LeaderElection.AlterIsr(healthy, 1, 0, 0, [1], 2, out _)!;
        replica.Apply(alone, nowMs: 2);
        Assert.True(replica.BelowMinInsync);
        await AppendAsync(5);
        Assert.Equal(15, _log.HighWatermark);
        Assert.Equal(10, replica.HighWatermark);
        var waiting = replica.WaitForChangeAsync(10, CancellationToken.None);
        await Task.Delay(100);
        Assert.False(waiting.IsCompleted);

        // 2 catches up and rejoins: the ISR meets min.insync.replicas again and the high watermark moves.
        var back = LeaderElection.AlterIsr(alone, 1, 0, alone.PartitionEpoch, [1, 2], 2, out _)!;
        replica.Apply(back, nowMs: 3);
        replica.OnFollowerFetch(2, 15, nowMs: 3);
        Assert.Equal(15, replica.HighWatermark);
        await waiting.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_sole_leader_that_meets_min_insync_replicas_reads_its_high_watermark_from_its_log_and_it_never_goes_back()
    {
        var replica = new PartitionReplica("t", 0, _log, self: 1);
        var sole = new PartitionState([1, 2], 1, 0, [1], 0);
        replica.Apply(sole, nowMs: 0);
        await AppendAsync(7);
        Assert.Equal(7, replica.HighWatermark);

        // min.insync.replicas raised to 2 (AlterConfigs): the ISR of one is now too small — the
        // high watermark stays where consumers saw it, neither back to 0 nor on with new appends.
        replica.MinInsync = 2;
        await AppendAsync(3);
        Assert.Equal(7, replica.HighWatermark);

        // The follower rejoins, at the leader's end: everything is committed.
        replica.Apply(sole with { Isr = [1, 2], PartitionEpoch = 1 }, nowMs: 1);
        replica.OnFollowerFetch(2, 10, nowMs: 1);
        Assert.Equal(10, replica.HighWatermark);
    }
}
