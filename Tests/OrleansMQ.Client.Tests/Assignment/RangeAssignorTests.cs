using OrleansMQ.Client.Consumer.Assignment;
using Xunit;
using static OrleansMQ.Client.Tests.Assignment.AssignmentTestSupport;

namespace OrleansMQ.Client.Tests.Assignment;

public sealed class RangeAssignorTests
{
    private readonly RangeAssignor _assignor = new();

    [Fact]
    public void Is_the_eager_range_protocol()
    {
        Assert.Equal("range", _assignor.Name);
        Assert.Equal(RebalanceProtocol.Eager, _assignor.Protocol);
    }

    [Fact]
    public void Kafka_documented_example_two_members_two_topics_of_three()
    {
        var result = _assignor.Assign(
            Topics(("t0", 3), ("t1", 3)),
            Members(("C0", Sub("t0", "t1")), ("C1", Sub("t0", "t1"))));

        Assert.Equal(["t0p0", "t0p1", "t1p0", "t1p1"], Names(result["C0"]));
        Assert.Equal(["t0p2", "t1p2"], Names(result["C1"]));
    }

    [Fact]
    public void First_n_mod_m_members_get_one_extra()
    {
        var result = _assignor.Assign(
            Topics(("t", 7)),
            Members(("c", Sub("t")), ("a", Sub("t")), ("b", Sub("t"))));

        Assert.Equal(["tp0", "tp1", "tp2"], Names(result["a"]));
        Assert.Equal(["tp3", "tp4"], Names(result["b"]));
        Assert.Equal(["tp5", "tp6"], Names(result["c"]));
    }

    [Fact]
    public void Each_topic_is_split_among_its_own_subscribers()
    {
        var result = _assignor.Assign(
            Topics(("t0", 3), ("t1", 2)),
            Members(("C0", Sub("t0")), ("C1", Sub("t0", "t1")), ("C2", Sub("t1"))));

        Assert.Equal(["t0p0", "t0p1"], Names(result["C0"]));
        Assert.Equal(["t0p2", "t1p0"], Names(result["C1"]));
        Assert.Equal(["t1p1"], Names(result["C2"]));
    }

    [Fact]
    public void More_members_than_partitions_leaves_the_last_ones_empty()
    {
        var result = _assignor.Assign(
            Topics(("t", 2)),
            Members(("a", Sub("t")), ("b", Sub("t")), ("c", Sub("t"))));

        Assert.Equal(["tp0"], Names(result["a"]));
        Assert.Equal(["tp1"], Names(result["b"]));
        Assert.Empty(result["c"]);
    }

    [Fact]
    public void Static_members_sort_first_by_instance_id()
    {
        var members = Members(
            ("a", Sub("t")),
            ("b", Sub(["t"], [], -1, instanceId: "z")),
            ("c", Sub(["t"], [], -1, instanceId: "y")));

        var result = _assignor.Assign(Topics(("t", 3)), members);

        Assert.Equal(["tp0"], Names(result["c"]));
        Assert.Equal(["tp1"], Names(result["b"]));
        Assert.Equal(["tp2"], Names(result["a"]));
    }

    [Fact]
    public void Topics_without_metadata_are_skipped_and_every_member_gets_an_entry()
    {
        var result = _assignor.Assign(
            Topics(("t", 2)),
            Members(("a", Sub("t", "unknown")), ("b", Sub("unknown")), ("c", Sub())));

        Assert.Equal(["tp0", "tp1"], Names(result["a"]));
        Assert.Empty(result["b"]);
        Assert.Empty(result["c"]);
        Assert.Equal(3, result.Count);
    }
}
