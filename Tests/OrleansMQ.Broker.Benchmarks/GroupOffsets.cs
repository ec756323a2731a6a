using System.Net;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Broker.Benchmarks;

/// <summary>Stored groups without members, for the memory and startup scenarios: standalone commits (generation -1) over the wire.</summary>
internal static class GroupOffsets
{
    /// <summary>The offsets group <c>prefix-g</c> gets: <paramref name="baseOffset"/> + partition.</summary>
    public static long[] Expected(int k, long baseOffset) => Enumerable.Range(0, k).Select(p => baseOffset + p).ToArray();

    /// <summary>Groups prefix-0 .. prefix-(count-1), each K offsets (baseOffset + partition) in one standalone OffsetCommit v7, 8 connections in parallel.</summary>
    public static async Task CommitAsync(IPEndPoint endPoint, string topic, string prefix, int count, int k, long baseOffset = 1000)
    {
        const int Connections = 8;
        int next = -1;
        await Task.WhenAll(Enumerable.Range(0, Connections).Select(async _ =>
        {
            using var wire = await GroupWire.ConnectAsync(endPoint).ConfigureAwait(false);
            for (int g = Interlocked.Increment(ref next); g < count; g = Interlocked.Increment(ref next))
            {
                var request = new OffsetCommitRequest
                {
                    GroupId = $"{prefix}-{g}",
                    GenerationId = -1,
                    MemberId = "",
                    Topics = [new OffsetCommitRequest.Topic { Name = topic, Partitions = Enumerable.Range(0, k).Select(p => new OffsetCommitRequest.Partition { PartitionIndex = p, CommittedOffset = baseOffset + p, CommittedMetadata = "" }).ToList() }],
                };
                var response = await wire.CallAsync<OffsetCommitRequest, OffsetCommitResponse>(request, OffsetCommitRun.CommitVersion).ConfigureAwait(false);
                var error = response.Topics.SelectMany(t => t.Partitions).Select(p => p.ErrorCode).FirstOrDefault(e => e != ErrorCode.None);
                if (error != ErrorCode.None)
                {
                    throw new InvalidOperationException($"OffsetCommit {request.GroupId}: {error}");
                }
            }
        })).ConfigureAwait(false);
    }

    /// <summary>Throws unless <paramref name="groupId"/> has its K offsets (baseOffset + partition).</summary>
    public static async Task CheckAsync(IPEndPoint endPoint, string topic, string groupId, int k, long baseOffset)
    {
        using var wire = await GroupWire.ConnectAsync(endPoint).ConfigureAwait(false);
        var (ok, what) = await SiloProcess.FetchMatchesAsync(wire, groupId, topic, Expected(k, baseOffset)).ConfigureAwait(false);
        if (!ok)
        {
            throw new InvalidOperationException($"group {groupId} came back wrong: {what}");
        }
    }
}
