using System.Diagnostics.CodeAnalysis;
using OrleansMQ.Protocol;
using OrleansMQ.Protocol.Groups;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Client.Consumer.Assignment;

/// <summary>A group member as the JoinGroup response lists it to the leader.</summary>
/// <param name="MemberId">The member id the coordinator gave it.</param>
/// <param name="GroupInstanceId">Its static instance id, if any.</param>
/// <param name="Metadata">Its protocol metadata for the selected protocol: a consumer protocol subscription.</param>
public sealed record GroupMemberMetadata(string MemberId, string? GroupInstanceId, ReadOnlyMemory<byte> Metadata);

/// <summary>The built-in assignors, and the leader's step of a consumer group rebalance.</summary>
public static class Assignors
{
    public static IPartitionAssignor Range { get; } = new RangeAssignor();

    public static IPartitionAssignor RoundRobin { get; } = new RoundRobinAssignor();

    public static IPartitionAssignor CooperativeSticky { get; } = new CooperativeStickyAssignor();

    /// <summary>Every built-in assignor.</summary>
    public static IReadOnlyList<IPartitionAssignor> All { get; } = [Range, RoundRobin, CooperativeSticky];

    /// <summary>Kafka's default <c>partition.assignment.strategy</c>: range, then cooperative-sticky.</summary>
    public static IReadOnlyList<IPartitionAssignor> Default { get; } = [Range, CooperativeSticky];

    /// <summary>Finds a built-in assignor by its protocol name (exact, case-sensitive, as Kafka matches it).</summary>
    public static bool TryGet(string name, [NotNullWhen(true)] out IPartitionAssignor? assignor)
    {
        assignor = All.FirstOrDefault(a => string.Equals(a.Name, name, StringComparison.Ordinal));
        return assignor is not null;
    }

    /// <summary>Finds a built-in assignor by its protocol name.</summary>
    /// <exception cref="ArgumentException">No built-in assignor has that name.</exception>
    public static IPartitionAssignor Get(string name) =>
        TryGet(name, out var assignor)
            ? assignor
            : throw new ArgumentException($"Unknown partition assignor '{name}'; known: {string.Join(", ", All.Select(a => a.Name))}.", nameof(name));

    /// <summary>Decodes each member's metadata as a consumer protocol subscription.</summary>
    /// <exception cref="FormatException">A member's metadata is not a valid subscription.</exception>
    /// <exception cref="ArgumentException">Two entries share a member id.</exception>
    public static Dictionary<string, MemberSubscription> DecodeSubscriptions(IEnumerable<GroupMemberMetadata> members)
    {
        ArgumentNullException.ThrowIfNull(members);
        var result = new Dictionary<string, MemberSubscription>(StringComparer.Ordinal);
        foreach (var member in members)
        {
            ConsumerSubscription subscription;
            try
            {
                subscription = ConsumerProtocolCodec.DecodeSubscription(member.Metadata);
            }
            catch (FormatException ex)
            {
                throw new FormatException($"Member '{member.MemberId}': {ex.Message}", ex);
            }

            if (!result.TryAdd(member.MemberId, ToMemberSubscription(subscription, member.GroupInstanceId)))
            {
                throw new ArgumentException($"Member '{member.MemberId}' is listed twice.", nameof(members));
            }
        }

        return result;
    }

    /// <summary>The leader's view of one decoded subscription.</summary>
    public static MemberSubscription ToMemberSubscription(ConsumerSubscription subscription, string? groupInstanceId)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        return new MemberSubscription(
            subscription.Topics,
            subscription.OwnedPartitions,
            subscription.GenerationId,
            groupInstanceId,
            subscription.UserData ?? ReadOnlyMemory<byte>.Empty);
    }

    /// <summary>
    /// Every topic some member subscribes to, sorted: what the leader fetches metadata for before
    /// calling <see cref="AssignAsLeader(IPartitionAssignor, IReadOnlyList{GroupMemberMetadata}, IReadOnlyDictionary{string, int}, short)"/>.
    /// </summary>
    public static IReadOnlyList<string> SubscribedTopics(IEnumerable<MemberSubscription> subscriptions)
    {
        ArgumentNullException.ThrowIfNull(subscriptions);
        var topics = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var subscription in subscriptions)
        {
            topics.UnionWith(subscription.Topics);
        }

        return [.. topics];
    }

    /// <summary>
    /// The leader's step: decodes the members' subscriptions, runs the assignor named by the
    /// protocol the coordinator selected, and encodes one assignment per member (every member gets
    /// one, possibly empty) for the SyncGroup request.
    /// </summary>
    /// <exception cref="ArgumentException">No built-in assignor is named <paramref name="protocolName"/>.</exception>
    /// <exception cref="FormatException">A member's metadata is not a valid subscription.</exception>
    /// <exception cref="InvalidOperationException">The assignor broke its contract (see the other overload).</exception>
    public static Dictionary<string, byte[]> AssignAsLeader(
        string protocolName,
        IReadOnlyList<GroupMemberMetadata> members,
        IReadOnlyDictionary<string, int> partitionsPerTopic,
        short assignmentVersion = ConsumerProtocolCodec.HighestAssignmentVersion) =>
        AssignAsLeader(Get(protocolName), members, partitionsPerTopic, assignmentVersion);

    /// <summary>As the other overload, with the members straight from the JoinGroup response.</summary>
    public static Dictionary<string, byte[]> AssignAsLeader(
        string protocolName,
        IEnumerable<JoinGroupResponse.Member> members,
        IReadOnlyDictionary<string, int> partitionsPerTopic,
        short assignmentVersion = ConsumerProtocolCodec.HighestAssignmentVersion)
    {
        ArgumentNullException.ThrowIfNull(members);
        return AssignAsLeader(
            Get(protocolName),
            [.. members.Select(m => new GroupMemberMetadata(m.MemberId, m.GroupInstanceId, m.Metadata))],
            partitionsPerTopic,
            assignmentVersion);
    }

    /// <summary>
    /// The leader's step with a given assignor (a custom one included). The result is checked: no
    /// unknown members, no partition given twice and, for a cooperative assignor, no partition given
    /// to one member while another must revoke it (Kafka's leader makes the same check).
    /// </summary>
    /// <exception cref="FormatException">A member's metadata is not a valid subscription.</exception>
    /// <exception cref="InvalidOperationException">The assignor broke its contract.</exception>
    public static Dictionary<string, byte[]> AssignAsLeader(
        IPartitionAssignor assignor,
        IReadOnlyList<GroupMemberMetadata> members,
        IReadOnlyDictionary<string, int> partitionsPerTopic,
        short assignmentVersion = ConsumerProtocolCodec.HighestAssignmentVersion)
    {
        ArgumentNullException.ThrowIfNull(assignor);
        ArgumentNullException.ThrowIfNull(partitionsPerTopic);
        var subscriptions = DecodeSubscriptions(members);
        var assignment = assignor.Assign(partitionsPerTopic, subscriptions);
        Validate(assignor, subscriptions, assignment);

        var result = new Dictionary<string, byte[]>(subscriptions.Count, StringComparer.Ordinal);
        foreach (string member in subscriptions.Keys)
        {
            IReadOnlyList<TopicPartition> partitions = assignment.TryGetValue(member, out var assigned) ? assigned : [];
            result.Add(member, ConsumerProtocolCodec.EncodeAssignment(new ConsumerAssignment(partitions), assignmentVersion));
        }

        return result;
    }

    private static void Validate(
        IPartitionAssignor assignor,
        Dictionary<string, MemberSubscription> subscriptions,
        IReadOnlyDictionary<string, List<TopicPartition>> assignment)
    {
        var assignedTo = new Dictionary<TopicPartition, string>();
        foreach (var (member, partitions) in assignment)
        {
            if (!subscriptions.ContainsKey(member))
            {
                throw new InvalidOperationException($"Assignor '{assignor.Name}' assigned partitions to unknown member '{member}'.");
            }

            foreach (var tp in partitions)
            {
                if (!assignedTo.TryAdd(tp, member))
                {
                    throw new InvalidOperationException($"Assignor '{assignor.Name}' assigned {tp} to both '{assignedTo[tp]}' and '{member}'.");
                }
            }
        }

        if (assignor.Protocol != RebalanceProtocol.Cooperative)
        {
            return;
        }

        // A partition a member owned and now loses must not go to another member in the same round.
        foreach (var (member, subscription) in subscriptions)
        {
            foreach (var tp in subscription.OwnedPartitions)
            {
                if (assignedTo.TryGetValue(tp, out string? newOwner) && newOwner != member && !OwnedBy(subscriptions, newOwner, tp))
                {
                    throw new InvalidOperationException(
                        $"Assignor '{assignor.Name}' gave {tp} to '{newOwner}' while '{member}' still owns it; a cooperative assignor must leave it unassigned until it is revoked.");
                }
            }
        }
    }

    private static bool OwnedBy(Dictionary<string, MemberSubscription> subscriptions, string member, TopicPartition tp) =>
        subscriptions[member].OwnedPartitions.Contains(tp);
}
