using OrleansMQ.Silo.Topics;
using Xunit;

namespace OrleansMQ.Silo.Tests.Broker;

/// <summary>Replica placement: what a Kafka user checks in a topic's description (leaders spread, replicas distinct, racks covered).</summary>
public sealed class ReplicaPlacementTests
{
    private static PlacementBroker[] Brokers(params int[] ids) => [.. ids.Select(id => new PlacementBroker(id, null))];

    [Theory]
    [InlineData(3, 12, 3, 0, 0)]
    [InlineData(5, 20, 3, 2, 1)]
    [InlineData(4, 10, 2, 3, 7)]
    [InlineData(6, 600, 3, 4, 5)]
    public void Leaders_spread_evenly_and_every_partition_has_distinct_replicas(int brokers, int partitions, int rf, int start, int shift)
    {
        var placed = ReplicaPlacement.Assign(partitions, rf, Brokers([.. Enumerable.Range(1, brokers)]), start, shift);
        Assert.Equal(partitions, placed.Length);
        Assert.All(placed, r => Assert.Equal(rf, r.Distinct().Count()));

        var leaders = placed.GroupBy(r => r[0]).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(Math.Min(brokers, partitions), leaders.Count);
        Assert.True(leaders.Values.Max() - leaders.Values.Min() <= 1, "leaders: " + string.Join(", ", leaders));

        // Every broker carries about the same number of replicas (within one round of partitions).
        var load = placed.SelectMany(r => r).GroupBy(b => b).Select(g => g.Count()).ToList();
        Assert.True(load.Max() - load.Min() <= rf, "replica counts: " + string.Join(", ", load));
    }

    [Fact]
    public void The_followers_of_one_leaders_partitions_are_spread_over_the_other_brokers()
    {
        var placed = ReplicaPlacement.Assign(40, 2, Brokers(1, 2, 3, 4, 5), 0, 0);
        var followersOfOne = placed.Where(r => r[0] == 1).Select(r => r[1]).Distinct().ToList();
        Assert.Equal(4, followersOfOne.Count); // not always the next broker: a dead leader's load is shared
    }

    [Fact]
    public void With_racks_each_partition_covers_as_many_racks_as_it_can()
    {
        PlacementBroker[] brokers =
        [
            new(1, "a"), new(2, "a"), new(3, "b"), new(4, "b"), new(5, "c"), new(6, "c"),
        ];
        var placed = ReplicaPlacement.Assign(30, 3, brokers, 1, 2);
        var rackOf = brokers.ToDictionary(b => b.NodeId, b => b.Rack);
        Assert.All(placed, r => Assert.Equal(3, r.Select(id => rackOf[id]).Distinct().Count()));

        var twoRacks = ReplicaPlacement.Assign(30, 3, brokers[..4], 0, 0); // racks a and b only
        Assert.All(twoRacks, r =>
        {
            Assert.Equal(3, r.Distinct().Count());
            Assert.Equal(2, r.Select(id => rackOf[id]).Distinct().Count());
        });
    }

    [Fact]
    public void A_single_broker_holds_every_replica_list_alone()
    {
        var placed = ReplicaPlacement.Assign(3, 1, Brokers(7), 5, 9);
        Assert.All(placed, r => Assert.Equal([7], r));
    }

    [Fact]
    public void Impossible_requests_are_refused_with_the_reason()
    {
        Assert.Contains("outside 1..2", Assert.Throws<ArgumentException>(() => ReplicaPlacement.Assign(1, 3, Brokers(1, 2), 0, 0)).Message, StringComparison.Ordinal);
        Assert.Contains("outside 1..2", Assert.Throws<ArgumentException>(() => ReplicaPlacement.Assign(1, 0, Brokers(1, 2), 0, 0)).Message, StringComparison.Ordinal);
        Assert.Contains("No live brokers", Assert.Throws<ArgumentException>(() => ReplicaPlacement.Assign(1, 1, [], 0, 0)).Message, StringComparison.Ordinal);
        Assert.Contains("share a node id", Assert.Throws<ArgumentException>(() => ReplicaPlacement.Assign(1, 1, Brokers(1, 1), 0, 0)).Message, StringComparison.Ordinal);
        Assert.Contains("have no rack", Assert.Throws<ArgumentException>(() => ReplicaPlacement.Assign(1, 1, [new(1, "a"), new(2, null)], 0, 0)).Message, StringComparison.Ordinal);
    }
}
