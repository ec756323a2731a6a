using OrleansMQ.Silo.Grains;

namespace OrleansMQ.Silo.Producers;

/// <summary>
/// Hands out producer ids for InitProducerId, unique across restarts: ids come from blocks whose
/// upper bound is persisted before the first id of the block is handed out (Kafka's controller
/// allocates blocks the same way).
/// </summary>
public sealed class ProducerIdAllocator : IDisposable
{
    private const string StateType = "ProducerIdBlock";
    private const int BlockSize = 1000;

    private readonly IGrainStateStore _store;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private long _next = -1;
    private long _blockEnd = -1;

    public ProducerIdAllocator(IGrainStateStore store) => _store = store;

    public async Task<long> NextAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_next < 0 || _next >= _blockEnd)
            {
                var state = await _store.ReadAsync<BlockState>(StateType, "block", cancellationToken).ConfigureAwait(false) ?? new BlockState();
                long start = Math.Max(state.NextBlockStart, 0);
                await _store.WriteAsync(StateType, "block", new BlockState { NextBlockStart = start + BlockSize }, cancellationToken).ConfigureAwait(false);
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

    public sealed class BlockState
    {
        public long NextBlockStart { get; set; }
    }
}
