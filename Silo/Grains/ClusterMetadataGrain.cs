using Orleans;
using Orleans.Runtime;
using OrleansMQ.Silo.Cluster;

namespace OrleansMQ.Silo.Grains;

/// <summary>Persisted state of <see cref="ClusterMetadataGrain"/>.</summary>
[GenerateSerializer]
public sealed class ClusterMetadataState
{
    [Id(0)]
    public string KafkaClusterId { get; set; } = "";

    [Id(1)]
    public long NextProducerId { get; set; }
}

/// <summary>The cluster-wide facts (<see cref="IClusterMetadataGrain"/>): one activation in the cluster, state in grain storage.</summary>
public sealed class ClusterMetadataGrain : Grain, IClusterMetadataGrain
{
    private readonly IPersistentState<ClusterMetadataState> _state;

    public ClusterMetadataGrain([PersistentState("cluster")] IPersistentState<ClusterMetadataState> state) => _state = state;

    public async Task<string> GetKafkaClusterIdAsync()
    {
        if (_state.State.KafkaClusterId.Length == 0)
        {
            _state.State.KafkaClusterId = Convert.ToBase64String(Guid.NewGuid().ToByteArray()).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            await _state.WriteStateAsync().ConfigureAwait(true);
        }

        return _state.State.KafkaClusterId;
    }

    public async Task AdoptAsync(string? kafkaClusterId, long nextProducerId)
    {
        bool changed = false;
        if (_state.State.KafkaClusterId.Length == 0 && !string.IsNullOrEmpty(kafkaClusterId))
        {
            _state.State.KafkaClusterId = kafkaClusterId;
            changed = true;
        }

        if (nextProducerId > _state.State.NextProducerId)
        {
            _state.State.NextProducerId = nextProducerId;
            changed = true;
        }

        if (changed)
        {
            await _state.WriteStateAsync().ConfigureAwait(true);
        }
    }

    public async Task<long> AllocateProducerIdsAsync(int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        long start = _state.State.NextProducerId;
        _state.State.NextProducerId = start + size;
        await _state.WriteStateAsync().ConfigureAwait(true);
        return start;
    }
}
