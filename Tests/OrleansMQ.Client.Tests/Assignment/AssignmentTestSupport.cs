using OrleansMQ.Client.Consumer.Assignment;
using OrleansMQ.Protocol;

namespace OrleansMQ.Client.Tests.Assignment;

/// <summary>Short spellings for assignment tests.</summary>
internal static class AssignmentTestSupport
{
    public static TopicPartition Tp(string topic, int partition) => new(topic, partition);

    /// <summary>A dynamic member subscribed to <paramref name="topics"/>, owning nothing.</summary>
    public static MemberSubscription Sub(params string[] topics) =>
        new(topics, [], -1, null, ReadOnlyMemory<byte>.Empty);

    public static MemberSubscription Sub(string[] topics, IEnumerable<TopicPartition> owned, int generation, string? instanceId = null) =>
        new(topics, [.. owned], generation, instanceId, ReadOnlyMemory<byte>.Empty);

    /// <summary>"t0p1" style names, in the order given.</summary>
    public static string[] Names(IEnumerable<TopicPartition> partitions) =>
        [.. partitions.Select(tp => $"{tp.Topic}p{tp.Partition}")];

    /// <summary>"t0p1" style names, sorted.</summary>
    public static string[] SortedNames(IEnumerable<TopicPartition> partitions) =>
        [.. partitions.Order(TopicPartition.Ordinal).Select(tp => $"{tp.Topic}p{tp.Partition}")];

    public static IEnumerable<TopicPartition> Partitions(string topic, params int[] numbers) =>
        numbers.Select(p => new TopicPartition(topic, p));

    public static IEnumerable<TopicPartition> AllPartitions(IReadOnlyDictionary<string, int> partitionsPerTopic) =>
        partitionsPerTopic.SelectMany(kv => Enumerable.Range(0, kv.Value).Select(p => new TopicPartition(kv.Key, p)));

    public static Dictionary<string, int> Topics(params (string Topic, int Partitions)[] topics) =>
        topics.ToDictionary(t => t.Topic, t => t.Partitions, StringComparer.Ordinal);

    public static Dictionary<string, MemberSubscription> Members(params (string Member, MemberSubscription Subscription)[] members) =>
        members.ToDictionary(m => m.Member, m => m.Subscription, StringComparer.Ordinal);
}
