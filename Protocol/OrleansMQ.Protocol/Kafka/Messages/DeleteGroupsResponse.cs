namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// DeleteGroups response (key 42), v0–v2.
/// <code>
/// throttle_time_ms INT32 | results [group_id STRING, error_code INT16]
/// (v2: compact strings/arrays, TAGGED_FIELDS after every struct)
/// </code>
/// </summary>
public sealed class DeleteGroupsResponse : IKafkaMessage<DeleteGroupsResponse>
{
    public static ApiKey ApiKey => ApiKey.DeleteGroups;

    public int ThrottleTimeMs { get; set; }

    public List<Result> Results { get; set; } = [];

    public static DeleteGroupsResponse Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var response = new DeleteGroupsResponse
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

    /// <summary>The outcome for one group.</summary>
    public sealed class Result : IWireElement<Result>
    {
        public string GroupId { get; set; } = "";

        public ErrorCode ErrorCode { get; set; }

        static Result IWireReadable<Result>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var result = new Result
            {
                GroupId = reader.ReadString(flexible),
                ErrorCode = (ErrorCode)reader.ReadInt16(),
            };
            Wire.EndStruct(ref reader, flexible);
            return result;
        }

        void IWireElement<Result>.Write(ref KafkaWriter writer, short version, bool flexible)
        {
            writer.WriteString(GroupId, flexible);
            writer.WriteInt16((short)ErrorCode);
            Wire.EndStruct(ref writer, flexible);
        }
    }
}
