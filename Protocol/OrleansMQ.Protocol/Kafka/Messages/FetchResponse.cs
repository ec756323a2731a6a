namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// Fetch response (key 1), v2–v12, as a whole message: for tests and clients. The broker's
/// fetch path streams instead with <see cref="FetchResponseWriter"/> (layout drawn there), which
/// this class's <see cref="Write"/> also goes through.
/// </summary>
public sealed class FetchResponse : IKafkaMessage<FetchResponse>
{
    public static ApiKey ApiKey => ApiKey.Fetch;

    public int ThrottleTimeMs { get; set; }

    /// <summary>v7+ (fetch session errors).</summary>
    public ErrorCode ErrorCode { get; set; }

    /// <summary>v7+.</summary>
    public int SessionId { get; set; }

    public List<Topic> Topics { get; set; } = [];

    public static FetchResponse Read(ref KafkaReader reader, short version)
    {
        bool flexible = Wire.CheckRead(ApiKey, version);
        var response = new FetchResponse { ThrottleTimeMs = reader.ReadInt32() };
        if (version >= 7)
        {
            response.ErrorCode = (ErrorCode)reader.ReadInt16();
            response.SessionId = reader.ReadInt32();
        }

        response.Topics = Wire.ReadList<Topic>(ref reader, version, flexible);
        Wire.EndStruct(ref reader, flexible);
        return response;
    }

    public void Write(ref KafkaWriter writer, short version)
    {
        var fetch = new FetchResponseWriter(writer.Output, version);
        fetch.Begin(ThrottleTimeMs, ErrorCode, SessionId, Topics.Count);
        foreach (var topic in Topics)
        {
            fetch.BeginTopic(topic.Name, topic.Partitions.Count);
            foreach (var p in topic.Partitions)
            {
                var header = new FetchPartitionHeader(
                    p.PartitionIndex, p.ErrorCode, p.HighWatermark, p.LastStableOffset, p.LogStartOffset, p.PreferredReadReplica, p.AbortedTransactions);
                fetch.BeginPartition(header, p.Records?.Length ?? -1);
                if (p.Records is { } records)
                {
                    fetch.WriteRecords(records.Span);
                }
            }
        }

        fetch.End();
        writer.AddWritten(fetch.Written);
    }

    public sealed class Topic : IWireReadable<Topic>
    {
        public string Name { get; set; } = "";

        public List<Partition> Partitions { get; set; } = [];

        static Topic IWireReadable<Topic>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var topic = new Topic
            {
                Name = reader.ReadString(flexible),
                Partitions = Wire.ReadList<Partition>(ref reader, version, flexible),
            };
            Wire.EndStruct(ref reader, flexible);
            return topic;
        }
    }

    public sealed class Partition : IWireReadable<Partition>
    {
        public int PartitionIndex { get; set; }

        public ErrorCode ErrorCode { get; set; }

        public long HighWatermark { get; set; }

        /// <summary>v4+.</summary>
        public long LastStableOffset { get; set; } = -1;

        /// <summary>v5+.</summary>
        public long LogStartOffset { get; set; } = -1;

        /// <summary>v4+: null or a list; null when the broker sent a null array (and always before v4).</summary>
        public List<AbortedTransaction>? AbortedTransactions { get; set; }

        /// <summary>v11+.</summary>
        public int PreferredReadReplica { get; set; } = -1;

        /// <summary>Record batches (a slice of the response frame); the last batch may be partial.</summary>
        public ReadOnlyMemory<byte>? Records { get; set; }

        static Partition IWireReadable<Partition>.Read(ref KafkaReader reader, short version, bool flexible)
        {
            var partition = new Partition
            {
                PartitionIndex = reader.ReadInt32(),
                ErrorCode = (ErrorCode)reader.ReadInt16(),
                HighWatermark = reader.ReadInt64(),
            };
            if (version >= 4)
            {
                partition.LastStableOffset = reader.ReadInt64();
            }

            if (version >= 5)
            {
                partition.LogStartOffset = reader.ReadInt64();
            }

            int abortedCount = version >= 4 ? reader.ReadArrayLength(flexible, minElementSize: 16) : -1;
            if (abortedCount >= 0)
            {
                var aborted = new List<AbortedTransaction>(abortedCount);
                for (int i = 0; i < abortedCount; i++)
                {
                    aborted.Add(new AbortedTransaction(reader.ReadInt64(), reader.ReadInt64()));
                    Wire.EndStruct(ref reader, flexible);
                }

                partition.AbortedTransactions = aborted;
            }

            if (version >= 11)
            {
                partition.PreferredReadReplica = reader.ReadInt32();
            }

            partition.Records = reader.ReadNullableBytes(flexible);

            // v12 tags 0-2 (diverging epoch, current leader, snapshot id) are for followers; skipped.
            Wire.EndStruct(ref reader, flexible);
            return partition;
        }
    }
}
