namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// The array element most Kafka APIs share: a topic name and its partitions
/// (<c>name STRING | partitions [..]</c>, plus tagged fields in flexible versions). Each message
/// names it as its own nested <c>Topic</c> type over its own <c>Partition</c> type.
/// </summary>
public abstract class TopicPartitions<TSelf, TPartition> : IWireElement<TSelf>
    where TSelf : TopicPartitions<TSelf, TPartition>, new()
    where TPartition : IWireElement<TPartition>
{
    public string Name { get; set; } = "";

    public List<TPartition> Partitions { get; set; } = [];

    static TSelf IWireReadable<TSelf>.Read(ref KafkaReader reader, short version, bool flexible)
    {
        var topic = new TSelf
        {
            Name = reader.ReadString(flexible),
            Partitions = Wire.ReadList<TPartition>(ref reader, version, flexible),
        };
        Wire.EndStruct(ref reader, flexible);
        return topic;
    }

    void IWireElement<TSelf>.Write(ref KafkaWriter writer, short version, bool flexible)
    {
        writer.WriteString(Name, flexible);
        Wire.WriteList(ref writer, Partitions, version, flexible);
        Wire.EndStruct(ref writer, flexible);
    }
}
