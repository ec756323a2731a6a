using OrleansMQ.Client.Consumer.Assignment;
using OrleansMQ.Protocol;
using Xunit;

namespace OrleansMQ.Client.Tests.Assignment;

/// <summary>
/// A consumer group as the leader's assignor sees it across rebalances: members join (owning
/// nothing, generation -1) or leave, and after each rebalance every member owns exactly what it was
/// assigned (revoking the rest) and moves to the new generation. Every round is checked for the
/// invariants of a safe assignment.
/// </summary>
internal sealed class SimulatedGroup(IPartitionAssignor assignor, Dictionary<string, int> partitionsPerTopic)
{
    private readonly SortedDictionary<string, Member> _members = new(StringComparer.Ordinal);

    public Dictionary<string, int> PartitionsPerTopic { get; } = partitionsPerTopic;

    public int Generation { get; private set; }

    public IEnumerable<string> MemberIds => _members.Keys;

    public void Join(string memberId, params string[] topics) => Join(memberId, topics, [], -1);

    public void Join(string memberId, string[] topics, IEnumerable<TopicPartition> owned, int generation) =>
        _members.Add(memberId, new Member(topics, [.. owned], generation));

    public void Leave(string memberId) => Assert.True(_members.Remove(memberId));

    public IReadOnlyList<TopicPartition> Owned(string memberId) => _members[memberId].Owned;

    public IReadOnlyList<string> Topics(string memberId) => _members[memberId].Topics;

    public Dictionary<string, MemberSubscription> Subscriptions() =>
        _members.ToDictionary(
            m => m.Key,
            m => new MemberSubscription(m.Value.Topics, [.. m.Value.Owned], m.Value.Generation, null, ReadOnlyMemory<byte>.Empty),
            StringComparer.Ordinal);

    /// <summary>Runs one rebalance, checks it, and applies it.</summary>
    public Round Rebalance()
    {
        var subscriptions = Subscriptions();
        var assignment = assignor.Assign(PartitionsPerTopic, subscriptions);
        CheckSafe(subscriptions, assignment);

        var revoked = new Dictionary<string, List<TopicPartition>>(StringComparer.Ordinal);
        var added = new Dictionary<string, List<TopicPartition>>(StringComparer.Ordinal);
        Generation++;
        foreach (var (id, member) in _members.ToList())
        {
            var assigned = assignment[id];
            revoked[id] = [.. member.Owned.Except(assigned)];
            added[id] = [.. assigned.Except(member.Owned)];
            _members[id] = new Member(member.Topics, [.. assigned], Generation);
        }

        return new Round(assignment.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<TopicPartition>)kv.Value), revoked, added);
    }

    /// <summary>Partitions nobody holds although some member subscribes to their topic.</summary>
    public List<TopicPartition> Unassigned()
    {
        var held = _members.Values.SelectMany(m => m.Owned).ToHashSet();
        var wanted = _members.Values.SelectMany(m => m.Topics).Distinct().Where(PartitionsPerTopic.ContainsKey);
        return [.. wanted.SelectMany(t => Enumerable.Range(0, PartitionsPerTopic[t]).Select(p => new TopicPartition(t, p))).Where(tp => !held.Contains(tp))];
    }

    /// <summary>
    /// Each partition at most once, only to a member subscribed to its topic, never to a member
    /// while another member still claims it, and an entry for every member.
    /// </summary>
    private void CheckSafe(
        Dictionary<string, MemberSubscription> subscriptions,
        IReadOnlyDictionary<string, List<TopicPartition>> assignment)
    {
        Assert.Equal(subscriptions.Keys.Order(StringComparer.Ordinal), assignment.Keys.Order(StringComparer.Ordinal));
        var seen = new Dictionary<TopicPartition, string>();
        foreach (var (member, partitions) in assignment)
        {
            foreach (var tp in partitions)
            {
                Assert.True(seen.TryAdd(tp, member), $"{tp} assigned to both {(seen.TryGetValue(tp, out var o) ? o : "?")} and {member}");
                Assert.Contains(tp.Topic, subscriptions[member].Topics);
                Assert.InRange(tp.Partition, 0, PartitionsPerTopic[tp.Topic] - 1);
                foreach (var (other, subscription) in subscriptions)
                {
                    Assert.False(
                        other != member && subscription.OwnedPartitions.Contains(tp),
                        $"{tp} assigned to {member} while {other} still owns it");
                }
            }
        }
    }

    private sealed record Member(string[] Topics, List<TopicPartition> Owned, int Generation);
}

internal sealed record Round(
    Dictionary<string, IReadOnlyList<TopicPartition>> Assignment,
    Dictionary<string, List<TopicPartition>> Revoked,
    Dictionary<string, List<TopicPartition>> Added)
{
    public int RevokedCount => Revoked.Values.Sum(r => r.Count);

    public int Count(string member) => Assignment[member].Count;
}
