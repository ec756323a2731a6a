using System.Collections.Concurrent;
using OrleansMQ.Storage.Engine;

namespace OrleansMQ.Silo.Producers;

/// <summary>Every partition's idempotent-producer state on this silo, created on first use.</summary>
public sealed class ProducerStates
{
    private readonly ConcurrentDictionary<int, ProducerStateTable> _tables = new();

    public ProducerStateTable For(PartitionLog partition) => _tables.GetOrAdd(partition.Id, static _ => new ProducerStateTable());

    /// <summary>
    /// Drops a partition's table: the next idempotent produce rebuilds it from the log. Called when
    /// this silo becomes the partition's leader (the log now holds batches replicated from the old
    /// leader, whose sequences a retried batch must be checked against) or its follower.
    /// </summary>
    public void Forget(PartitionLog partition) => _tables.TryRemove(partition.Id, out _);
}
