using OrleansMQ.Client.Consumer.Assignment;
using Xunit;
using static OrleansMQ.Client.Tests.Assignment.AssignmentTestSupport;

namespace OrleansMQ.Client.Tests.Assignment;

public sealed class RoundRobinAssignorTests
{
    private readonly RoundRobinAssignor _assignor = new();

    [Fact]
    public void Is_the_eager_roundrobin_protocol()
    {
        Assert.Equal("roundrobin", _assignor.Name);
        Assert.Equal(RebalanceProtocol.Eager, _assignor.Protocol);
    }

    [Fact]
    public void Kafka_documented_example_two_members_two_topics_of_three()
    {
        var result = _assignor.Assign(
            Topics(("t1", 3), ("t0", 3)),
            Members(("C1", Sub("t1", "t0")), ("C0", Sub("t0", "t1"))));

        Assert.Equal(["t0p0", "t0p2", "t1p1"], Names(result["C0"]));
        Assert.Equal(["t0p1", "t1p0", "t1p2"], Names(result["C1"]));
    }

    [Fact]
    public void Kafka_documented_example_with_uneven_subscriptions()
    {
        // C0 follows t0; C1 t0, t1; C2 t0, t1, t2. t0 has 1 partition, t1 2, t2 3.
        var result = _assignor.Assign(
            Topics(("t0", 1), ("t1", 2), ("t2", 3)),
            Members(("C0", Sub("t0")), ("C1", Sub("t0", "t1")), ("C2", Sub("t0", "t1", "t2"))));

        Assert.Equal(["t0p0"], Names(result["C0"]));
        Assert.Equal(["t1p0"], Names(result["C1"]));
        Assert.Equal(["t1p1", "t2p0", "t2p1", "t2p2"], Names(result["C2"]));
    }

    [Fact]
    public void Members_not_subscribed_are_skipped_and_the_deal_continues_after_the_taker()
    {
        // t0 is only followed by b, so a is skipped twice (and c once); t1 then resumes at c.
        var result = _assignor.Assign(
            Topics(("t0", 2), ("t1", 3)),
            Members(("a", Sub("t1")), ("b", Sub("t0", "t1")), ("c", Sub("t1"))));

        Assert.Equal(["t0p0", "t0p1", "t1p2"], Names(result["b"]));
        Assert.Equal(["t1p0"], Names(result["c"]));
        Assert.Equal(["t1p1"], Names(result["a"]));
    }

    [Fact]
    public void Static_members_are_dealt_to_first()
    {
        var members = Members(("a", Sub("t")), ("b", Sub(["t"], [], -1, instanceId: "s")));

        var result = _assignor.Assign(Topics(("t", 3)), members);

        Assert.Equal(["tp0", "tp2"], Names(result["b"]));
        Assert.Equal(["tp1"], Names(result["a"]));
    }

    [Fact]
    public void Topics_without_metadata_and_members_without_topics()
    {
        var result = _assignor.Assign(Topics(("t", 1)), Members(("a", Sub("gone")), ("b", Sub("t"))));

        Assert.Empty(result["a"]);
        Assert.Equal(["tp0"], Names(result["b"]));
    }
}
