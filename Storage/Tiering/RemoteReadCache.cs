namespace OrleansMQ.Storage.Tiering;

/// <summary>
/// A bounded LRU cache of fixed-size blocks of remote segment blobs, filled by ranged reads.
/// Concurrent readers of the same block share one download (the cache holds the task). Reading a
/// block starts the download of the next <c>readAheadBlocks</c> ones (read-ahead, 0 = off), so a
/// consumer reading a segment from the start finds the following blocks already arriving. Failed
/// downloads are not cached.
/// </summary>
internal sealed class RemoteReadCache
{
    private readonly IBlobStore _store;
    private readonly int _blockSize;
    private readonly int _capacity;                 // blocks
    private readonly int _readAhead;                // blocks
    private readonly CancellationToken _shutdown;
    private readonly Lock _lock = new();
    private readonly Dictionary<(long Segment, long Block), LinkedListNode<Entry>> _map = new();
    private readonly LinkedList<Entry> _lru = new();  // most recent first
    private long _hits;
    private long _misses;

    public RemoteReadCache(IBlobStore store, int blockSize, long capacityBytes, CancellationToken shutdown, int readAheadBlocks = 1)
    {
        _store = store;
        _blockSize = blockSize;
        _readAhead = readAheadBlocks;
        _capacity = (int)Math.Clamp(capacityBytes / blockSize, 2, int.MaxValue);
        _shutdown = shutdown;
    }

    public long Hits => Interlocked.Read(ref _hits);

    public long Misses => Interlocked.Read(ref _misses);

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _map.Count;
            }
        }
    }

    /// <summary>Copies <c>destination.Length</c> bytes of the segment blob from <paramref name="offset"/>; throws when the blob holds fewer.</summary>
    public async ValueTask ReadAsync(TierManifest segment, long offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        if (offset < 0 || offset + destination.Length > segment.DataLength)
        {
            throw new StorageException(StorageError.IoError, $"Remote read [{offset}, {offset + destination.Length}) lies outside segment {segment.StartPosition}'s {segment.DataLength} uploaded bytes.");
        }

        long lastBlock = -1;
        while (!destination.IsEmpty)
        {
            long block = offset / _blockSize;
            int within = (int)(offset % _blockSize);
            var bytes = await GetBlock(segment, block).WaitAsync(cancellationToken).ConfigureAwait(false);
            int n = Math.Min(destination.Length, bytes.Length - within);
            if (n <= 0)
            {
                throw new StorageException(StorageError.IoError, $"Remote segment {segment.StartPosition} block {block} is shorter than its manifest says.");
            }

            bytes.AsMemory(within, n).CopyTo(destination);
            destination = destination[n..];
            offset += n;
            lastBlock = block;
        }

        // Read-ahead: sequential consumers move on to the next blocks next.
        for (long next = lastBlock + 1; lastBlock >= 0 && next <= lastBlock + _readAhead && next * _blockSize < segment.DataLength; next++)
        {
            _ = GetBlock(segment, next, prefetch: true);
        }
    }

    private Task<byte[]> GetBlock(TierManifest segment, long block, bool prefetch = false)
    {
        var key = (segment.StartPosition, block);
        Task<byte[]> task;
        lock (_lock)
        {
            if (_map.TryGetValue(key, out var node))
            {
                if (!prefetch)
                {
                    _lru.Remove(node);
                    _lru.AddFirst(node);
                    Interlocked.Increment(ref _hits);
                }

                return node.Value.Task;
            }

            if (!prefetch)
            {
                Interlocked.Increment(ref _misses);
            }

            task = DownloadAsync(segment, block);
            _map[key] = _lru.AddFirst(new Entry(key, task));
            while (_map.Count > _capacity)
            {
                var last = _lru.Last!;
                _lru.RemoveLast();
                _map.Remove(last.Value.Key);
            }
        }

        // A failure must not stay cached: the next reader retries (the service may be back).
        _ = task.ContinueWith(
            (t, state) => ((RemoteReadCache)state!).Forget(key, t),
            this,
            CancellationToken.None,
            TaskContinuationOptions.NotOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return task;
    }

    private void Forget((long, long) key, Task<byte[]> failed)
    {
        _ = failed.Exception; // observed: a prefetch nobody awaits must not surface as unobserved
        lock (_lock)
        {
            if (_map.TryGetValue(key, out var node) && node.Value.Task == failed)
            {
                _lru.Remove(node);
                _map.Remove(key);
            }
        }
    }

    private async Task<byte[]> DownloadAsync(TierManifest segment, long block)
    {
        await Task.Yield(); // never run the HTTP request under the cache lock
        long start = block * _blockSize;
        int length = (int)Math.Min(_blockSize, segment.DataLength - start);
        var buffer = new byte[length];
        int got = 0;
        while (got < length)
        {
            int n = await _store.ReadRangeAsync(segment.SegmentBlobName, start + got, buffer.AsMemory(got), _shutdown).ConfigureAwait(false);
            if (n == 0)
            {
                throw new StorageException(StorageError.IoError, $"Remote segment {segment.StartPosition} ended at {start + got}, before the {segment.DataLength} bytes its manifest names.");
            }

            got += n;
        }

        return buffer;
    }

    /// <summary>Drops every block of a segment (it was deleted by retention).</summary>
    public void Evict(long segmentStart)
    {
        lock (_lock)
        {
            var node = _lru.First;
            while (node is not null)
            {
                var next = node.Next;
                if (node.Value.Key.Segment == segmentStart)
                {
                    _lru.Remove(node);
                    _map.Remove(node.Value.Key);
                }

                node = next;
            }
        }
    }

    private sealed record Entry((long Segment, long Block) Key, Task<byte[]> Task);
}
