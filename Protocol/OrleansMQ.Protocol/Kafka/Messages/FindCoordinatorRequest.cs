namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// FindCoordinator request (key 10), v0–v3.
/// <code>
/// key STRING | key_type INT8 (v1+; 0 group, 1 transaction)
/// (v3: compact strings, TAGGED_FIELDS)
/// </code>
/// </summary>
public sealed class FindCoordinatorRequest : IKafkaMessage<FindCoordinatorRequest>
{
    public const sbyte GroupKeyType = 0;
    public const sbyte TransactionKeyType = 1;

    public static ApiKey ApiKey => ApiKey.FindCoordinator;

    /// <summary>The group id, or the transactional id.</summary>
    public string Key { get; set; } = "";

    /// <summary>v1+; v0 always asks for a group coordinator.</summary>
    public sbyte KeyType { get; set; } = GroupKeyType;

    public static FindCoordinatorRequest Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var request = new FindCoordinatorRequest { Key = reader.ReadString(flexible) };
        if (version >= 1)
        {
            request.KeyType = reader.ReadInt8();
        }

        Wire.EndStruct(ref reader, flexible);
        return request;
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        bool flexible = Wire.CheckWrite(ApiKey, version);
        writer.WriteString(Key, flexible);
        if (version >= 1)
        {
            writer.WriteInt8(KeyType);
        }

        Wire.EndStruct(ref writer, flexible);
    }
}
