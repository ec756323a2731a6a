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
