using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using OrleansMQ.Protocol.Batches;
using OrleansMQ.Storage.Engine;
using OrleansMQ.Storage.Tiering;
using Xunit;
using OrleansMQ.Storage.Tests.Engine;
using static OrleansMQ.Storage.Tests.Engine.TestSupport;

namespace OrleansMQ.Storage.Tests.Tiering;

/// <summary>Shared helpers of the tiered-storage tests: engines with 1 MiB segments offloading at once to Azurite.</summary>
internal static class TierTestKit
{
    public static BlobStoreOptions FastRetries(int attempts = 2) => new()
    {
        MaxAttempts = attempts,
        InitialRetryDelay = TimeSpan.FromMilliseconds(100),
        MaxRetryDelay = TimeSpan.FromMilliseconds(500),
        AttemptTimeout = TimeSpan.FromSeconds(5),
    };

    public static StorageOptions Options(string dir, AzuriteFixture azurite, string container)
    {
        var o = SmallOptions(dir);
        o.RetentionTime = null;
        o.Tiering = new TieringOptions
        {
            ConnectionString = azurite.ConnectionString,
            Container = container,
            LocalRetention = TimeSpan.Zero,
            CheckInterval = TimeSpan.FromMilliseconds(100),
            ReadBlockSize = 64 << 10, // several blocks per segment: exercises block joins and read-ahead
            CacheBytes = 512 << 10,   // smaller than one segment: exercises eviction
            UploadConcurrency = 2,
            BlobStore = FastRetries(),
        };
        return o;
    }

    public static string NewContainer() => "tier" + Guid.NewGuid().ToString("N")[..20];

    /// <summary>
    /// Appends ~48 KiB batches stamped with <paramref name="clock"/>'s time (the engine's clock: local
    /// and total retention measure record timestamps against it); returns each batch as the log
    /// stores it (baseOffset stamped).
    /// </summary>
    public static async Task<List<(long Offset, byte[] Bytes)>> Fill(StorageEngine engine, PartitionLog p, int batches, string tag, TimeProvider? clock = null)
    {
        var expected = new List<(long, byte[])>();
        long timestamp = (clock ?? TimeProvider.System).GetUtcNow().ToUnixTimeMilliseconds();
        for (int i = 0; i < batches; i++)
        {
            var batch = Batch($"{tag}{i}", 4, timestamp, valuePadding: 12_000);
            var r = await engine.AppendAsync(p, batch);
            BinaryPrimitives.WriteInt64BigEndian(batch, r.BaseOffset);
            expected.Add((r.BaseOffset, batch));
        }

        await Engine.StorageEngineTests.WaitForHighWatermark(p, p.LogEndOffset);
        engine.Flush();
        return expected;
    }

    /// <summary>Every batch from the log start to the high watermark, through the zero-copy path or, for offloaded ones, the remote read.</summary>
    public static async Task<(List<(long Offset, byte[] Bytes)> Batches, int RemoteReads)> ReadEverything(StorageEngine engine, PartitionLog p, long from = 0)
    {
        var result = new List<(long, byte[])>();
        int remote = 0;
        long next = from;
        var spans = new List<LogSpan>();
        while (next < p.HighWatermark)
        {
            spans.Clear();
            var buffer = new ArrayBufferWriter<byte>();
            var status = engine.ReadSpans(p, next, 100_000, spans);
            if (status == ReadStatus.Remote)
            {
                remote++;
                var (bytes, remoteStatus) = await engine.ReadRemoteAsync(p, next, 100_000, buffer, CancellationToken.None);
                Assert.Equal(ReadStatus.Ok, remoteStatus);
                Assert.True(bytes > 0);
            }
            else
            {
                Assert.Equal(ReadStatus.Ok, status);
                foreach (var s in spans)
                {
                    buffer.Write(s.Bytes);
                    s.Release();
                }
            }

            var rest = buffer.WrittenMemory;
            Assert.False(rest.IsEmpty, $"nothing read at offset {next}");
            while (!rest.IsEmpty)
            {
                Assert.Equal(BatchError.None, RecordBatch.TryValidate(rest.Span, int.MaxValue, out var info));
                long baseOffset = RecordBatch.ReadBaseOffset(rest.Span);
                result.Add((baseOffset, rest[..info.TotalLength].ToArray()));
                next = baseOffset + info.LastOffsetDelta + 1;
                rest = rest[info.TotalLength..];
            }
        }

        return (result, remote);
    }

    public static void AssertSame(List<(long Offset, byte[] Bytes)> expected, List<(long Offset, byte[] Bytes)> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Offset, actual[i].Offset);
            Assert.True(expected[i].Bytes.AsSpan().SequenceEqual(actual[i].Bytes), $"batch at offset {expected[i].Offset} differs");
        }
    }

    public static async Task WaitUntil(Func<bool> condition, string what, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting until " + what);
            await Task.Delay(50);
        }
    }

    /// <summary>Waits until every sealed segment is remote and its local file gone (only the active segment stays).</summary>
    public static Task WaitForOffload(StorageEngine engine) =>
        WaitUntil(() => engine.CommitLog.Segments.Count == 1 && engine.Tier!.Segments.Count > 0 && engine.Tier.Segments[^1].EndPosition == engine.CommitLog.MinPosition, "sealed segments are offloaded and deleted locally");

    public static async Task<List<string>> ListNames(AzureBlobStore store, string prefix)
    {
        var names = new List<string>();
        await foreach (var item in store.ListAsync(prefix))
        {
            names.Add(item.Name);
        }

        return names;
    }
}

/// <summary>Tiered storage against a real Azurite shared by these tests (each uses its own container).</summary>
public sealed class TieredStorageTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>, IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Sealed_segments_are_offloaded_deleted_locally_and_every_offset_reads_byte_identical()
    {
        string container = TierTestKit.NewContainer();
        var options = TierTestKit.Options(_dir.Path, azurite, container);
        using var engine = StorageEngine.Open(options);
        var p = engine.GetOrCreatePartition("tiered", 0);
        var q = engine.GetOrCreatePartition("other", 0);
        var expectedQ = await TierTestKit.Fill(engine, q, 5, "q");
        var expected = await TierTestKit.Fill(engine, p, 70, "p"); // ~3.3 segments
        // Segments sealed so far: still local, or already offloaded (and maybe deleted: the offloader
        // runs while the test fills, so on a quick machine some are gone before this line). A
        // segment is in the tier's list before it leaves the local one, so none is missed.
        var local = engine.CommitLog.Segments.Take(engine.CommitLog.Segments.Count - 1).ToList();
        var sealedFiles = local.Select(s => s.FilePath).ToList();
        var sealedStarts = local.Select(s => s.StartPosition).Concat(engine.Tier!.Segments.Select(m => m.StartPosition)).Distinct().Count();
        Assert.True(sealedStarts >= 3, $"{sealedStarts} segments sealed");

        await TierTestKit.WaitForOffload(engine);
        // A dropped segment's file goes when its last reader releases it (the dispatcher may hold it a moment).
        await TierTestKit.WaitUntil(() => sealedFiles.All(f => !File.Exists(f)), "the offloaded segment files are deleted locally");
        Assert.Equal(0, p.LogStartOffset);
        Assert.Equal(0, q.LogStartOffset);

        using (var store = azurite.CreateStore(container))
        {
            var segments = await TierTestKit.ListNames(store, "segments/");
            var manifests = await TierTestKit.ListNames(store, "manifests/");
            Assert.Equal(engine.Tier!.Segments.Select(s => s.SegmentBlobName), segments);
            Assert.Equal(engine.Tier.Segments.Select(s => s.ManifestBlobName), manifests);
            var first = engine.Tier.Segments[0];
            Assert.Contains(first.Partitions, r => r.Id == q.Id && r.FirstOffset == 0 && r.LastOffset == 19);
            Assert.Contains(first.Partitions, r => r.Id == p.Id && r.FirstOffset == 0);
            Assert.True(first.DataLength < first.Size, "the blank padding is not uploaded");
        }

        var (actual, remoteReads) = await TierTestKit.ReadEverything(engine, p);
        TierTestKit.AssertSame(expected, actual);
        Assert.True(remoteReads > 0);
        var (actualQ, _) = await TierTestKit.ReadEverything(engine, q);
        TierTestKit.AssertSame(expectedQ, actualQ);
        Assert.True(engine.Tier.Cache.Hits > 0, "read-ahead or block reuse should serve some reads from the cache");

        // The synchronous copying read serves remote batches too (offset store, HTTP gateway).
        var buffer = new ArrayBufferWriter<byte>();
        engine.Read(p, 0, 1, buffer, out var status);
        Assert.Equal(ReadStatus.Ok, status);
        Assert.True(buffer.WrittenSpan.SequenceEqual(expected[0].Bytes));

        // Local appends and reads are unaffected.
        var more = await TierTestKit.Fill(engine, p, 3, "m");
        var (tail, _) = await TierTestKit.ReadEverything(engine, p, more[0].Offset);
        TierTestKit.AssertSame(more, tail);
    }

    [Fact]
    public async Task Key_lookups_find_records_in_offloaded_segments_also_after_a_restart()
    {
        string container = TierTestKit.NewContainer();
        var options = TierTestKit.Options(_dir.Path, azurite, container);
        var written = new Dictionary<string, (long Offset, string Value)>();
        using (var engine = StorageEngine.Open(options))
        {
            var p = engine.GetOrCreatePartition("keyed", 0, new PartitionOptions { IndexKeys = true });
            for (int b = 0; b < 70; b++)
            {
                var builder = new RecordBatchBuilder();
                for (int i = 0; i < 4; i++)
                {
                    builder.Add(Encoding.UTF8.GetBytes($"order-{b}-{i}"), Encoding.UTF8.GetBytes($"v{b}-{i}" + new string('.', 12_000)), 1_700_000_000_000 + b);
                }

                var r = await engine.AppendAsync(p, builder.Build());
                for (int i = 0; i < 4; i++)
                {
                    written[$"order-{b}-{i}"] = (r.BaseOffset + i, $"v{b}-{i}");
                }
            }

            await Engine.StorageEngineTests.WaitForHighWatermark(p, p.LogEndOffset);
            engine.Flush();
            await TierTestKit.WaitForOffload(engine);
            AssertLookups(engine, p, written);
        }

        // After a restart the index still covers the offloaded segments.
        using (var engine = StorageEngine.Open(options))
        {
            await TierTestKit.WaitUntil(() => engine.Tier!.IsLoaded, "the tier is ready");
            AssertLookups(engine, engine.GetOrCreatePartition("keyed", 0, new PartitionOptions { IndexKeys = true }), written);
        }

        static void AssertLookups(StorageEngine engine, PartitionLog p, Dictionary<string, (long Offset, string Value)> written)
        {
            Assert.True(engine.CommitLog.MinPosition > 0, "the oldest segments are offloaded and gone locally");
            foreach (string key in new[] { "order-0-0", "order-1-3", "order-30-2", "order-69-1" })
            {
                var hits = engine.LookupByKey(p, Encoding.UTF8.GetBytes(key), 0, long.MaxValue, 10);
                var hit = Assert.Single(hits);
                Assert.Equal(written[key].Offset, hit.Offset);
                Assert.StartsWith(written[key].Value + ".", Encoding.UTF8.GetString(hit.Value), StringComparison.Ordinal);
            }

            Assert.Empty(engine.LookupByKey(p, "order-99-9"u8, 0, long.MaxValue, 10));
        }
    }

    [Fact]
    public async Task After_a_restart_with_an_empty_local_tier_folder_the_manifests_serve_old_offsets()
    {
        string container = TierTestKit.NewContainer();
        var options = TierTestKit.Options(_dir.Path, azurite, container);
        List<(long, byte[])> expected;
        long segmentCount;
        using (var engine = StorageEngine.Open(options))
        {
            var p = engine.GetOrCreatePartition("restart", 0);
            expected = await TierTestKit.Fill(engine, p, 50, "r");
            await TierTestKit.WaitForOffload(engine);
            segmentCount = engine.Tier!.Segments.Count;
        }

        // The local copy of the remote table is gone, and a stray segment blob without a manifest
        // (an upload that never finished) sits past the last real one: neither may matter.
        Directory.Delete(Path.Combine(_dir.Path, "tier"), recursive: true);
        using (var store = azurite.CreateStore(container))
        {
            await store.UploadAsync(TierManifest.SegmentBlob(1L << 40), new byte[] { 1, 2, 3 });
        }

        using (var engine = StorageEngine.Open(options))
        {
            Assert.True(engine.TryGetPartition("restart", 0, out var p));
            await TierTestKit.WaitUntil(() => engine.Tier!.IsLoaded, "the manifests are listed");
            Assert.Equal(segmentCount, engine.Tier!.Segments.Count);
            Assert.Equal(0, p.LogStartOffset);
            var (actual, remoteReads) = await TierTestKit.ReadEverything(engine, p);
            TierTestKit.AssertSame(expected, actual);
            Assert.True(remoteReads > 0);
        }
    }

    [Fact]
    public async Task Segments_left_locally_after_their_upload_are_deleted_at_start_and_read_remotely()
    {
        // A crash between "manifest written" and "local file deleted": put the files back.
        string container = TierTestKit.NewContainer();
        var options = TierTestKit.Options(_dir.Path, azurite, container);
        options.Tiering!.LocalRetention = TimeSpan.FromHours(1); // nothing is old enough to go yet
        List<(long, byte[])> expected;
        using (var engine = StorageEngine.Open(options))
        {
            var p = engine.GetOrCreatePartition("leftover", 0);
            expected = await TierTestKit.Fill(engine, p, 50, "l");
            Assert.Equal(0, engine.Tier!.UploadedSegments);
        }

        string logDir = Path.Combine(_dir.Path, "commitlog");
        string kept = Path.Combine(_dir.Path, "kept");
        Directory.CreateDirectory(kept);
        var sealedFiles = Directory.GetFiles(logDir).Where(f => Path.GetFileName(f).Length == 20).Order().SkipLast(1).ToList();
        Assert.True(sealedFiles.Count >= 2);
        foreach (var f in sealedFiles)
        {
            File.Copy(f, Path.Combine(kept, Path.GetFileName(f)));
        }

        options.Tiering.LocalRetention = TimeSpan.Zero;
        using (var engine = StorageEngine.Open(options))
        {
            await TierTestKit.WaitForOffload(engine);
        }

        foreach (var f in sealedFiles)
        {
            File.Copy(Path.Combine(kept, Path.GetFileName(f)), f);
        }

        using (var engine = StorageEngine.Open(options))
        {
            Assert.True(engine.TryGetPartition("leftover", 0, out var p));
            await TierTestKit.WaitUntil(() => sealedFiles.All(f => !File.Exists(f)), "the leftover local copies are deleted");
            Assert.False(Directory.Exists(Path.Combine(logDir, "set-aside")));
            var (actual, remoteReads) = await TierTestKit.ReadEverything(engine, p);
            Assert.True(remoteReads > 0);
            TierTestKit.AssertSame(expected, actual);
        }
    }

    [Fact]
    public async Task Total_retention_deletes_remote_segments_and_advances_log_start()
    {
        string container = TierTestKit.NewContainer();
        var clock = new FakeClock(DateTimeOffset.UtcNow);
        var options = TierTestKit.Options(_dir.Path, azurite, container);
        options.RetentionBytes = 2L << 20;
        using var engine = StorageEngine.Open(options, time: clock);
        var p = engine.GetOrCreatePartition("retained", 0);
        var expected = await TierTestKit.Fill(engine, p, 90, "t", clock); // ~4.2 segments
        await TierTestKit.WaitForOffload(engine);
        var tier = engine.Tier!;
        int before = tier.Segments.Count;
        Assert.True(before >= 4);
        var dropped = tier.Segments.Take(before - 1).ToList();

        engine.EnforceRetention(); // 2 MiB budget: the active segment and one remote one stay
        Assert.Single(tier.Segments);
        Assert.True(p.LogStartOffset > 0);
        var spans = new List<LogSpan>();
        Assert.Equal(ReadStatus.OffsetOutOfRange, engine.ReadSpans(p, 0, 1000, spans));
        await TierTestKit.WaitUntil(() => tier.PendingDeletes == 0, "remote deletions are done");
        using (var store = azurite.CreateStore(container))
        {
            var names = await TierTestKit.ListNames(store, "");
            Assert.All(dropped, d => Assert.DoesNotContain(d.SegmentBlobName, names));
            Assert.All(dropped, d => Assert.DoesNotContain(d.ManifestBlobName, names));
            Assert.Contains(tier.Segments[0].ManifestBlobName, names);
        }

        long startAfterSize = p.LogStartOffset;
        var (actual, _) = await TierTestKit.ReadEverything(engine, p, p.LogStartOffset);
        TierTestKit.AssertSame(expected.Where(e => e.Offset >= p.LogStartOffset).ToList(), actual);

        // Time: everything remote is older than the retention time two days later.
        options.RetentionTime = TimeSpan.FromDays(1);
        clock.Advance(TimeSpan.FromDays(2));
        engine.EnforceRetention();
        Assert.Empty(tier.Segments);
        Assert.Single(engine.CommitLog.Segments); // the active segment is never offloaded nor deleted
        Assert.True(p.LogStartOffset > startAfterSize);
        var (active, remote) = await TierTestKit.ReadEverything(engine, p, p.LogStartOffset);
        Assert.Equal(0, remote);
        TierTestKit.AssertSame(expected.Where(e => e.Offset >= p.LogStartOffset).ToList(), active);
    }

    [Theory]
    [InlineData(-7300)] // the engine clock 20 years behind the files' times
    [InlineData(7300)]  // and 20 years ahead: neither may matter
    public async Task Local_and_total_retention_measure_record_timestamps_on_the_engine_clock(int clockDaysFromNow)
    {
        string container = TierTestKit.NewContainer();
        var clock = new FakeClock(DateTimeOffset.UtcNow.AddDays(clockDaysFromNow));
        var options = TierTestKit.Options(_dir.Path, azurite, container);
        options.Tiering!.LocalRetention = TimeSpan.FromHours(1);
        options.RetentionTime = TimeSpan.FromDays(1);
        using var engine = StorageEngine.Open(options, time: clock);
        var p = engine.GetOrCreatePartition("aged", 0);
        var expected = await TierTestKit.Fill(engine, p, 70, "a", clock); // ~3.3 segments
        var tier = engine.Tier!;
        await TierTestKit.WaitUntil(() => tier.IsLoaded, "the tier is ready");
        tier.Wake();
        await Task.Delay(1000); // several offloader rounds (CheckInterval 100 ms)
        Assert.Equal(0, tier.UploadedSegments); // the records are not an hour old on the engine clock
        Assert.True(engine.CommitLog.Segments.Count >= 4);

        clock.Advance(TimeSpan.FromHours(2));
        tier.Wake();
        await TierTestKit.WaitForOffload(engine);
        int remote = tier.Segments.Count;
        Assert.True(remote >= 3);
        engine.EnforceRetention(); // total retention: the records are two hours old, the limit is a day
        Assert.Equal(remote, tier.Segments.Count);
        Assert.Equal(0, p.LogStartOffset);
        var (all, _) = await TierTestKit.ReadEverything(engine, p);
        TierTestKit.AssertSame(expected, all);

        clock.Advance(TimeSpan.FromDays(2));
        engine.EnforceRetention();
        Assert.Empty(tier.Segments);
        Assert.True(p.LogStartOffset > 0);
    }
}

/// <summary>Tiering while Azurite is down; each test has its own Azurite, since it stops it.</summary>
public sealed class TieredStorageOutageTests : IAsyncLifetime, IDisposable
{
    private readonly AzuriteFixture _azurite = new();
    private readonly TempDir _dir = new();

    public Task InitializeAsync() => _azurite.InitializeAsync();

    public Task DisposeAsync() => _azurite.DisposeAsync();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Blob_outage_keeps_local_files_and_traffic_then_the_upload_resumes()
    {
        string container = TierTestKit.NewContainer();
        var options = TierTestKit.Options(_dir.Path, _azurite, container);
        using var engine = StorageEngine.Open(options);
        var p = engine.GetOrCreatePartition("outage", 0);
        await TierTestKit.WaitUntil(() => engine.Tier!.IsLoaded, "the tier is ready");

        // Down while the segments roll and their uploads start.
        var first = await TierTestKit.Fill(engine, p, 10, "a");
        await _azurite.StopAsync();
        var second = await TierTestKit.Fill(engine, p, 60, "b");
        var expected = first.Concat(second).ToList();
        await TierTestKit.WaitUntil(() => engine.Tier!.UploadFailures > 0 && engine.Tier.LastError is not null, "an upload fails");
        await Task.Delay(500);
        var files = Directory.GetFiles(Path.Combine(_dir.Path, "commitlog"));
        Assert.True(files.Length >= 4, "nothing local is deleted while the blob service is away");
        var (local, remoteReads) = await TierTestKit.ReadEverything(engine, p);
        Assert.Equal(0, remoteReads);
        TierTestKit.AssertSame(expected, local);
        var more = await TierTestKit.Fill(engine, p, 2, "c"); // appends are unaffected
        expected.AddRange(more);

        await _azurite.StartAsync();
        await TierTestKit.WaitForOffload(engine);
        using (var store = _azurite.CreateStore(container))
        {
            Assert.Equal(engine.Tier!.Segments.Select(s => s.ManifestBlobName), await TierTestKit.ListNames(store, "manifests/"));
        }

        var (actual, remote) = await TierTestKit.ReadEverything(engine, p);
        Assert.True(remote > 0);
        TierTestKit.AssertSame(expected, actual);
    }

    [Fact]
    public async Task Remote_reads_fail_with_a_clear_error_while_the_service_is_down_and_local_reads_continue()
    {
        string container = TierTestKit.NewContainer();
        var options = TierTestKit.Options(_dir.Path, _azurite, container);
        List<(long Offset, byte[] Bytes)> expected;
        using (var engine = StorageEngine.Open(options))
        {
            var p = engine.GetOrCreatePartition("down", 0);
            expected = await TierTestKit.Fill(engine, p, 40, "d");
            await TierTestKit.WaitForOffload(engine);
        }

        await _azurite.StopAsync(graceful: true); // a SIGKILLed Azurite loses its recent blobs
        using (var engine = StorageEngine.Open(options)) // empty read cache; the local table copy knows the segments
        {
            Assert.True(engine.TryGetPartition("down", 0, out var p));
            var spans = new List<LogSpan>();
            Assert.Equal(ReadStatus.Remote, engine.ReadSpans(p, 0, 1000, spans));
            var ex = await Assert.ThrowsAsync<StorageException>(async () => await engine.ReadRemoteAsync(p, 0, 1000, new ArrayBufferWriter<byte>(), CancellationToken.None));
            Assert.Equal(StorageError.TierUnavailable, ex.Error);
            Assert.Contains("cannot be read", ex.Message, StringComparison.Ordinal);

            var localFrom = expected.First(e => engine.ReadSpans(p, e.Offset, 1, spans) == ReadStatus.Ok).Offset;
            spans.ForEach(s => s.Release());
            var (tail, remote) = await TierTestKit.ReadEverything(engine, p, localFrom);
            Assert.Equal(0, remote);
            TierTestKit.AssertSame(expected.Where(e => e.Offset >= localFrom).ToList(), tail);

            await _azurite.StartAsync();
            var (all, _) = await TierTestKit.ReadEverything(engine, p);
            TierTestKit.AssertSame(expected, all);
        }
    }
}
