using System.Collections.Concurrent;
using OrleansMQ.Storage.Engine;

namespace OrleansMQ.Silo.Producers;

/// <summary>Every partition's idempotent-producer state on this silo, created on first use.</summary>
public sealed class ProducerStates
{
    private readonly ConcurrentDictionary<int, ProducerStateTable> _tables = new();

    public ProducerStateTable For(PartitionLog partition) => _tables.GetOrAdd(partition.Id, static _ => new ProducerStateTable());
}
