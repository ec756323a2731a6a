using Orleans;
using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.Placement;
using OrleansMQ.Silo.Cluster;
using OrleansMQ.Silo.Topics;

namespace OrleansMQ.Silo.Grains;

/// <summary>
/// Places a grain on the group coordinator: the silo whose broker leads <c>__consumer_offsets</c>-0,
/// which holds the loaded offsets view the group grain reads and appends to. Before the partition
/// is placed (a single silo), or when its leader's silo is not known or not compatible, the grain
/// goes where <see cref="PreferLocalPlacement"/> would put it: the calling silo.
/// </summary>
[GenerateSerializer, Immutable]
public sealed class CoordinatorPlacementStrategy : PlacementStrategy
{
    public static CoordinatorPlacementStrategy Instance { get; } = new();
}

/// <summary>Marks a grain class for <see cref="CoordinatorPlacementStrategy"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class CoordinatorPlacementAttribute : PlacementAttribute
{
    public CoordinatorPlacementAttribute()
        : base(CoordinatorPlacementStrategy.Instance)
    {
    }
}

/// <summary>
/// Orleans asks this on the silo sending the first call of a grain that has no activation; every
/// silo's <see cref="TopicCatalog"/> has the partition's leader (pushed by the topic directory)
/// and its <see cref="BrokerDirectory"/> the leader broker's Orleans silo.
/// </summary>
public sealed class CoordinatorPlacementDirector(TopicCatalog catalog, BrokerDirectory brokers) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var compatible = context.GetCompatibleSilos(target);
        if (catalog.TryGet(TopicNames.ConsumerOffsets, out var topic)
            && topic.Replicas.Length > 0
            && topic.Replicas[0].State is { HasLeader: true } state
            && brokers.Find(state.Leader) is { } leader
            && Array.IndexOf(compatible, leader.Silo) >= 0)
        {
            return Task.FromResult(leader.Silo);
        }

        if (context.LocalSiloStatus == SiloStatus.Active && Array.IndexOf(compatible, context.LocalSilo) >= 0)
        {
            return Task.FromResult(context.LocalSilo);
        }

        return Task.FromResult(compatible[Random.Shared.Next(compatible.Length)]);
    }
}
