using System.Diagnostics;
using OrleansMQ.Protocol.Groups;
using OrleansMQ.Silo.Groups;
using OrleansMQ.Silo.Tests.Broker;
using Xunit;

namespace OrleansMQ.Silo.Tests.Interop;

/// <summary>
/// What the consumer-group interop tests check from the broker side, the way an operator would
/// (kafka-consumer-groups --describe): members and their assignments, lag per partition. Every
/// wait polls with a deadline.
/// </summary>
internal static class GroupInterop
{
    /// <summary>One message as a consumer printed it.</summary>
    public readonly record struct Consumed(int Partition, long Offset, string Value);

    /// <summary>Polls <paramref name="probe"/> until it returns non-null; fails with the last state seen.</summary>
    public static async Task<T> PollAsync<T>(Func<Task<(T? Value, string State)>> probe, TimeSpan timeout, string what, Func<string>? diagnostics = null)
        where T : class
    {
        var clock = Stopwatch.StartNew();
        string state = "";
        while (true)
        {
            (var value, state) = await probe().ConfigureAwait(false);
            if (value is not null)
            {
                return value;
            }

            if (clock.Elapsed > timeout)
            {
                Assert.Fail($"{what}: not reached in {timeout.TotalSeconds} s; last seen: {state}{diagnostics?.Invoke()}");
            }

            await Task.Delay(100).ConfigureAwait(false);
        }
    }

    /// <summary>The group's members (by client id) and the partitions of <paramref name="topic"/> each owns.</summary>
    public static Dictionary<string, int[]> Assignments(GroupDescription d, string topic) =>
        d.Members.ToDictionary(
            m => m.ClientId,
            m => ConsumerProtocolCodec.DecodeAssignment(m.Assignment).Partitions.Where(a => a.Topic == topic).Select(a => a.Partition).Order().ToArray(),
            StringComparer.Ordinal);

    public static string Show(GroupDescription d, string topic) =>
        $"{d.StateName} [{string.Join("; ", Assignments(d, topic).Select(kv => $"{kv.Key}: {string.Join(',', kv.Value)}"))}]";

    /// <summary>
    /// Waits until the group is Stable with exactly <paramref name="clientIds"/> as members, every
    /// member owning at least one partition and every partition of the topic owned by exactly one.
    /// </summary>
    public static Task<GroupDescription> WaitBalancedAsync(TestSilo silo, string group, string topic, int partitions, IReadOnlyCollection<string> clientIds, TimeSpan timeout, Func<string>? diagnostics = null) =>
        PollAsync<GroupDescription>(async () =>
        {
            var d = await silo.Groups.DescribeAsync(group).ConfigureAwait(false);
            var owned = Assignments(d, topic);
            bool balanced = d.State == GroupState.Stable
                && d.ProtocolType == ConsumerProtocolCodec.ProtocolType
                && owned.Count == clientIds.Count
                && clientIds.All(owned.ContainsKey)
                && owned.Values.All(p => p.Length > 0)
                && owned.Values.SelectMany(p => p).Order().SequenceEqual(Enumerable.Range(0, partitions));
            return (balanced ? d : null, Show(d, topic));
        }, timeout, $"group {group} balanced over {string.Join(',', clientIds)}", diagnostics);

    /// <summary>Waits until every partition of the topic has a committed offset equal to its log end (lag 0).</summary>
    public static Task<GroupLag> WaitLagZeroAsync(TestSilo silo, string group, string topic, int partitions, TimeSpan timeout, Func<string>? diagnostics = null) =>
        PollAsync<GroupLag>(async () =>
        {
            var lag = await silo.Groups.DescribeLagAsync(group).ConfigureAwait(false);
            var mine = lag?.Partitions.Where(p => p.Topic == topic).ToList() ?? [];
            bool zero = mine.Count == partitions && mine.All(p => p.CommittedOffset == p.LogEndOffset && p.LogEndOffset > 0);
            return (zero ? lag : null, string.Join(", ", mine.Select(p => $"p{p.Partition} committed {p.CommittedOffset?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"} end {p.LogEndOffset}")));
        }, timeout, $"lag 0 for group {group} on {topic}", diagnostics);

    /// <summary>Produces "k{i}:{prefix}{i}" for i in [from, from+count) with keys (spread over partitions by the client's partitioner).</summary>
    public static async Task<string[]> ProduceAsync(TestSilo silo, string topic, string prefix, int from, int count)
    {
        string kcat = ExternalTool.Require("kcat");
        var values = Enumerable.Range(from, count).Select(i => $"{prefix}{i}").ToArray();
        var input = string.Join('\n', values.Select((v, i) => $"k{from + i}:{v}")) + "\n";
        var r = await ExternalTool.RunAsync(kcat, ["-b", silo.Bootstrap, "-P", "-t", topic, "-K:", "-X", "linger.ms=5"], input, TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        Assert.True(r.ExitCode == 0, $"kcat produce failed: {r.Stderr}");
        return values;
    }

    /// <summary>Waits until the consumers together printed every one of <paramref name="expected"/>.</summary>
    public static async Task WaitConsumedAsync(Func<IEnumerable<Consumed>> consumed, IReadOnlyCollection<string> expected, TimeSpan timeout, string what, Func<string>? diagnostics = null)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var seen = consumed().Select(c => c.Value).ToHashSet(StringComparer.Ordinal);
            int missing = expected.Count(v => !seen.Contains(v));
            if (missing == 0)
            {
                return;
            }

            if (clock.Elapsed > timeout)
            {
                Assert.Fail($"{what}: {missing} of {expected.Count} messages not consumed in {timeout.TotalSeconds} s (e.g. {string.Join(", ", expected.Where(v => !seen.Contains(v)).Take(5))}){diagnostics?.Invoke()}");
            }

            await Task.Delay(100).ConfigureAwait(false);
        }
    }

    /// <summary>Every one of <paramref name="expected"/> was consumed exactly once.</summary>
    public static void AssertExactlyOnce(IEnumerable<Consumed> consumed, IReadOnlyCollection<string> expected)
    {
        var wanted = expected.ToHashSet(StringComparer.Ordinal);
        var counts = consumed.Where(c => wanted.Contains(c.Value)).GroupBy(c => c.Value, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var duplicated = counts.Where(kv => kv.Value > 1).Select(kv => kv.Key).ToList();
        Assert.True(duplicated.Count == 0, $"{duplicated.Count} messages consumed more than once, e.g. {string.Join(", ", duplicated.Take(5))}");
        Assert.Equal(wanted.Count, counts.Count);
    }
}
