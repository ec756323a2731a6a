using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Logging;
using Orleans.Providers.Streams.Common;
using Orleans.Streams;

namespace OrleansMQ.Streaming.Providers;

/// <summary>
/// Orleans' simple queue cache, except that delivered batches stay for at least
/// <see cref="OrleansMQStreamOptions.CacheRetention"/> (unless the cache is full): the simple cache
/// drops a batch as soon as every cursor has passed it, which would leave nothing to rewind to. A
/// subscription can resume from a token whose batch is still cached; older tokens miss the cache.
/// Checkpoints follow purges, so they lag delivery by the retention.
/// </summary>
internal sealed class RetainingQueueCache : SimpleQueueCache
{
    private readonly TimeSpan _retention;
    private readonly TimeProvider _time;
    private readonly Queue<long> _addedAt = new(); // one timestamp per cached batch, oldest first

    public RetainingQueueCache(int cacheSize, TimeSpan retention, TimeProvider time, ILogger logger)
        : base(cacheSize, logger)
    {
        _retention = retention;
        _time = time;
    }

    public override void AddToCache(IList<IBatchContainer> msgs)
    {
        base.AddToCache(msgs);
        long now = _time.GetTimestamp();
        for (int i = 0; i < msgs.Count; i++)
        {
            _addedAt.Enqueue(now);
        }
    }

    public override bool TryPurgeFromCache([MaybeNullWhen(false)] out IList<IBatchContainer> purgedItems)
    {
        if (_retention > TimeSpan.Zero && !IsUnderPressure() && _addedAt.TryPeek(out long oldest) && _time.GetElapsedTime(oldest) < _retention)
        {
            purgedItems = null;
            return false;
        }

        bool purged = base.TryPurgeFromCache(out purgedItems);

        // The base cache removes the oldest batches: drop their timestamps until the counts agree.
        while (_addedAt.Count > Size)
        {
            _addedAt.Dequeue();
        }

        return purged;
    }
}
