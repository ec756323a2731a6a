namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// CreatePartitions response (key 37), v0–v2.
/// <code>
/// throttle_time_ms INT32 | results [name STRING, error_code INT16, error_message NULLABLE_STRING]
/// (v2: compact strings/arrays, TAGGED_FIELDS after every struct)
/// </code>
/// </summary>
public sealed class CreatePartitionsResponse : IKafkaMessage<CreatePartitionsResponse>
{
    public static ApiKey ApiKey => ApiKey.CreatePartitions;

    public int ThrottleTimeMs { get; set; }

    public List<Result> Results { get; set; } = [];

    public static CreatePartitionsResponse Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var response = new CreatePartitionsResponse
        {
            ThrottleTimeMs = reader.ReadInt32(),
            Results = Wire.ReadList<Result>(ref reader, version, flexible),
        };
        Wire.EndStruct(ref reader, flexible);
        return response;
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        bool flexible = Wire.CheckWrite(ApiKey, version);
        writer.WriteInt32(ThrottleTimeMs);
        Wire.WriteList(ref writer, Results, version, flexible);
        Wire.EndStruct(ref writer, flexible);
    }

    public sealed class Result : IWireElement<Result>
    {
        public string Name { get; set; } = "";

        public ErrorCode ErrorCode { get; set; }

        public string? ErrorMessage { get; set; }

        static Result IWireReadable<Result>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var result = new Result
            {
                Name = reader.ReadString(flexible),
                ErrorCode = (ErrorCode)reader.ReadInt16(),
                ErrorMessage = reader.ReadNullableString(flexible),
            };
            Wire.EndStruct(ref reader, flexible);
            return result;
        }

        void IWireElement<Result>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteString(Name, flexible);
            writer.WriteInt16((short)ErrorCode);
            writer.WriteNullableString(ErrorMessage, flexible);
            Wire.EndStruct(ref writer, flexible);
        }
    }
}
