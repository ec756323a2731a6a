using OrleansMQ.Protocol;

namespace OrleansMQ.Client.Consumer.Assignment;

/// <summary>
/// Kafka's <c>roundrobin</c> assignor: every subscribed topic-partition, sorted by topic then
/// partition, is dealt in turn to the members (in <see cref="AssignorSupport.MemberOrder"/>),
/// cycling on; a member not subscribed to the partition's topic is skipped.
/// </summary>
/// <example>
/// Two members C0, C1 subscribed to t0 and t1 of three partitions each:
/// C0 = t0p0, t0p2, t1p1 and C1 = t0p1, t1p0, t1p2.
/// </example>
public sealed class RoundRobinAssignor : IPartitionAssignor
{
    public const string AssignorName = "roundrobin";

    public string Name => AssignorName;

    public RebalanceProtocol Protocol => RebalanceProtocol.Eager;

    public IReadOnlyDictionary<string, List<TopicPartition>> Assign(
        IReadOnlyDictionary<string, int> partitionsPerTopic,
        IReadOnlyDictionary<string, MemberSubscription> subscriptions)
    {
        AssignorSupport.CheckArguments(partitionsPerTopic, subscriptions);
        var result = AssignorSupport.EmptyAssignment(subscriptions);
        if (subscriptions.Count == 0)
        {
            return result;
        }

        var members = subscriptions.Keys.ToList();
        members.Sort(AssignorSupport.MemberOrder(subscriptions));
        var topicsOf = members.ToDictionary(m => m, m => subscriptions[m].Topics.ToHashSet(StringComparer.Ordinal), StringComparer.Ordinal);

        int next = 0;
        foreach (var partition in AssignorSupport.SubscribedPartitionsSorted(partitionsPerTopic, subscriptions))
        {
            // Some member subscribes to every listed topic, so this stops within one lap.
            while (!topicsOf[members[next]].Contains(partition.Topic))
            {
                next = (next + 1) % members.Count;
            }

            result[members[next]].Add(partition);
            next = (next + 1) % members.Count;
        }

        return result;
    }
}
