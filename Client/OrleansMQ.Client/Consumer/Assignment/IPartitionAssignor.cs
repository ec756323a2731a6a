using OrleansMQ.Protocol;

namespace OrleansMQ.Client.Consumer.Assignment;

/// <summary>
/// A client-side partition assignment strategy, run by the group leader. <see cref="Name"/> is the
/// protocol name sent in JoinGroup (and so must match what other clients call the same strategy).
/// </summary>
public interface IPartitionAssignor
{
    /// <summary>The JoinGroup protocol name, e.g. <c>range</c>.</summary>
    string Name { get; }

    /// <summary>Whether members may keep their partitions while the group rebalances.</summary>
    RebalanceProtocol Protocol { get; }

    /// <summary>
    /// Assigns the partitions of the subscribed topics to the members. Topics missing from
    /// <paramref name="partitionsPerTopic"/> (no metadata) are skipped. The result has an entry,
    /// possibly empty, for every member of <paramref name="subscriptions"/>.
    /// </summary>
    /// <param name="partitionsPerTopic">Partition count per topic.</param>
    /// <param name="subscriptions">Each member's subscription, keyed by member id.</param>
    IReadOnlyDictionary<string, List<TopicPartition>> Assign(
        IReadOnlyDictionary<string, int> partitionsPerTopic,
        IReadOnlyDictionary<string, MemberSubscription> subscriptions);
}
