using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Storage.Log;

namespace OrleansMQ.Silo.Produce;

/// <summary>
/// Where one partition's append stands: pending its durability point (<see cref="Append"/> set),
/// done (offsets set), or refused (<see cref="Error"/> set, with a message for the client).
/// A struct, so the Kafka produce path carries it without an allocation per partition.
/// </summary>
internal readonly record struct PartitionAppend(ErrorCode Error, string? Message, long BaseOffset, long LastOffset, long LogAppendTime, Task<AppendResult>? Append)
{
    /// <summary>Written; <paramref name="append"/> completes at the flush policy's durability point.</summary>
    public static PartitionAppend Pending(Task<AppendResult> append, long logAppendTime) => new(ErrorCode.None, null, -1, -1, logAppendTime, append);

    /// <summary>Durable: the first offset of the request's records and the last offset to wait for (read-your-writes).</summary>
    public static PartitionAppend Done(long baseOffset, long lastOffset, long logAppendTime) => new(ErrorCode.None, null, baseOffset, lastOffset, logAppendTime, null);

    public static PartitionAppend Failed(ErrorCode error, string message, long logAppendTime) => new(error, message, -1, -1, logAppendTime, null);
}
