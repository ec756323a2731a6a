using Microsoft.Extensions.Logging.Abstractions;
using OrleansMQ.Silo.Groups;
using OrleansMQ.Silo.Tests.Broker;
using OrleansMQ.Silo.Topics;
using OrleansMQ.Storage;
using OrleansMQ.Storage.Log;
using OrleansMQ.Protocol.Batches;
using OrleansMQ.Storage.Engine;
using Xunit;

namespace OrleansMQ.Silo.Tests.Groups;

/// <summary>The offsets partition over a real CommitLog: replay after reopen, snapshots, a corrupt snapshot, tombstones, retention.</summary>
public sealed class OffsetStoreTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("omq-offsets-").FullName;
    private readonly FakeClock _clock = new();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string SnapshotPath => Path.Combine(_dir, "groups", "offsets.snapshot");

    private StorageOptions Options(TimeSpan? retention = null)
    {
        var options = StorageOptionsFor(Path.Combine(_dir, "data"));
        if (retention is { } r)
        {
            options.RetentionTime = r;
        }

        return options;
    }

    private async Task<OffsetStore> OpenStoreAsync(StorageEngine engine)
    {
        var store = new OffsetStore(engine, SnapshotPath, NullLogger.Instance, _clock);
        await store.LoadAsync(CancellationToken.None);
        Assert.True(store.IsLoaded);
        return store;
    }

    private static async Task CommitAsync(OffsetStore store, string group, string topic, int partition, long offset, string? metadata = null)
    {
        var g = store.GetOrAdd(group);
        Assert.Equal(GroupError.None, await store.AppendAsync(g, [new OffsetCommitRecord(group, topic, partition, new CommittedOffset(offset, 5, metadata, 1000, -1))]));
    }

    private static Dictionary<string, long> View(OffsetStore store) =>
        store.Groups.SelectMany(g => g.SnapshotOffsets().Select(kv => ($"{g.GroupId}/{kv.Key.Topic}/{kv.Key.Partition}", kv.Value.Offset)))
            .ToDictionary(x => x.Item1, x => x.Item2);

    [Fact]
    public async Task Commits_and_group_metadata_are_replayed_after_a_reopen()
    {
        var metadata = new GroupMetadataValue("consumer", 3, "range", "m1", 1234, [new StoredMember("m1", "pod-1", "client", "/10.0.0.1", 30_000, 10_000, [1, 2], [3, 4])]);
        using (var engine = StorageEngine.Open(Options()))
        {
            var store = await OpenStoreAsync(engine);
            for (int i = 0; i < 100; i++)
            {
                await CommitAsync(store, $"g{i % 7}", "orders", i % 3, i, metadata: $"m{i}");
            }

            await store.AppendAsync(store.GetOrAdd("g0"), [new GroupMetadataRecord("g0", metadata)]);
            await store.AppendAsync(store.GetOrAdd("g1"), [new OffsetCommitRecord("g1", "orders", 0, null)]); // OffsetDelete
        }

        using (var engine = StorageEngine.Open(Options()))
        {
            var store = await OpenStoreAsync(engine);
            Assert.Equal(102, store.RecordsReplayed);
            Assert.Equal(7, store.Groups.Count);
            Assert.True(store.TryGet("g2", out var g2));
            Assert.True(g2.TryGetOffset("orders", 2, out var committed)); // i = 98 is the last for g0.. check g2: i = 93 (93 % 7 == 2, 93 % 3 == 0)
            Assert.Equal(new CommittedOffset(86, 5, "m86", 1000, -1), committed); // 86 % 7 == 2, 86 % 3 == 2
            Assert.False(store.GetOrAdd("g1").TryGetOffset("orders", 0, out _));
            var restored = store.GetOrAdd("g0").Metadata!;
            Assert.Equal(3, restored.Generation);
            Assert.Equal("pod-1", restored.Members.Single().GroupInstanceId);
            Assert.Equal([3, 4], restored.Members.Single().Assignment);
        }
    }

    [Fact]
    public async Task Commits_are_refused_with_nothing_written_while_the_offsets_isr_is_below_min_insync_replicas()
    {
        using var engine = StorageEngine.Open(Options());
        var store = await OpenStoreAsync(engine);
        var replica = new PartitionReplica(store.Partition.Topic, 0, store.Partition, self: 1) { MinInsync = 2 };
        var alone = new PartitionState([1, 2, 3], 1, 0, [1], 1);
        replica.Apply(alone, nowMs: 0);
        store.Replica = replica;

        // Kafka's coordinator writes with acks=all: NOT_ENOUGH_REPLICAS, which clients see as
        // COORDINATOR_NOT_AVAILABLE (retriable) — and the log is untouched.
        var g = store.GetOrAdd("g");
        Assert.Equal(GroupError.CoordinatorNotAvailable, await store.AppendAsync(g, [new OffsetCommitRecord("g", "t", 0, new CommittedOffset(5, 0, null, 1000, -1))]));
        Assert.Equal(0, store.Partition.LogEndOffset);
        Assert.False(g.TryGetOffset("t", 0, out _));

        // Broker 2 is back in sync: the commit is acknowledged once broker 2 has fetched past it.
        replica.Apply(alone with { Isr = [1, 2], PartitionEpoch = 2 }, nowMs: 1);
        var commit = store.AppendAsync(g, [new OffsetCommitRecord("g", "t", 0, new CommittedOffset(6, 0, null, 1000, -1))]);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (store.Partition.HighWatermark == 0 && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(10);
        }

        Assert.False(commit.IsCompleted);
        replica.OnFollowerFetch(2, store.Partition.HighWatermark, nowMs: 2);
        Assert.Equal(GroupError.None, await commit.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(g.TryGetOffset("t", 0, out var committed));
        Assert.Equal(6, committed.Offset);
    }

    [Fact]
    public async Task Unreadable_records_in_the_offsets_partition_are_skipped_and_the_rest_is_replayed()
    {
        using (var engine = StorageEngine.Open(Options()))
        {
            var store = await OpenStoreAsync(engine);
            await CommitAsync(store, "g", "t", 0, 1);
            // Records no version of this broker wrote: an unknown key type, a truncated value.
            var builder = new RecordBatchBuilder();
            builder.Add([0x00, 0x07, 0x00, 0x01, (byte)'g'], [0x00], 1000);
            builder.Add([0x00, 0x00, 0x00, 0x01, (byte)'g', 0x00, 0x01, (byte)'t', 0x00, 0x00, 0x00, 0x01], [0x00, 0x00, 0x01], 1000);
            await engine.AppendAsync(store.Partition, builder.Build());
            await CommitAsync(store, "g", "t", 2, 3);
        }

        using (var engine = StorageEngine.Open(Options()))
        {
            var store = await OpenStoreAsync(engine);
            Assert.Equal(2, store.RecordsReplayed);
            Assert.Equal([1L, 3], store.GetOrAdd("g").Fetch([("t", [0, 2])]).Select(f => f.Offset));
        }
    }

    [Fact]
    public async Task A_snapshot_bounds_the_replay_and_the_view_is_the_same()
    {
        Dictionary<string, long> before;
        using (var engine = StorageEngine.Open(Options()))
        {
            var store = await OpenStoreAsync(engine);
            for (int i = 0; i < 50; i++)
            {
                await CommitAsync(store, "a", "t", i % 5, i);
            }

            store.WriteSnapshot();
            for (int i = 0; i < 10; i++)
            {
                await CommitAsync(store, "b", "t", i, 1000 + i);
            }

            await CommitAsync(store, "a", "t", 0, 999); // overrides a value inside the snapshot
            before = View(store);
        }

        using (var engine = StorageEngine.Open(Options()))
        {
            var store = await OpenStoreAsync(engine);
            Assert.Equal(11, store.RecordsReplayed);
            Assert.Equal(before, View(store));
            Assert.Equal(999, View(store)["a/t/0"]);
        }
    }

    [Fact]
    public async Task A_corrupt_snapshot_is_moved_aside_and_the_whole_log_is_replayed()
    {
        Dictionary<string, long> before;
        using (var engine = StorageEngine.Open(Options()))
        {
            var store = await OpenStoreAsync(engine);
            for (int i = 0; i < 20; i++)
            {
                await CommitAsync(store, "g", "t", i, i * 10);
            }

            store.WriteSnapshot();
            before = View(store);
        }

        byte[] bytes = File.ReadAllBytes(SnapshotPath);
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(SnapshotPath, bytes);

        using (var engine = StorageEngine.Open(Options()))
        {
            var store = await OpenStoreAsync(engine);
            Assert.Equal(20, store.RecordsReplayed);
            Assert.Equal(before, View(store));
            Assert.False(File.Exists(SnapshotPath));
            Assert.Single(Directory.GetFiles(Path.GetDirectoryName(SnapshotPath)!, "offsets.snapshot.corrupt-*"));
        }
    }

    [Fact]
    public async Task Offsets_outlive_CommitLog_retention_through_the_snapshot()
    {
        // One clock for the engine and the store: the store stamps its records with it and retention
        // measures their timestamps against it, so today's date plays no part.
        var options = Options(TimeSpan.FromDays(1));
        using (var engine = StorageEngine.Open(options, time: _clock))
        {
            var store = await OpenStoreAsync(engine);
            // Enough records to seal a few 1 MiB segments.
            string padding = new('p', 2000);
            for (int i = 0; i < 1500; i++)
            {
                await CommitAsync(store, "old", "t", i % 3, i, padding);
            }

            store.WriteSnapshot();
            // Retention deletes what the dispatcher has indexed and the flush has written, as in production.
            while (store.Partition.HighWatermark < store.Partition.LogEndOffset)
            {
                await Task.Delay(10);
            }

            engine.Flush();
            _clock.Advance(TimeSpan.FromDays(2));
            engine.EnforceRetention();
            Assert.True(store.Partition.LogStartOffset > 0, "retention should have deleted old segments");
        }

        using (var engine = StorageEngine.Open(options, time: _clock))
        {
            var store = await OpenStoreAsync(engine);
            Assert.Equal(1499, store.GetOrAdd("old").Fetch([("t", [2])]).Single().Offset); // 1499 % 3 == 2
        }
    }

    [Fact]
    public async Task The_coordinator_answers_load_in_progress_until_the_replay_is_done()
    {
        var gate = new TaskCompletionSource();
        await using var silo = await TestSilo.StartAsync(groupsLoadGate: gate.Task);
        var groups = silo.Groups;
        Assert.Equal(GroupError.CoordinatorLoadInProgress, groups.Availability);
        gate.SetResult();
        await groups.WhenLoaded;
        Assert.Equal(GroupError.None, groups.Availability);
        await groups.StopAsync();
        Assert.Equal(GroupError.NotCoordinator, groups.Availability);
    }

    /// <summary>Small segments and files, quick checkpoints: a few records roll segments and queue files.</summary>
    internal static StorageOptions StorageOptionsFor(string dir) => new()
    {
        DataDirectory = dir,
        SegmentSize = 1 << 20,
        MaxBatchBytes = 512 << 10,
        FlushPolicy = FlushPolicy.Async(TimeSpan.FromMilliseconds(20), 4),
        ConsumeQueueEntriesPerFile = 64,
        IndexSlotCount = 512,
        IndexEntriesPerFile = 2048,
        CheckpointInterval = TimeSpan.FromMilliseconds(50),
        CleanupInterval = TimeSpan.FromHours(1),
    };
}
