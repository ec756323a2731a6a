using OrleansMQ.Storage.Tiering;
using Xunit;

namespace OrleansMQ.Storage.Tests.Tiering;

/// <summary>The blob client against a real Azurite (one per test class; each test its own container).</summary>
public sealed class AzureBlobStoreTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private const int MiB = 1024 * 1024;

    /// <summary>Small blocks so "large" uploads stay quick: anything over 1 MiB is staged in 1 MiB blocks.</summary>
    private static BlobStoreOptions BlockOptions() => new() { SingleUploadMaxBytes = MiB, BlockSize = MiB, MaxParallelBlocks = 3 };

    private static byte[] Random(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    private async Task<AzureBlobStore> NewStoreAsync(BlobStoreOptions? options = null)
    {
        var store = azurite.CreateStore(options: options);
        await store.EnsureContainerAsync();
        return store;
    }

    [Fact]
    public async Task Create_container_is_idempotent()
    {
        using var store = azurite.CreateStore();
        await store.EnsureContainerAsync();
        await store.EnsureContainerAsync();
        Assert.Empty((await store.ListPageAsync("")).Items);
    }

    [Fact]
    public async Task Small_upload_round_trips_with_properties_and_metadata()
    {
        using var store = await NewStoreAsync();
        var data = Random(1000, 1);
        var metadata = new Dictionary<string, string> { ["baseOffset"] = "42", ["crc"] = "abc123" };

        var put = await store.UploadAsync("topic-0/00000000000000000042.log", data, metadata);

        var props = await store.GetPropertiesAsync("topic-0/00000000000000000042.log");
        Assert.NotNull(props);
        Assert.Equal(1000, props.Length);
        Assert.Equal(put.ETag, props.ETag);
        Assert.StartsWith("\"", props.ETag, StringComparison.Ordinal);
        Assert.True(Math.Abs((DateTimeOffset.UtcNow - props.LastModified).TotalMinutes) < 5);
        Assert.Equal("42", props.Metadata["baseoffset"]); // names compare case-insensitively
        Assert.Equal("abc123", props.Metadata["crc"]);

        var back = new byte[1000];
        Assert.Equal(1000, await store.ReadRangeAsync("topic-0/00000000000000000042.log", 0, back));
        Assert.Equal(data, back);

        // Single Put Blob: no blocks staged.
        Assert.Empty((await store.GetBlockListAsync("topic-0/00000000000000000042.log")).Uncommitted);
    }

    [Fact]
    public async Task Empty_blob_round_trips()
    {
        using var store = await NewStoreAsync();
        await store.UploadAsync("empty", ReadOnlyMemory<byte>.Empty);
        Assert.Equal(0, (await store.GetPropertiesAsync("empty"))!.Length);
        Assert.Equal(0, await store.ReadRangeAsync("empty", 0, new byte[10]));
    }

    [Fact]
    public async Task Large_upload_goes_in_blocks_and_reads_back_byte_identical()
    {
        using var store = await NewStoreAsync(BlockOptions());
        var data = Random((10 * MiB) + 12345, 2);

        var put = await store.UploadAsync("big", data, new Dictionary<string, string> { ["kind"] = "segment" });

        Assert.Equal(data.Length, put.Length);
        var (committed, uncommitted) = await store.GetBlockListAsync("big");
        Assert.Equal(11, committed.Count);
        Assert.All(committed.Take(10), size => Assert.Equal(MiB, size));
        Assert.Equal(12345, committed[10]);
        Assert.Empty(uncommitted);

        var props = await store.GetPropertiesAsync("big");
        Assert.Equal(data.Length, props!.Length);
        Assert.Equal("segment", props.Metadata["kind"]);

        // Read back in uneven ranges straight into one buffer.
        var back = new byte[data.Length];
        int chunk = (3 * MiB) + 7;
        for (int pos = 0; pos < back.Length; pos += chunk)
        {
            int want = Math.Min(chunk, back.Length - pos);
            Assert.Equal(want, await store.ReadRangeAsync("big", pos, back.AsMemory(pos, want)));
        }

        Assert.True(data.AsSpan().SequenceEqual(back));
    }

    [Fact]
    public async Task File_range_and_stream_uploads_match_the_source()
    {
        using var store = await NewStoreAsync(BlockOptions());
        using var dir = new TempDir();
        var data = Random((3 * MiB) + 500, 3);
        var path = Path.Combine(dir.Path, "00000000000000000000.log");
        await File.WriteAllBytesAsync(path, data);

        // A file range in blocks (a segment inside a bigger file), and a small one in one Put Blob.
        await store.UploadFileAsync("file-big", path, 100, data.Length - 200);
        await store.UploadFileAsync("file-small", path, 10, 1000);

        // A non-seekable stream of unknown length, staged in blocks, and one that fits in one.
        await using (var s = new OneWayStream(data))
        {
            await store.UploadAsync("stream-big", s);
        }

        await using (var s = new OneWayStream(data.AsMemory(0, 5000).ToArray()))
        {
            await store.UploadAsync("stream-small", s);
        }

        await AssertBlobAsync(store, "file-big", data.AsMemory(100, data.Length - 200));
        await AssertBlobAsync(store, "file-small", data.AsMemory(10, 1000));
        await AssertBlobAsync(store, "stream-big", data);
        await AssertBlobAsync(store, "stream-small", data.AsMemory(0, 5000));
        Assert.Equal(4, (await store.GetBlockListAsync("file-big")).Committed.Count);
        Assert.Equal(4, (await store.GetBlockListAsync("stream-big")).Committed.Count);
    }

    [Fact]
    public async Task Ranged_reads_at_start_middle_end_and_past_end()
    {
        using var store = await NewStoreAsync();
        var data = Random(10_000, 4);
        await store.UploadAsync("r", data);
        var buf = new byte[100];

        Assert.Equal(100, await store.ReadRangeAsync("r", 0, buf));
        Assert.Equal(data.AsMemory(0, 100).ToArray(), buf);

        Assert.Equal(100, await store.ReadRangeAsync("r", 5000, buf));
        Assert.Equal(data.AsMemory(5000, 100).ToArray(), buf);

        Assert.Equal(100, await store.ReadRangeAsync("r", 9900, buf));
        Assert.Equal(data.AsMemory(9900, 100).ToArray(), buf);

        // Crossing the end: a short read of what is there.
        Array.Clear(buf);
        Assert.Equal(30, await store.ReadRangeAsync("r", 9970, buf));
        Assert.Equal(data.AsMemory(9970, 30).ToArray(), buf.AsMemory(0, 30).ToArray());

        // At or past the end: 0 bytes, like Stream.Read at EOF.
        Assert.Equal(0, await store.ReadRangeAsync("r", 10_000, buf));
        Assert.Equal(0, await store.ReadRangeAsync("r", 1_000_000, buf));

        // A missing blob is an error, not EOF.
        var ex = await Assert.ThrowsAsync<BlobStoreException>(() => store.ReadRangeAsync("nope", 0, buf));
        Assert.Equal(404, ex.Status);
        Assert.Equal("BlobNotFound", ex.ErrorCode);
        Assert.Contains("'nope'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Properties_of_a_missing_blob_are_null()
    {
        using var store = await NewStoreAsync();
        Assert.Null(await store.GetPropertiesAsync("missing"));
    }

    [Fact]
    public async Task Upload_replaces_and_changes_the_etag()
    {
        using var store = await NewStoreAsync();
        var first = await store.UploadAsync("x", Random(10, 5));
        var second = await store.UploadAsync("x", Random(20, 6));
        Assert.NotEqual(first.ETag, second.ETag);
        Assert.Equal(20, (await store.GetPropertiesAsync("x"))!.Length);
    }

    [Fact]
    public async Task List_filters_by_prefix_and_pages_with_markers()
    {
        using var store = await NewStoreAsync();
        for (int i = 0; i < 7; i++)
        {
            await store.UploadAsync($"orders-0/{i:D20}.log", new byte[i + 1]);
        }

        await store.UploadAsync("orders-1/00000000000000000000.log", new byte[1]);
        await store.UploadAsync("other", new byte[1]);

        var pages = new List<BlobListPage>();
        string? marker = null;
        do
        {
            var page = await store.ListPageAsync("orders-0/", marker, maxResults: 3);
            pages.Add(page);
            marker = page.NextMarker;
        }
        while (marker is not null);

        Assert.Equal([3, 3, 1], pages.Select(p => p.Items.Count));
        var names = pages.SelectMany(p => p.Items).Select(i => i.Name).ToList();
        Assert.Equal(Enumerable.Range(0, 7).Select(i => $"orders-0/{i:D20}.log"), names);
        Assert.Equal(Enumerable.Range(1, 7).Select(i => (long)i), pages.SelectMany(p => p.Items).Select(i => i.Length));
        Assert.All(pages.SelectMany(p => p.Items), i => Assert.StartsWith("\"", i.ETag, StringComparison.Ordinal));

        var all = new List<string>();
        await foreach (var item in store.ListAsync("orders-"))
        {
            all.Add(item.Name);
        }

        Assert.Equal(8, all.Count);
        Assert.DoesNotContain("other", all);
    }

    [Fact]
    public async Task Delete_is_idempotent()
    {
        using var store = await NewStoreAsync();
        await store.UploadAsync("d", new byte[10]);
        Assert.True(await store.DeleteAsync("d"));
        Assert.False(await store.DeleteAsync("d"));
        Assert.Null(await store.GetPropertiesAsync("d"));
    }

    [Fact]
    public async Task Staged_blocks_without_a_block_list_are_not_a_blob()
    {
        using var store = await NewStoreAsync();
        var uploadId = Guid.NewGuid().ToString("N");
        await store.StageBlockAsync("half", AzureBlobStore.BlockId(uploadId, 0), Random(1000, 7), default);
        await store.StageBlockAsync("half", AzureBlobStore.BlockId(uploadId, 1), Random(1000, 8), default);

        Assert.Equal(2, (await store.GetBlockListAsync("half")).Uncommitted.Count);
        Assert.Null(await store.GetPropertiesAsync("half"));
        Assert.Empty((await store.ListPageAsync("half")).Items);
        var ex = await Assert.ThrowsAsync<BlobStoreException>(() => store.ReadRangeAsync("half", 0, new byte[10]));
        Assert.Equal("BlobNotFound", ex.ErrorCode);

        // A committed blob stays intact while blocks for its replacement are staged.
        var v1 = Random(3000, 9);
        await store.UploadAsync("segment", v1);
        await store.StageBlockAsync("segment", AzureBlobStore.BlockId(uploadId, 0), Random(5000, 10), default);
        Assert.Equal(3000, (await store.GetPropertiesAsync("segment"))!.Length);
        await AssertBlobAsync(store, "segment", v1);

        // A later full upload of the same name commits cleanly despite the leftovers.
        var v2 = Random((2 * MiB) + 1, 11);
        using var blocks = azurite.CreateStore(store.Container, BlockOptions());
        await blocks.UploadAsync("half", v2);
        await AssertBlobAsync(store, "half", v2);
    }

    [Fact]
    public async Task A_source_failing_mid_upload_leaves_no_blob_only_uncommitted_blocks()
    {
        using var store = await NewStoreAsync(BlockOptions());
        var data = Random(5 * MiB, 13);
        await using var source = new OneWayStream(data, failAfter: (2 * MiB) + 100);

        var ex = await Assert.ThrowsAsync<IOException>(() => store.UploadAsync("broken", source));

        Assert.Contains("source broke", ex.Message, StringComparison.Ordinal);
        Assert.Null(await store.GetPropertiesAsync("broken"));
        Assert.Empty((await store.ListPageAsync("broken")).Items);

        // The blocks in flight were cancelled when the source failed; whichever got staged
        // first stay uncommitted (Get Block List says 404 when none did), none is committed.
        try
        {
            var (committed, uncommitted) = await store.GetBlockListAsync("broken");
            Assert.Empty(committed);
            Assert.InRange(uncommitted.Count, 0, 2);
        }
        catch (BlobStoreException notFound) when (notFound.ErrorCode == "BlobNotFound")
        {
        }
    }

    [Fact]
    public async Task Wrong_account_key_is_a_clear_authentication_error()
    {
        var wrongKey = Convert.ToBase64String(Random(64, 12));
        using var store = AzureBlobStore.FromConnectionString(
            $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={wrongKey};BlobEndpoint={azurite.BlobEndpoint}",
            "wrongkey",
            new BlobStoreOptions { MaxAttempts = 5 });

        var ex = await Assert.ThrowsAsync<BlobStoreException>(() => store.EnsureContainerAsync());

        Assert.Equal(403, ex.Status);
        Assert.Equal("AuthenticationFailed", ex.ErrorCode);
        Assert.Contains("check the account key", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(wrongKey, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("attempts", ex.Message, StringComparison.Ordinal); // 4xx: no retries
    }

    [Fact]
    public async Task Missing_container_is_a_clear_error()
    {
        using var store = azurite.CreateStore();
        var ex = await Assert.ThrowsAsync<BlobStoreException>(() => store.UploadAsync("x", new byte[1]));
        Assert.Equal(404, ex.Status);
        Assert.Equal("ContainerNotFound", ex.ErrorCode);
        Assert.Contains("EnsureContainerAsync", ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<BlobStoreException>(() => store.GetPropertiesAsync("x"));
    }

    private static async Task AssertBlobAsync(AzureBlobStore store, string name, ReadOnlyMemory<byte> expected)
    {
        var props = await store.GetPropertiesAsync(name);
        Assert.NotNull(props);
        Assert.Equal(expected.Length, props.Length);
        var back = new byte[expected.Length];
        Assert.Equal(expected.Length, await store.ReadRangeAsync(name, 0, back));
        Assert.True(expected.Span.SequenceEqual(back), $"'{name}' differs from what was uploaded");
    }

    /// <summary>A stream that can only be read forward, in small pieces, with no length: like a network or pipe source.</summary>
    private sealed class OneWayStream(byte[] data, int failAfter = int.MaxValue) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_position >= failAfter)
            {
                throw new IOException("source broke");
            }

            int n = Math.Min(Math.Min(count, 64 * 1024), data.Length - _position);
            Array.Copy(data, _position, buffer, offset, n);
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
