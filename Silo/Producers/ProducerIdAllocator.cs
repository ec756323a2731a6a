using Orleans;
using OrleansMQ.Silo.Cluster;

namespace OrleansMQ.Silo.Producers;

/// <summary>
/// Hands out producer ids for InitProducerId, unique across silos and restarts: this silo takes
/// blocks of ids from the cluster's <see cref="IClusterMetadataGrain"/>, which persists the block's
/// end before handing it out (Kafka's controller allocates blocks the same way). Ids left in a
/// block when the silo stops are never used.
/// </summary>
public sealed class ProducerIdAllocator : IDisposable
{
    private const int BlockSize = 1000;

    private readonly IGrainFactory _grains;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private long _next = -1;
    private long _blockEnd = -1;

    public ProducerIdAllocator(IGrainFactory grains) => _grains = grains;

    public async Task<long> NextAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_next < 0 || _next >= _blockEnd)
            {
                long start = await _grains.GetGrain<IClusterMetadataGrain>(IClusterMetadataGrain.Key).AllocateProducerIdsAsync(BlockSize).WaitAsync(cancellationToken).ConfigureAwait(false);
                _next = start;
                _blockEnd = start + BlockSize;
            }

            return _next++;
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();
}
