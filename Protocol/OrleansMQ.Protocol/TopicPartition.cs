namespace OrleansMQ.Protocol;

/// <summary>
/// One partition of one topic (producer results, consumer assignments, admin answers, the consumer
/// protocol's assignments). It lives here, beside the wire codec, so the silo and the managed client
/// share one type; client code says <c>using OrleansMQ.Protocol;</c> for it.
/// </summary>
public sealed record TopicPartition(string Topic, int Partition)
{
    /// <summary>Topic (ordinal, as Java compares strings), then partition number.</summary>
    public static IComparer<TopicPartition> Ordinal { get; } = Comparer<TopicPartition>.Create(Compare);

    /// <summary>Kafka's spelling: <c>topic-partition</c>.</summary>
    public override string ToString() => Topic + "-" + Partition.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static int Compare(TopicPartition? x, TopicPartition? y)
    {
        if (ReferenceEquals(x, y))
        {
            return 0;
        }

        if (x is null)
        {
            return -1;
        }

        if (y is null)
        {
            return 1;
        }

        int byTopic = string.CompareOrdinal(x.Topic, y.Topic);
        return byTopic != 0 ? byTopic : x.Partition.CompareTo(y.Partition);
    }
}
