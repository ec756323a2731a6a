using OrleansMQ.Client.Consumer.Assignment;
using OrleansMQ.Protocol;
using Xunit;

namespace OrleansMQ.Client.Tests.Assignment;

/// <summary>
/// Seeded random groups for the cooperative-sticky assignor. Every round (checked by
/// <see cref="SimulatedGroup"/>) assigns each partition at most once and never to a member while
/// another still owns it; with identical subscriptions the first rebalance revokes the fewest
/// partitions possible and the follow-up leaves every partition assigned, counts within one, and
/// nothing more to revoke.
/// </summary>
public sealed class CooperativeStickyPropertyTests
{
    private readonly CooperativeStickyAssignor _assignor = new();

    public static TheoryData<int> Seeds()
    {
        var seeds = new TheoryData<int>();
        for (int seed = 1; seed <= 40; seed++)
        {
            seeds.Add(seed * 7919);
        }

        return seeds;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Identical_subscriptions_balance_after_one_follow_up_with_minimal_revocations(int seed)
    {
        var rng = new Random(seed);
        for (int scenario = 0; scenario < 25; scenario++)
        {
            var topics = RandomTopics(rng);
            string[] subscribed = [.. topics.Keys];
            var group = new SimulatedGroup(_assignor, topics);
            var members = RandomMemberIds(rng, rng.Next(1, 9));
            int total = topics.Values.Sum();

            // Disjoint random ownership, as left by earlier rebalances and departed members;
            // some members are new and own nothing.
            var owned = members.ToDictionary(m => m, _ => new List<TopicPartition>());
            var departed = new List<TopicPartition>();
            foreach (var tp in AssignmentTestSupport.AllPartitions(topics))
            {
                int pick = rng.Next(members.Count + 2);
                (pick < members.Count ? owned[members[pick]] : departed).Add(tp);
            }

            foreach (string member in members)
            {
                bool isNew = owned[member].Count == 0 || rng.Next(5) == 0;
                group.Join(member, subscribed, isNew ? [] : owned[member], isNew ? -1 : 10);
                if (isNew)
                {
                    owned[member].Clear();
                }
            }

            var first = group.Rebalance();
            Assert.Equal(MinimalRevocations([.. members.Select(m => owned[m].Count)], total), first.RevokedCount);
            foreach (string member in members)
            {
                // Nothing is handed over in the round that revokes: members only gain unowned partitions.
                Assert.All(first.Added[member], tp => Assert.DoesNotContain(members, m => owned[m].Contains(tp)));
            }

            var follow = group.Rebalance();
            Assert.Equal(0, follow.RevokedCount);
            Assert.Empty(group.Unassigned());
            var counts = members.Select(follow.Count).ToList();
            Assert.True(counts.Max() - counts.Min() <= 1, $"seed {seed} scenario {scenario}: counts {string.Join(",", counts)}");

            // A further rebalance with nothing changed is a no-op.
            var steady = group.Rebalance();
            Assert.Equal(0, steady.RevokedCount);
            Assert.All(members, m => Assert.Empty(steady.Added[m]));
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Changing_membership_over_many_rebalances_stays_safe_and_balanced(int seed)
    {
        var rng = new Random(seed);
        var topics = RandomTopics(rng);
        string[] subscribed = [.. topics.Keys];
        var group = new SimulatedGroup(_assignor, topics);
        int next = 0;
        group.Join($"m{next++:D2}", subscribed);

        for (int step = 0; step < 30; step++)
        {
            var ids = group.MemberIds.ToList();
            int change = rng.Next(3);
            if (change == 0 || ids.Count == 1)
            {
                group.Join($"m{rng.Next(100):D2}-{next++}", subscribed);
            }
            else if (change == 1)
            {
                group.Leave(ids[rng.Next(ids.Count)]);
            }
            else
            {
                // Partitions are added to a topic.
                string topic = subscribed[rng.Next(subscribed.Length)];
                topics[topic] += rng.Next(1, 4);
            }

            var round = group.Rebalance();
            if (round.RevokedCount > 0)
            {
                Assert.Equal(0, group.Rebalance().RevokedCount);
            }

            Assert.Empty(group.Unassigned());
            var counts = group.MemberIds.Select(m => group.Owned(m).Count).ToList();
            Assert.True(counts.Max() - counts.Min() <= 1, $"seed {seed} step {step}: counts {string.Join(",", counts)}");
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Different_subscriptions_stay_safe_and_converge_to_a_local_balance(int seed)
    {
        var rng = new Random(seed);
        for (int scenario = 0; scenario < 15; scenario++)
        {
            var topics = RandomTopics(rng);
            string[] names = [.. topics.Keys];
            var group = new SimulatedGroup(_assignor, topics);
            var members = RandomMemberIds(rng, rng.Next(1, 7));
            var all = AssignmentTestSupport.AllPartitions(topics).ToList();
            var owner = all.ToDictionary(tp => tp, _ => rng.Next(members.Count + 1));
            foreach (var (member, index) in members.Select((m, i) => (m, i)))
            {
                // A random non-empty subset of topics; owned partitions may lie outside it.
                string[] mine = [.. names.Where(_ => rng.Next(2) == 0)];
                if (mine.Length == 0)
                {
                    mine = [names[rng.Next(names.Length)]];
                }

                group.Join(member, mine, all.Where(tp => owner[tp] == index), 5);
            }

            int rounds = 0;
            while (true)
            {
                var round = group.Rebalance();
                rounds++;
                if (round.RevokedCount == 0 && group.Unassigned().Count == 0)
                {
                    break;
                }

                Assert.True(rounds < 6, $"seed {seed} scenario {scenario}: no convergence after {rounds} rebalances");
            }

            // No partition could move to a member subscribed to its topic and make things better.
            foreach (string member in members)
            {
                foreach (var tp in group.Owned(member))
                {
                    foreach (string other in members.Where(o => group.Topics(o).Contains(tp.Topic)))
                    {
                        Assert.True(
                            group.Owned(member).Count - group.Owned(other).Count <= 1,
                            $"seed {seed} scenario {scenario}: {tp} on {member} could go to {other}");
                    }
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Conflicting_claims_never_produce_a_double_or_unsafe_assignment(int seed)
    {
        var rng = new Random(seed);
        for (int scenario = 0; scenario < 25; scenario++)
        {
            var topics = RandomTopics(rng);
            string[] subscribed = [.. topics.Keys];
            var members = RandomMemberIds(rng, rng.Next(2, 7));
            var all = AssignmentTestSupport.AllPartitions(topics).ToList();

            // Overlapping claims with random generations (including unknown, -1).
            var subscriptions = members.ToDictionary(
                m => m,
                _ => new MemberSubscription(subscribed, [.. all.Where(_ => rng.Next(3) == 0)], rng.Next(-1, 4), null, ReadOnlyMemory<byte>.Empty),
                StringComparer.Ordinal);

            var result = _assignor.Assign(topics, subscriptions);

            var seen = new HashSet<TopicPartition>();
            foreach (var (member, partitions) in result)
            {
                foreach (var tp in partitions)
                {
                    Assert.True(seen.Add(tp), $"{tp} assigned twice");

                    // The assignee is either unopposed or the single claimant of the highest generation.
                    var claims = subscriptions.Where(s => s.Value.OwnedPartitions.Contains(tp)).ToList();
                    if (claims.Count > 0)
                    {
                        int top = claims.Max(c => c.Value.Generation);
                        var winners = claims.Where(c => c.Value.Generation == top).Select(c => c.Key).ToList();
                        Assert.Equal([member], winners);
                    }
                }
            }

            // Partitions nobody claims are always handed out.
            var claimed = subscriptions.Values.SelectMany(s => s.OwnedPartitions).ToHashSet();
            Assert.All(all.Where(tp => !claimed.Contains(tp)), tp => Assert.Contains(tp, seen));
        }
    }

    /// <summary>
    /// The fewest owned partitions any balanced assignment takes away: the members owning most get
    /// the n % m larger shares.
    /// </summary>
    private static int MinimalRevocations(List<int> ownedCounts, int total)
    {
        int members = ownedCounts.Count;
        int share = total / members;
        int larger = total % members;
        return ownedCounts
            .OrderDescending()
            .Select((owned, i) => Math.Max(0, owned - (i < larger ? share + 1 : share)))
            .Sum();
    }

    private static Dictionary<string, int> RandomTopics(Random rng)
    {
        var topics = new Dictionary<string, int>(StringComparer.Ordinal);
        int count = rng.Next(1, 5);
        for (int i = 0; i < count; i++)
        {
            topics[$"topic-{(char)('a' + rng.Next(26))}{i}"] = rng.Next(1, 13);
        }

        return topics;
    }

    private static List<string> RandomMemberIds(Random rng, int count) =>
        [.. Enumerable.Range(0, count).Select(i => $"consumer-{rng.Next(1000):D3}-{i}")];
}
