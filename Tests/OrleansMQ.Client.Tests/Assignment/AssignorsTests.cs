using OrleansMQ.Client.Consumer.Assignment;
using OrleansMQ.Protocol;
using OrleansMQ.Protocol.Groups;
using OrleansMQ.Protocol.Kafka;
using Xunit;
using static OrleansMQ.Client.Tests.Assignment.AssignmentTestSupport;

namespace OrleansMQ.Client.Tests.Assignment;

public sealed class AssignorsTests
{
    private static GroupMemberMetadata Member(string id, ConsumerSubscription subscription, string? instance = null, short version = 3) =>
        new(id, instance, ConsumerProtocolCodec.EncodeSubscription(subscription, version));

    [Theory]
    [InlineData("range", typeof(RangeAssignor))]
    [InlineData("roundrobin", typeof(RoundRobinAssignor))]
    [InlineData("cooperative-sticky", typeof(CooperativeStickyAssignor))]
    public void Built_in_assignors_are_found_by_protocol_name(string name, Type type)
    {
        Assert.True(Assignors.TryGet(name, out var assignor));
        Assert.IsType(type, assignor);
        Assert.Same(assignor, Assignors.Get(name));
    }

    [Theory]
    [InlineData("Range")]
    [InlineData("sticky")]
    [InlineData("")]
    public void Unknown_names_are_not_found(string name)
    {
        Assert.False(Assignors.TryGet(name, out _));
        Assert.Throws<ArgumentException>(() => Assignors.Get(name));
    }

    [Fact]
    public void Default_strategy_is_range_then_cooperative_sticky()
    {
        Assert.Equal(["range", "cooperative-sticky"], Assignors.Default.Select(a => a.Name));
    }

    [Fact]
    public void Leader_decodes_assigns_and_encodes_for_every_member()
    {
        GroupMemberMetadata[] members =
        [
            Member("C1", new ConsumerSubscription(["t0", "t1"]), version: 0),
            Member("C0", new ConsumerSubscription(["t1", "t0"])),
            Member("idle", new ConsumerSubscription(["other"]), version: 1),
        ];

        var assignments = Assignors.AssignAsLeader("range", members, Topics(("t0", 3), ("t1", 3)));

        Assert.Equal(3, assignments.Count);
        Assert.Equal(["t0p0", "t0p1", "t1p0", "t1p1"], Names(ConsumerProtocolCodec.DecodeAssignment(assignments["C0"]).Partitions));
        Assert.Equal(["t0p2", "t1p2"], Names(ConsumerProtocolCodec.DecodeAssignment(assignments["C1"]).Partitions));
        Assert.Empty(ConsumerProtocolCodec.DecodeAssignment(assignments["idle"]).Partitions);
    }

    [Fact]
    public void Leader_accepts_join_group_response_members()
    {
        var members = new[]
        {
            new JoinGroupResponse.Member { MemberId = "a", Metadata = ConsumerProtocolCodec.EncodeSubscription(new ConsumerSubscription(["t"])) },
            new JoinGroupResponse.Member { MemberId = "b", GroupInstanceId = "static", Metadata = ConsumerProtocolCodec.EncodeSubscription(new ConsumerSubscription(["t"])) },
        };

        var assignments = Assignors.AssignAsLeader("roundrobin", members, Topics(("t", 3)));

        // The static member is dealt to first.
        Assert.Equal(["tp0", "tp2"], Names(ConsumerProtocolCodec.DecodeAssignment(assignments["b"]).Partitions));
        Assert.Equal(["tp1"], Names(ConsumerProtocolCodec.DecodeAssignment(assignments["a"]).Partitions));
    }

    [Fact]
    public void Leader_passes_owned_partitions_and_generation_to_cooperative_sticky()
    {
        GroupMemberMetadata[] members =
        [
            Member("a", new ConsumerSubscription(["t"]) { OwnedPartitions = [.. Partitions("t", 0, 1, 2, 3)], GenerationId = 4 }),
            Member("b", new ConsumerSubscription(["t"])),
        ];

        var assignments = Assignors.AssignAsLeader("cooperative-sticky", members, Topics(("t", 4)));

        // a keeps two of its four; the other two are revoked before b may have them.
        Assert.Equal(["tp0", "tp1"], Names(ConsumerProtocolCodec.DecodeAssignment(assignments["a"]).Partitions));
        Assert.Empty(ConsumerProtocolCodec.DecodeAssignment(assignments["b"]).Partitions);
    }

    [Fact]
    public void Decoded_subscriptions_carry_instance_id_and_user_data()
    {
        var subscriptions = Assignors.DecodeSubscriptions(
        [
            Member("a", new ConsumerSubscription(["t"]) { UserData = new byte[] { 7 }, GenerationId = 3 }, instance: "i-1"),
            Member("b", new ConsumerSubscription(["u", "t"])),
        ]);

        Assert.Equal("i-1", subscriptions["a"].GroupInstanceId);
        Assert.Equal(new byte[] { 7 }, subscriptions["a"].UserData.ToArray());
        Assert.Equal(3, subscriptions["a"].Generation);
        Assert.True(subscriptions["b"].UserData.IsEmpty);
        Assert.Equal(["t", "u"], Assignors.SubscribedTopics(subscriptions.Values));
    }

    [Fact]
    public void Bad_member_metadata_is_a_format_error_naming_the_member()
    {
        GroupMemberMetadata[] members = [new("broken", null, new byte[] { 0, 0, 0 })];

        var ex = Assert.Throws<FormatException>(() => Assignors.AssignAsLeader("range", members, Topics(("t", 1))));
        Assert.Contains("broken", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_member_ids_are_rejected()
    {
        GroupMemberMetadata[] members = [Member("a", new ConsumerSubscription(["t"])), Member("a", new ConsumerSubscription(["t"]))];

        Assert.Throws<ArgumentException>(() => Assignors.DecodeSubscriptions(members));
    }

    [Fact]
    public void Leader_rejects_a_cooperative_assignor_that_hands_over_an_owned_partition()
    {
        GroupMemberMetadata[] members =
        [
            Member("a", new ConsumerSubscription(["t"]) { OwnedPartitions = [Tp("t", 0)], GenerationId = 1 }),
            Member("b", new ConsumerSubscription(["t"])),
        ];
        var greedy = new FixedAssignor(RebalanceProtocol.Cooperative, new() { ["a"] = [], ["b"] = [Tp("t", 0)] });

        var ex = Assert.Throws<InvalidOperationException>(() => Assignors.AssignAsLeader(greedy, members, Topics(("t", 1))));
        Assert.Contains("still owns", ex.Message, StringComparison.Ordinal);

        // The same hand-over is fine for an eager assignor: everyone revoked before joining.
        var eager = new FixedAssignor(RebalanceProtocol.Eager, new() { ["a"] = [], ["b"] = [Tp("t", 0)] });
        Assert.Equal(2, Assignors.AssignAsLeader(eager, members, Topics(("t", 1))).Count);
    }

    [Fact]
    public void Leader_rejects_unknown_members_and_double_assignments()
    {
        GroupMemberMetadata[] members = [Member("a", new ConsumerSubscription(["t"]))];

        Assert.Throws<InvalidOperationException>(() => Assignors.AssignAsLeader(
            new FixedAssignor(RebalanceProtocol.Eager, new() { ["a"] = [], ["ghost"] = [Tp("t", 0)] }), members, Topics(("t", 1))));
        Assert.Throws<InvalidOperationException>(() => Assignors.AssignAsLeader(
            new FixedAssignor(RebalanceProtocol.Eager, new() { ["a"] = [Tp("t", 0), Tp("t", 0)] }), members, Topics(("t", 1))));
    }

    private sealed class FixedAssignor(RebalanceProtocol protocol, Dictionary<string, List<TopicPartition>> result) : IPartitionAssignor
    {
        public string Name => "fixed";

        public RebalanceProtocol Protocol => protocol;

        public IReadOnlyDictionary<string, List<TopicPartition>> Assign(
            IReadOnlyDictionary<string, int> partitionsPerTopic,
            IReadOnlyDictionary<string, MemberSubscription> subscriptions) => result;
    }
}
