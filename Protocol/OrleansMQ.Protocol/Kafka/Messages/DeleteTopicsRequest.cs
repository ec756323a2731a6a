namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// DeleteTopics request (key 20), v0–v4.
/// <code>
/// topic_names [STRING] | timeout_ms INT32
/// (v4: compact strings/arrays, TAGGED_FIELDS)
/// </code>
/// </summary>
public sealed class DeleteTopicsRequest : IKafkaMessage<DeleteTopicsRequest>
{
    public static ApiKey ApiKey => ApiKey.DeleteTopics;

    public List<string> TopicNames { get; set; } = [];

    public int TimeoutMs { get; set; } = 60_000;

    public static DeleteTopicsRequest Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var request = new DeleteTopicsRequest
        {
            TopicNames = Wire.ReadStringList(ref reader, flexible),
            TimeoutMs = reader.ReadInt32(),
        };
        Wire.EndStruct(ref reader, flexible);
        return request;
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        bool flexible = Wire.CheckWrite(ApiKey, version);
        Wire.WriteStringList(ref writer, TopicNames, flexible);
        writer.WriteInt32(TimeoutMs);
        Wire.EndStruct(ref writer, flexible);
    }
}
