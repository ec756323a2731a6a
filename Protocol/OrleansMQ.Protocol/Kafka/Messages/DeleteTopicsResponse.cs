namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// DeleteTopics response (key 20), v0–v4.
/// <code>
/// throttle_time_ms INT32 (v1+) | responses [name STRING, error_code INT16]
/// (v4: compact strings/arrays, TAGGED_FIELDS after every struct)
/// </code>
/// </summary>
public sealed class DeleteTopicsResponse : IKafkaMessage<DeleteTopicsResponse>
{
    public static ApiKey ApiKey => ApiKey.DeleteTopics;

    /// <summary>v1+.</summary>
    public int ThrottleTimeMs { get; set; }

    public List<Result> Responses { get; set; } = [];

    public static DeleteTopicsResponse Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var response = new DeleteTopicsResponse();
        if (version >= 1)
        {
            response.ThrottleTimeMs = reader.ReadInt32();
        }

        response.Responses = Wire.ReadList<Result>(ref reader, version, flexible);
        Wire.EndStruct(ref reader, flexible);
        return response;
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        bool flexible = Wire.CheckWrite(ApiKey, version);
        if (version >= 1)
        {
            writer.WriteInt32(ThrottleTimeMs);
        }

        Wire.WriteList(ref writer, Responses, version, flexible);
        Wire.EndStruct(ref writer, flexible);
    }

    public sealed class Result : IWireElement<Result>
    {
        public string Name { get; set; } = "";

        public ErrorCode ErrorCode { get; set; }

        static Result IWireReadable<Result>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var result = new Result
            {
                Name = reader.ReadString(flexible),
                ErrorCode = (ErrorCode)reader.ReadInt16(),
            };
            Wire.EndStruct(ref reader, flexible);
            return result;
        }

        void IWireElement<Result>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteString(Name, flexible);
            writer.WriteInt16((short)ErrorCode);
            Wire.EndStruct(ref writer, flexible);
        }
    }
}
