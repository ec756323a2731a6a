using OrleansMQ.Protocol;

namespace OrleansMQ.Client.Consumer.Assignment;

/// <summary>Pieces the built-in assignors share.</summary>
internal static class AssignorSupport
{
    /// <summary>An empty assignment for every member.</summary>
    public static Dictionary<string, List<TopicPartition>> EmptyAssignment(IReadOnlyDictionary<string, MemberSubscription> subscriptions)
    {
        var result = new Dictionary<string, List<TopicPartition>>(subscriptions.Count, StringComparer.Ordinal);
        foreach (string member in subscriptions.Keys)
        {
            result.Add(member, []);
        }

        return result;
    }

    /// <summary>
    /// Kafka's member order for range and round robin: static members (group instance id) first,
    /// by instance id; then dynamic members by member id. Ordinal, as Java compares strings.
    /// </summary>
    public static Comparison<string> MemberOrder(IReadOnlyDictionary<string, MemberSubscription> subscriptions) => (a, b) =>
    {
        string? ia = subscriptions[a].GroupInstanceId;
        string? ib = subscriptions[b].GroupInstanceId;
        if (ia is not null && ib is not null)
        {
            int byInstance = string.CompareOrdinal(ia, ib);
            return byInstance != 0 ? byInstance : string.CompareOrdinal(a, b);
        }

        if (ia is not null)
        {
            return -1;
        }

        if (ib is not null)
        {
            return 1;
        }

        return string.CompareOrdinal(a, b);
    };

    /// <summary>Every partition of every topic some member subscribes to and that has metadata, sorted.</summary>
    public static List<TopicPartition> SubscribedPartitionsSorted(
        IReadOnlyDictionary<string, int> partitionsPerTopic,
        IReadOnlyDictionary<string, MemberSubscription> subscriptions)
    {
        var topics = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var subscription in subscriptions.Values)
        {
            topics.UnionWith(subscription.Topics);
        }

        var result = new List<TopicPartition>();
        foreach (string topic in topics)
        {
            if (partitionsPerTopic.TryGetValue(topic, out int count))
            {
                for (int p = 0; p < count; p++)
                {
                    result.Add(new TopicPartition(topic, p));
                }
            }
        }

        return result;
    }

    public static void CheckArguments(
        IReadOnlyDictionary<string, int> partitionsPerTopic,
        IReadOnlyDictionary<string, MemberSubscription> subscriptions)
    {
        ArgumentNullException.ThrowIfNull(partitionsPerTopic);
        ArgumentNullException.ThrowIfNull(subscriptions);
        foreach (var (member, subscription) in subscriptions)
        {
            if (subscription?.Topics is null)
            {
                throw new ArgumentException($"Member '{member}' has no subscription.", nameof(subscriptions));
            }
        }
    }
}
