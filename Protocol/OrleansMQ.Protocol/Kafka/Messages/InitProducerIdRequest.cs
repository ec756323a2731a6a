namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// InitProducerId request (key 22), v0–v2.
/// <code>
/// transactional_id NULLABLE_STRING | transaction_timeout_ms INT32
/// (v2: compact strings, TAGGED_FIELDS)
/// </code>
/// </summary>
public sealed class InitProducerIdRequest : IKafkaMessage<InitProducerIdRequest>
{
    public static ApiKey ApiKey => ApiKey.InitProducerId;

    /// <summary>Null for an idempotent (non-transactional) producer.</summary>
    public string? TransactionalId { get; set; }

    public int TransactionTimeoutMs { get; set; }

    public static InitProducerIdRequest Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var request = new InitProducerIdRequest
        {
            TransactionalId = reader.ReadNullableString(flexible),
            TransactionTimeoutMs = reader.ReadInt32(),
        };
        Wire.EndStruct(ref reader, flexible);
        return request;
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        bool flexible = Wire.CheckWrite(ApiKey, version);
        writer.WriteNullableString(TransactionalId, flexible);
        writer.WriteInt32(TransactionTimeoutMs);
        Wire.EndStruct(ref writer, flexible);
    }
}
