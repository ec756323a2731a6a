using System.Buffers.Binary;
using OrleansMQ.Protocol;

namespace OrleansMQ.Client.Consumer.Assignment;

/// <summary>
/// Kafka's <c>cooperative-sticky</c> assignor (KIP-429): balanced, sticky, and safe to apply while
/// members keep consuming.
/// </summary>
/// <remarks>
/// <para>The assignment is computed in four steps.</para>
/// <list type="number">
/// <item><b>Owners.</b> Each partition's owner is the member that claims it in its subscription with
/// the highest generation (a claim in an older generation loses to a newer one, as in Kafka). When
/// two members claim it in the same generation neither is trusted, and the partition is left
/// unassigned this round: both will drop it, and the next rebalance places it.</item>
/// <item><b>Stickiness.</b> Every owner still subscribed to the topic keeps the partition; the rest
/// go, fewest eligible members first, to the eligible member with the fewest partitions.</item>
/// <item><b>Balance.</b> While some member holds at least two more partitions than another member
/// subscribed to one of them, one such partition moves (partitions it did not own first). With
/// identical subscriptions this ends with counts within one of each other after the fewest moves
/// of owned partitions; with different subscriptions no single move can improve it.</item>
/// <item><b>Cooperation.</b> A partition placed on a member other than its owner is removed again: the
/// owner, not seeing it in its assignment, revokes it and rejoins, and the following rebalance
/// (where nobody owns it) gives it out.</item>
/// </list>
/// <para>
/// A member's generation is <see cref="MemberSubscription.Generation"/>; when that is unknown (-1,
/// subscriptions before v2) and the user data is exactly four bytes, those bytes are read as the
/// generation, which is what Kafka's Java assignor puts there for older leaders.
/// </para>
/// </remarks>
public sealed class CooperativeStickyAssignor : IPartitionAssignor
{
    public const string AssignorName = "cooperative-sticky";

    public string Name => AssignorName;

    public RebalanceProtocol Protocol => RebalanceProtocol.Cooperative;

    /// <summary>The four-byte user data Kafka's Java cooperative-sticky assignor sends: the generation.</summary>
    public static byte[] EncodeGenerationUserData(int generation)
    {
        byte[] bytes = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, generation);
        return bytes;
    }

    public IReadOnlyDictionary<string, List<TopicPartition>> Assign(
        IReadOnlyDictionary<string, int> partitionsPerTopic,
        IReadOnlyDictionary<string, MemberSubscription> subscriptions)
    {
        AssignorSupport.CheckArguments(partitionsPerTopic, subscriptions);
        var state = new State(partitionsPerTopic, subscriptions);
        state.KeepOwned(out var unassigned);
        state.Place(unassigned);
        state.Balance();
        return state.RevokeFirst();
    }

    private static int EffectiveGeneration(MemberSubscription subscription) =>
        subscription.Generation >= 0 ? subscription.Generation
        : subscription.UserData.Length == 4 ? BinaryPrimitives.ReadInt32BigEndian(subscription.UserData.Span)
        : -1;

    /// <summary>
    /// An owned partition's trusted owner, as an index into the sorted members (<see cref="Contested"/>
    /// when two members claim it in the same generation).
    /// </summary>
    private readonly record struct Claim(int Member, int Generation)
    {
        public const int Contested = -1;
    }

    /// <summary>One computation. Members are indices into the ordinally sorted member ids.</summary>
    private sealed class State
    {
        private readonly string[] _members;
        private readonly HashSet<string>[] _eligibleTopics;
        private readonly List<TopicPartition>[] _assigned;
        private readonly Dictionary<string, int[]> _subscribers = new(StringComparer.Ordinal);
        private readonly Dictionary<TopicPartition, Claim> _owners = [];
        private readonly List<TopicPartition> _partitions;

        public State(IReadOnlyDictionary<string, int> partitionsPerTopic, IReadOnlyDictionary<string, MemberSubscription> subscriptions)
        {
            _members = [.. subscriptions.Keys.Order(StringComparer.Ordinal)];
            _partitions = AssignorSupport.SubscribedPartitionsSorted(partitionsPerTopic, subscriptions);
            _eligibleTopics = new HashSet<string>[_members.Length];
            _assigned = new List<TopicPartition>[_members.Length];

            var subscribers = new Dictionary<string, List<int>>(StringComparer.Ordinal);
            for (int m = 0; m < _members.Length; m++)
            {
                _assigned[m] = [];
                var topics = new HashSet<string>(StringComparer.Ordinal);
                foreach (string topic in subscriptions[_members[m]].Topics)
                {
                    if (partitionsPerTopic.TryGetValue(topic, out int count) && count > 0 && topics.Add(topic))
                    {
                        if (!subscribers.TryGetValue(topic, out var list))
                        {
                            list = [];
                            subscribers.Add(topic, list);
                        }

                        list.Add(m); // in member order
                    }
                }

                _eligibleTopics[m] = topics;
            }

            foreach (var (topic, list) in subscribers)
            {
                _subscribers.Add(topic, [.. list]);
            }

            for (int m = 0; m < _members.Length; m++)
            {
                var subscription = subscriptions[_members[m]];
                int generation = EffectiveGeneration(subscription);
                foreach (var tp in subscription.OwnedPartitions ?? [])
                {
                    if (tp?.Topic is null || !partitionsPerTopic.TryGetValue(tp.Topic, out int count) || tp.Partition < 0 || tp.Partition >= count)
                    {
                        continue; // a partition that no longer exists
                    }

                    if (!_owners.TryGetValue(tp, out var current) || generation > current.Generation)
                    {
                        _owners[tp] = new Claim(m, generation);
                    }
                    else if (generation == current.Generation && current.Member != m)
                    {
                        _owners[tp] = new Claim(Claim.Contested, generation);
                    }
                }
            }
        }

        /// <summary>Step 2a: owners keep what they may still consume; the rest is returned.</summary>
        public void KeepOwned(out List<TopicPartition> unassigned)
        {
            unassigned = [];
            foreach (var tp in _partitions)
            {
                if (_owners.TryGetValue(tp, out var claim))
                {
                    if (claim.Member == Claim.Contested)
                    {
                        continue; // withheld this round
                    }

                    if (_eligibleTopics[claim.Member].Contains(tp.Topic))
                    {
                        _assigned[claim.Member].Add(tp);
                        continue;
                    }
                }

                unassigned.Add(tp);
            }
        }

        /// <summary>Step 2b: the rest to the least loaded eligible member, most constrained partitions first.</summary>
        public void Place(List<TopicPartition> unassigned)
        {
            foreach (var tp in unassigned.OrderBy(tp => _subscribers[tp.Topic].Length))
            {
                _assigned[LeastLoaded(_subscribers[tp.Topic])].Add(tp);
            }
        }

        /// <summary>Step 3: move partitions from heavy to light members until no single move helps.</summary>
        public void Balance()
        {
            int[] donors = [.. Enumerable.Range(0, _members.Length)];
            var lightest = new Dictionary<string, int>(StringComparer.Ordinal);
            Comparison<int> heaviestFirst = (a, b) =>
            {
                int byCount = _assigned[b].Count.CompareTo(_assigned[a].Count);
                return byCount != 0 ? byCount : a.CompareTo(b);
            };

            do
            {
                Array.Sort(donors, heaviestFirst);
                lightest.Clear();
            }
            while (TryMoveOne(donors, lightest));
        }

        /// <summary>Step 4: partitions placed away from their owner wait for the owner to revoke them.</summary>
        public Dictionary<string, List<TopicPartition>> RevokeFirst()
        {
            var result = new Dictionary<string, List<TopicPartition>>(_members.Length, StringComparer.Ordinal);
            for (int m = 0; m < _members.Length; m++)
            {
                int member = m;
                _assigned[m].RemoveAll(tp => _owners.TryGetValue(tp, out var claim) && claim.Member != member);
                _assigned[m].Sort(TopicPartition.Ordinal);
                result.Add(_members[m], _assigned[m]);
            }

            return result;
        }

        private bool TryMoveOne(int[] donors, Dictionary<string, int> lightest)
        {
            foreach (int donor in donors)
            {
                var partitions = _assigned[donor];
                if (partitions.Count < 2)
                {
                    return false; // donors are sorted: nobody below can be two ahead of anyone
                }

                // Partitions the donor did not own cost nothing to move; owned ones only if needed.
                for (int pass = 0; pass < 2; pass++)
                {
                    bool movingOwned = pass == 1;
                    for (int i = partitions.Count - 1; i >= 0; i--)
                    {
                        var tp = partitions[i];
                        bool owned = _owners.TryGetValue(tp, out var claim) && claim.Member == donor;
                        if (owned != movingOwned)
                        {
                            continue;
                        }

                        if (!lightest.TryGetValue(tp.Topic, out int target))
                        {
                            target = LeastLoaded(_subscribers[tp.Topic]);
                            lightest.Add(tp.Topic, target);
                        }

                        if (partitions.Count - _assigned[target].Count >= 2)
                        {
                            partitions.RemoveAt(i);
                            _assigned[target].Add(tp);
                            return true;
                        }
                    }
                }
            }

            return false;
        }

        /// <summary>The member with the fewest partitions (the first in member order on a tie).</summary>
        private int LeastLoaded(int[] candidates)
        {
            int best = candidates[0];
            for (int i = 1; i < candidates.Length; i++)
            {
                if (_assigned[candidates[i]].Count < _assigned[best].Count)
                {
                    best = candidates[i];
                }
            }

            return best;
        }
    }
}
