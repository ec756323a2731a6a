using OrleansMQ.Protocol;

namespace OrleansMQ.Client.Consumer.Assignment;

/// <summary>
/// Kafka's <c>range</c> assignor: topic by topic, the members subscribed to the topic (in
/// <see cref="AssignorSupport.MemberOrder"/>) each take a contiguous range of its partitions;
/// with n partitions and m members every member gets n / m and the first n % m one more.
/// </summary>
/// <example>
/// Two members C0, C1 subscribed to t0 and t1 of three partitions each:
/// C0 = t0p0, t0p1, t1p0, t1p1 and C1 = t0p2, t1p2.
/// </example>
public sealed class RangeAssignor : IPartitionAssignor
{
    public const string AssignorName = "range";

    public string Name => AssignorName;

    public RebalanceProtocol Protocol => RebalanceProtocol.Eager;

    public IReadOnlyDictionary<string, List<TopicPartition>> Assign(
        IReadOnlyDictionary<string, int> partitionsPerTopic,
        IReadOnlyDictionary<string, MemberSubscription> subscriptions)
    {
        AssignorSupport.CheckArguments(partitionsPerTopic, subscriptions);
        var result = AssignorSupport.EmptyAssignment(subscriptions);

        var membersPerTopic = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (member, subscription) in subscriptions)
        {
            foreach (string topic in subscription.Topics.Distinct(StringComparer.Ordinal))
            {
                if (!membersPerTopic.TryGetValue(topic, out var members))
                {
                    members = [];
                    membersPerTopic.Add(topic, members);
                }

                members.Add(member);
            }
        }

        var order = AssignorSupport.MemberOrder(subscriptions);
        foreach (var (topic, members) in membersPerTopic)
        {
            if (!partitionsPerTopic.TryGetValue(topic, out int partitionCount) || partitionCount <= 0)
            {
                continue; // no metadata for the topic: nothing to assign
            }

            members.Sort(order);
            int perMember = partitionCount / members.Count;
            int withExtra = partitionCount % members.Count;
            for (int i = 0; i < members.Count; i++)
            {
                int start = (perMember * i) + Math.Min(i, withExtra);
                int length = perMember + (i < withExtra ? 1 : 0);
                var assigned = result[members[i]];
                for (int p = start; p < start + length; p++)
                {
                    assigned.Add(new TopicPartition(topic, p));
                }
            }
        }

        return result;
    }
}
