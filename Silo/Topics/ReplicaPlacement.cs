using Orleans;

namespace OrleansMQ.Silo.Topics;

/// <summary>A broker a replica can be placed on: its stable node id and, when configured, its rack.</summary>
[GenerateSerializer, Immutable]
public readonly record struct PlacementBroker([property: Id(0)] int NodeId, [property: Id(1)] string? Rack);

/// <summary>
/// Where each partition's replicas go (issue 14, item 1), the way Kafka places them, so users'
/// expectations carry over: the first replica (the preferred leader) walks the brokers round
/// robin from a start index, so leaders spread evenly; the followers of a partition follow its
/// leader at a shift that grows each time the partitions wrap around the broker list, so the
/// followers of one broker's partitions spread too. With racks, the broker list alternates racks
/// and a replica goes to a rack that holds none of the partition's replicas while one is left.
/// Pure: the topic grain calls it with the live brokers and keeps the result in its state.
/// </summary>
public static class ReplicaPlacement
{
    /// <summary>
    /// The replica lists, one per partition, leader first. <paramref name="startIndex"/> and
    /// <paramref name="startShift"/> pick where the walk begins (the grain passes random values,
    /// as Kafka does, so topics created one after another do not all lead on the same broker).
    /// </summary>
    /// <exception cref="ArgumentException">
    /// No brokers, duplicate node ids, a replication factor outside 1..brokers, or racks set on
    /// some brokers but not all (rack-aware placement needs every broker's rack).
    /// </exception>
    public static int[][] Assign(int partitions, int replicationFactor, IReadOnlyList<PlacementBroker> brokers, int startIndex, int startShift)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(partitions);
        ArgumentNullException.ThrowIfNull(brokers);
        if (brokers.Count == 0)
        {
            throw new ArgumentException("No live brokers to place replicas on.", nameof(brokers));
        }

        if (brokers.Select(b => b.NodeId).Distinct().Count() != brokers.Count)
        {
            throw new ArgumentException("Two brokers share a node id.", nameof(brokers));
        }

        if (replicationFactor < 1 || replicationFactor > brokers.Count)
        {
            throw new ArgumentException($"Replication factor {replicationFactor} is outside 1..{brokers.Count} (the live brokers).", nameof(replicationFactor));
        }

        int withRack = brokers.Count(b => !string.IsNullOrEmpty(b.Rack));
        if (withRack != 0 && withRack != brokers.Count)
        {
            throw new ArgumentException($"{brokers.Count - withRack} of {brokers.Count} brokers have no rack: set OrleansMQ:Broker:Rack on every silo or on none.", nameof(brokers));
        }

        var ordered = withRack == 0 ? [.. brokers.OrderBy(b => b.NodeId)] : RackAlternated(brokers);
        int racks = withRack == 0 ? 1 : brokers.Select(b => b.Rack).Distinct(StringComparer.Ordinal).Count();
        int n = ordered.Length;
        int start = Mod(startIndex, n);
        int shift = Mod(startShift, n);
        var result = new int[partitions][];
        for (int p = 0; p < partitions; p++)
        {
            if (p > 0 && p % n == 0)
            {
                shift++; // one round of leaders done: followers move one step further from their leader
            }

            int first = (start + p) % n;
            result[p] = withRack == 0
                ? Plain(ordered, first, shift, replicationFactor)
                : RackAware(ordered, first, shift * racks, replicationFactor, racks);
        }

        return result;
    }

    private static int[] Plain(PlacementBroker[] ordered, int first, int shift, int replicationFactor)
    {
        var replicas = new int[replicationFactor];
        replicas[0] = ordered[first].NodeId;
        for (int j = 1; j < replicationFactor; j++)
        {
            replicas[j] = ordered[FollowerIndex(first, shift, j - 1, ordered.Length)].NodeId;
        }

        return replicas;
    }

    private static int[] RackAware(PlacementBroker[] ordered, int first, int shift, int replicationFactor, int racks)
    {
        var replicas = new List<int>(replicationFactor) { ordered[first].NodeId };
        var usedRacks = new HashSet<string>(StringComparer.Ordinal) { ordered[first].Rack! };
        var usedBrokers = new HashSet<int> { ordered[first].NodeId };
        for (int k = 0; replicas.Count < replicationFactor; k++)
        {
            var candidate = ordered[FollowerIndex(first, shift, k, ordered.Length)];

            // A new rack while one is left, and a new broker while one is left.
            if ((!usedRacks.Contains(candidate.Rack!) || usedRacks.Count == racks)
                && (!usedBrokers.Contains(candidate.NodeId) || usedBrokers.Count == ordered.Length))
            {
                replicas.Add(candidate.NodeId);
                usedRacks.Add(candidate.Rack!);
                usedBrokers.Add(candidate.NodeId);
            }
        }

        return [.. replicas];
    }

    /// <summary>The k-th follower candidate after the leader at <paramref name="first"/>: never the leader itself (n ≥ 2).</summary>
    private static int FollowerIndex(int first, int shift, int k, int n) =>
        n == 1 ? first : (first + 1 + ((shift + k) % (n - 1))) % n;

    /// <summary>The brokers ordered so that consecutive entries are on different racks (rack by rack, round robin).</summary>
    private static PlacementBroker[] RackAlternated(IReadOnlyList<PlacementBroker> brokers)
    {
        var byRack = brokers.GroupBy(b => b.Rack!, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new Queue<PlacementBroker>(g.OrderBy(b => b.NodeId)))
            .ToList();
        var result = new List<PlacementBroker>(brokers.Count);
        while (result.Count < brokers.Count)
        {
            foreach (var rack in byRack)
            {
                if (rack.TryDequeue(out var broker))
                {
                    result.Add(broker);
                }
            }
        }

        return [.. result];
    }

    private static int Mod(int value, int n) => ((value % n) + n) % n;
}
