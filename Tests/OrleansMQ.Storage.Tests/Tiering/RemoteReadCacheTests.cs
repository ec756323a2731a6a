using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using OrleansMQ.Storage.Tiering;
using Xunit;

namespace OrleansMQ.Storage.Tests.Tiering;

/// <summary>The read-ahead switch of the remote block cache, against an in-memory store (no network).</summary>
public sealed class RemoteReadCacheTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    public async Task ReadAheadBlocks_prefetches_exactly_that_many_following_blocks(int readAhead)
    {
        const int block = 4096;
        var store = new CountingStore(new byte[10 * block]);
        var segment = new TierManifest(TierManifest.CurrentVersion, 0, 10 * block, 10 * block, 0, 1, -1, -1, 0, 0, []);
        var cache = new RemoteReadCache(store, block, 10L * block, CancellationToken.None, readAhead);

        var destination = new byte[100];
        await cache.ReadAsync(segment, 10, destination, CancellationToken.None);

        // Prefetches run in the background: wait until the expected ones arrived, then make sure no more follow.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (store.Offsets.Count < 1 + readAhead && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        await Task.Delay(100);
        var expected = Enumerable.Range(0, 1 + readAhead).Select(i => (long)i * block).ToArray();
        Assert.Equal(expected, store.Offsets.OrderBy(o => o).ToArray());
        Assert.Equal(1, cache.Misses);
        Assert.Equal(1 + readAhead, cache.Count);
    }

    [Fact]
    public void ReadAheadBlocks_must_fit_in_the_cache()
    {
        var options = new TieringOptions { ConnectionString = "UseDevelopmentStorage=true", ReadBlockSize = 1 << 20, CacheBytes = 4L << 20, ReadAheadBlocks = 3 };
        options.Validate();
        options.ReadAheadBlocks = 4;
        Assert.Contains("ReadAheadBlocks", Assert.Throws<ArgumentException>(options.Validate).Message, StringComparison.Ordinal);
        options.ReadAheadBlocks = -1;
        Assert.Throws<ArgumentException>(options.Validate);
    }

    /// <summary>Serves ranged reads from memory and records the offset of each.</summary>
    private sealed class CountingStore(byte[] blob) : IBlobStore
    {
        public ConcurrentQueue<long> Offsets { get; } = new();

        public Task<int> ReadRangeAsync(string name, long offset, Memory<byte> destination, CancellationToken cancellationToken = default)
        {
            Offsets.Enqueue(offset);
            int n = (int)Math.Max(0, Math.Min(destination.Length, blob.Length - offset));
            blob.AsMemory((int)offset, n).CopyTo(destination);
            return Task.FromResult(n);
        }

        public Task EnsureContainerAsync(CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<BlobProperties> UploadAsync(string name, ReadOnlyMemory<byte> content, IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<BlobProperties> UploadFileAsync(string name, string path, long offset, long length, IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<BlobProperties> UploadAsync(string name, Stream content, IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<BlobProperties?> GetPropertiesAsync(string name, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<BlobListPage> ListPageAsync(string prefix, string? marker = null, int? maxResults = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public async IAsyncEnumerable<BlobItem> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await Task.CompletedTask;
            yield break;
        }

        public Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }
}
