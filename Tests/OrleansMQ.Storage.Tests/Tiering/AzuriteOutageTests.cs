using System.Diagnostics;
using OrleansMQ.Storage.Tiering;
using Xunit;

namespace OrleansMQ.Storage.Tests.Tiering;

/// <summary>The blob client while Azurite is down and after it comes back. Each test has its own Azurite, since it stops it.</summary>
public sealed class AzuriteOutageTests : IAsyncLifetime
{
    private readonly AzuriteFixture _azurite = new();

    public Task InitializeAsync() => _azurite.InitializeAsync();

    public Task DisposeAsync() => _azurite.DisposeAsync();

    private static BlobStoreOptions FastRetries(int attempts) => new()
    {
        MaxAttempts = attempts,
        InitialRetryDelay = TimeSpan.FromMilliseconds(100),
        MaxRetryDelay = TimeSpan.FromSeconds(1),
        AttemptTimeout = TimeSpan.FromSeconds(3),
    };

    [Fact]
    public async Task Stopped_azurite_is_retried_then_a_clear_connection_error_in_bounded_time()
    {
        var logs = new ListLogger();
        using var store = _azurite.CreateStore(options: FastRetries(3), logger: logs);
        await store.EnsureContainerAsync();
        await _azurite.StopAsync();

        var clock = Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<BlobStoreException>(() => store.GetPropertiesAsync("anything"));
        clock.Stop();

        Assert.Equal(0, ex.Status);
        Assert.Equal(BlobStoreException.ConnectionFailedCode, ex.ErrorCode);
        Assert.Contains("after 3 attempts", ex.Message, StringComparison.Ordinal);
        Assert.Contains(_azurite.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), ex.Message, StringComparison.Ordinal);
        Assert.Contains("running and reachable", ex.Message, StringComparison.Ordinal);
        Assert.Equal(2, logs.Warnings.Count(w => w.Contains("retrying", StringComparison.Ordinal)));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Azurite_stopped_in_the_middle_of_a_block_upload_leaves_no_blob_and_the_upload_redone_is_whole()
    {
        // Small blocks, one at a time: a 96 MiB upload is hundreds of Put Blocks, so the kill lands between them.
        var options = FastRetries(2);
        options.BlockSize = 256 * 1024;
        options.SingleUploadMaxBytes = 256 * 1024;
        options.MaxParallelBlocks = 1;
        using var store = _azurite.CreateStore(options: options);
        await store.EnsureContainerAsync();
        var content = new byte[96 << 20];
        new Random(7).NextBytes(content);

        long before = FolderBytes(_azurite.Location);
        var upload = store.UploadAsync("segments/00000000000000000000.log", content);
        // Blocks are arriving at Azurite (its extent files grow) and the upload has not finished.
        var clock = Stopwatch.StartNew();
        while (FolderBytes(_azurite.Location) < before + (4 << 20) && !upload.IsCompleted && clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(5);
        }

        Assert.False(upload.IsCompleted, "the upload finished before Azurite could be stopped in its middle");
        // SIGTERM: Azurite drops the connections in flight and keeps what it committed (SIGKILL would
        // also lose its recent metadata, the container included, which is not what is tested here).
        await _azurite.StopAsync(graceful: true);
        var ex = await Assert.ThrowsAsync<BlobStoreException>(() => upload);
        Assert.Equal(BlobStoreException.ConnectionFailedCode, ex.ErrorCode);

        // Back on the same folder: the staged blocks were never committed, so no blob of that name exists.
        await _azurite.StartAsync();
        Assert.Null(await store.GetPropertiesAsync("segments/00000000000000000000.log"));
        await foreach (var item in store.ListAsync("segments/"))
        {
            Assert.Fail("a partial upload is listed: " + item.Name);
        }

        // Done again, it is whole: length and bytes at the start, a block boundary and the end.
        var props = await store.UploadAsync("segments/00000000000000000000.log", content);
        Assert.Equal(content.Length, props.Length);
        foreach (long at in new long[] { 0, (256 * 1024) - 100, content.Length - 4096 })
        {
            var back = new byte[4096];
            Assert.Equal(4096, await store.ReadRangeAsync("segments/00000000000000000000.log", at, back));
            Assert.True(content.AsSpan((int)at, 4096).SequenceEqual(back), $"bytes at {at} differ");
        }
    }

    private static long FolderBytes(string path) =>
        Directory.Exists(path) ? new DirectoryInfo(path).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length) : 0;

    [Fact]
    public async Task Restarted_azurite_works_again_with_the_same_store()
    {
        using var store = _azurite.CreateStore(options: FastRetries(3));
        await store.EnsureContainerAsync();
        var before = new byte[5000];
        new Random(1).NextBytes(before);
        await store.UploadAsync("before", before);

        // A clean stop (SIGTERM) lets Azurite persist its metadata; the blob is still there after.
        await _azurite.RestartAsync(graceful: true);
        var back = new byte[5000];
        Assert.Equal(5000, await store.ReadRangeAsync("before", 0, back));
        Assert.Equal(before, back);

        // After a crash (SIGKILL) and restart on the same port and folder, the same client works again.
        await _azurite.RestartAsync();
        await store.EnsureContainerAsync();
        await store.UploadAsync("after", new byte[] { 1, 2, 3 });
        Assert.Equal(3, (await store.GetPropertiesAsync("after"))!.Length);
    }

    [Fact]
    public async Task A_request_in_backoff_succeeds_when_azurite_comes_back()
    {
        using var store = _azurite.CreateStore(options: FastRetries(20));
        await store.EnsureContainerAsync();
        await store.UploadAsync("x", new byte[] { 7 });
        await _azurite.StopAsync(graceful: true);

        var pending = store.GetPropertiesAsync("x");
        await Task.Delay(1000);
        Assert.False(pending.IsCompleted);
        await _azurite.StartAsync();

        var props = await pending.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1, props!.Length);
    }
}
