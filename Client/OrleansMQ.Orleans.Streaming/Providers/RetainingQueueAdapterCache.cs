using Microsoft.Extensions.Logging;
using Orleans.Streams;

namespace OrleansMQ.Streaming.Providers;

/// <summary>Makes one <see cref="RetainingQueueCache"/> per queue.</summary>
internal sealed class RetainingQueueAdapterCache(int cacheSize, TimeSpan retention, string providerName, ILoggerFactory loggerFactory) : IQueueAdapterCache
{
    public IQueueCache CreateQueueCache(QueueId queueId) =>
        new RetainingQueueCache(cacheSize, retention, TimeProvider.System, loggerFactory.CreateLogger($"{typeof(RetainingQueueCache).FullName}.{providerName}.{queueId}"));
}
