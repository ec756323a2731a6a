using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Broker.Benchmarks;

/// <summary>
/// Offset commits per second from many members (target ≥ 50,000/s), closed loop with
/// <see cref="PeakRun"/>: <see cref="GroupBenchOptions.Connections"/> connections, each keeping
/// <see cref="GroupBenchOptions.InFlight"/> OffsetCommit v7 requests outstanding. Cases:
/// <list type="bullet">
/// <item><b>produce</b> (baseline): Produce v7 of one 16-byte record per request, same connections and window.</item>
/// <item><b>member1</b>: every connection is a member of one of <see cref="GroupBenchOptions.Groups"/>
/// groups (joined and synced over the wire, range assignment) and commits one of its own partitions per request, in turn.</item>
/// <item><b>memberN</b>: the same members, <see cref="GroupBenchOptions.BatchPartitions"/> partitions per request.</item>
/// <item><b>standalone1</b>: generation -1 and no member id (assign + commit consumers), one partition per request, the same groups' ids with a prefix.</item>
/// </list>
/// Every request commits a new offset (a per-connection counter) and every answer is decoded and checked.
/// </summary>
internal static class OffsetCommitRun
{
    public const short CommitVersion = 7;
    private static readonly CultureInfo Culture = CultureInfo.InvariantCulture;

    public static async Task<int> RunAsync(GroupBenchOptions o)
    {
        var endPoint = o.RequireBootstrap();
        GroupSetup.EnsureTopic(endPoint, o.Topic, o.Partitions);
        string suffix = Environment.TickCount64.ToString("x", Culture);
        var cases = o.Cases.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        GroupMember[]? members = null;
        int failures = 0;
        try
        {
            // One untimed second of every case first: the silo's code for each path is compiled
            // and tiered up before anything is measured (each run starts a fresh silo).
            foreach (string name in cases.Distinct())
            {
                _ = await RunCaseAsync(name, 0, 1).ConfigureAwait(false);
            }

            foreach (string name in cases)
            {
                var (result, shape) = await RunCaseAsync(name, o.WarmupSeconds, o.Seconds).ConfigureAwait(false);
                failures += result.Errors > 0 ? 1 : 0;
                Print(o, name, shape, result);
            }

            if (members is not null)
            {
                // Members leave (one request per group) so the groups go Empty at once.
                foreach (var group in members.GroupBy(m => m.GroupId))
                {
                    using var wire = await GroupWire.ConnectAsync(endPoint).ConfigureAwait(false);
                    var first = group.First();
                    var leaver = new GroupMember(wire, first.GroupId, first.Topic, 0, first.SessionTimeoutMs, first.RebalanceTimeoutMs, "bench-leave");
                    await leaver.LeaveAsync(group.Select(m => m.MemberId)).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            foreach (var m in members ?? [])
            {
                m.Dispose();
            }
        }

        return failures == 0 ? 0 : 1;

        async Task<(PeakResult Result, string Shape)> RunCaseAsync(string name, double warmupSeconds, double seconds)
        {
            switch (name)
            {
                case "produce":
                    {
                        var produce = new BenchOptions
                        {
                            Bootstrap = endPoint,
                            Topic = "groups-produce-" + suffix,
                            MessageBytes = 16,
                            Batch = 1,
                            Connections = o.Connections,
                            InFlight = o.InFlight,
                            Acks = 1,
                        };
                        var result = PeakRun.Run(Workload.Create(produce).Connect(), o.InFlight, warmupSeconds, seconds, o.SiloPid);
                        return (result, "Produce v7, 1 record x 16 B per request, acks=1");
                    }

                case "member1":
                case "memberN":
                    {
                        members ??= await JoinGroupsAsync(endPoint, o, "commit-" + suffix).ConfigureAwait(false);
                        await HeartbeatAllAsync(members).ConfigureAwait(false);
                        int perRequest = name == "member1" ? 1 : o.BatchPartitions;
                        var connections = members.Select(m => CommitConnection.ForMember(endPoint, m, perRequest)).ToList();
                        var result = PeakRun.Run(connections, o.InFlight, warmupSeconds, seconds, o.SiloPid);
                        return (result, string.Create(Culture, $"OffsetCommit v{CommitVersion}, members of {o.Groups} groups, {perRequest} partition(s) per request"));
                    }

                case "standalone1":
                    {
                        var connections = new List<IPipelinedConnection>();
                        for (int c = 0; c < o.Connections; c++)
                        {
                            var partitions = Enumerable.Range(0, o.Partitions).Where(p => p % o.Connections == c).ToList();
                            connections.Add(CommitConnection.Standalone(endPoint, $"standalone-{suffix}-{c % o.Groups}", o.Topic, partitions, 1));
                        }

                        var result = PeakRun.Run(connections, o.InFlight, warmupSeconds, seconds, o.SiloPid);
                        return (result, string.Create(Culture, $"OffsetCommit v{CommitVersion}, standalone (generation -1) into {o.Groups} groups, 1 partition per request"));
                    }

                default:
                    throw new ArgumentException($"unknown case {name} (produce, member1, memberN, standalone1)");
            }
        }
    }

    private static void Print(GroupBenchOptions o, string name, string shape, PeakResult result)
    {
        double siloUsPerRequest = result.SiloCpuSeconds * 1e6 / (result.RequestsPerSecond * result.Seconds);
        double siloUsPerUnit = result.SiloCpuSeconds * 1e6 / (result.MessagesPerSecond * result.Seconds);
        string silo = double.IsNaN(result.SiloCpuSeconds) ? "" : string.Create(Culture, $"; silo CPU {result.SiloCpuSeconds:0.00} s = {siloUsPerRequest:0.0} µs/request, {siloUsPerUnit:0.0} µs/{(name == "produce" ? "message" : "offset")}");
        Console.WriteLine(string.Create(Culture,
            $"commit {name}: {shape}; {o.Connections} connections x {o.InFlight} in flight: {result.RequestsPerSecond:N0} requests/s, {result.MessagesPerSecond:N0} {(name == "produce" ? "messages" : "offsets")}/s over {result.Seconds:0.0} s; {result.Errors} errors{(result.Errors > 0 ? " (last " + result.LastError + ")" : "")}; generator CPU {result.GeneratorCpuSeconds:0.00} s{silo}"));
        Console.WriteLine(string.Create(Culture,
            $"RESULT commit case={name} connections={o.Connections} groups={o.Groups} in_flight={o.InFlight} requests_per_s={result.RequestsPerSecond:0} units_per_s={result.MessagesPerSecond:0} errors={result.Errors} gen_cpu_s={result.GeneratorCpuSeconds:0.00} silo_cpu_s={result.SiloCpuSeconds:0.00} silo_us_per_request={siloUsPerRequest:0.0} silo_us_per_unit={siloUsPerUnit:0.0} seconds={result.Seconds:0.0}"));
    }

    /// <summary>Connections are split round-robin over the groups; each group forms at once (ids first, then all join).</summary>
    private static async Task<GroupMember[]> JoinGroupsAsync(IPEndPoint endPoint, GroupBenchOptions o, string prefix)
    {
        var members = await Task.WhenAll(Enumerable.Range(0, o.Connections).Select(i =>
            GroupMember.ConnectAsync(endPoint, $"{prefix}-{i % o.Groups}", o.Topic, o.Partitions, o.SessionTimeoutMs, o.RebalanceTimeoutMs, "bench-committer-" + i))).ConfigureAwait(false);
        await Task.WhenAll(members.Select(m => m.RequestMemberIdAsync())).ConfigureAwait(false);
        await Task.WhenAll(members.Select(m => m.JoinAndSyncAsync())).ConfigureAwait(false);
        return members;
    }

    private static async Task HeartbeatAllAsync(GroupMember[] members)
    {
        var errors = await Task.WhenAll(members.Select(m => m.HeartbeatAsync())).ConfigureAwait(false);
        if (errors.Any(e => e != ErrorCode.None))
        {
            throw new InvalidOperationException($"a member lost its place before the commit case: {errors.First(e => e != ErrorCode.None)}");
        }
    }
}

/// <summary>
/// OffsetCommit requests pre-encoded once per partition set (only the correlation id and the
/// offsets change, patched in place), sent over a blocking socket; answers decoded with the codec.
/// </summary>
internal sealed class CommitConnection : IPipelinedConnection
{
    private const int CorrelationIdOffset = 8;
    private const long Sentinel = 0x5EED_0000_0000_0000;

    private readonly Socket _socket;
    private readonly byte[][] _frames;
    private readonly int[][] _offsetPositions;
    private readonly FrameReceiver _receiver;
    private int _next;
    private long _offset;

    private CommitConnection(Socket socket, byte[][] frames, int[][] positions)
    {
        _socket = socket;
        _frames = frames;
        _offsetPositions = positions;
        _receiver = new FrameReceiver(socket);
    }

    /// <summary>
    /// A member commits its assigned partitions, <paramref name="perRequest"/> per request, in turn,
    /// with its member id and generation. Over a new blocking connection: the member's own one has
    /// been used asynchronously, and .NET then emulates blocking calls on it at a higher CPU cost,
    /// which would tax the commit cases against the Produce baseline (the coordinator does not care
    /// which connection a commit arrives on; the member's connection stays open).
    /// </summary>
    public static CommitConnection ForMember(IPEndPoint endPoint, GroupMember member, int perRequest)
    {
        if (member.Assigned.Count == 0)
        {
            throw new InvalidOperationException($"{member.MemberId} has no partitions to commit");
        }

        var (frames, positions) = Encode(member.GroupId, member.Generation, member.MemberId, member.Topic, member.Assigned, perRequest);
        return new CommitConnection(ProduceConnection.Open(endPoint), frames, positions);
    }

    /// <summary>A standalone consumer: generation -1, no member id.</summary>
    public static CommitConnection Standalone(IPEndPoint endPoint, string groupId, string topic, IReadOnlyList<int> partitions, int perRequest)
    {
        var (frames, positions) = Encode(groupId, -1, "", topic, partitions, perRequest);
        return new CommitConnection(ProduceConnection.Open(endPoint), frames, positions);
    }

    private static (byte[][] Frames, int[][] Positions) Encode(string groupId, int generation, string memberId, string topic, IReadOnlyList<int> partitions, int perRequest)
    {
        int count = Math.Max(1, partitions.Count / perRequest);
        var frames = new byte[count][];
        var positions = new int[count][];
        for (int f = 0; f < count; f++)
        {
            // Request f commits partitions f*k .. f*k+k-1 of the list (wrapping when the list is short).
            var slice = Enumerable.Range(f * perRequest, perRequest).Select(i => partitions[i % partitions.Count]).Distinct().ToList();
            var request = new OffsetCommitRequest
            {
                GroupId = groupId,
                GenerationId = generation,
                MemberId = memberId,
                Topics =
                [
                    new OffsetCommitRequest.Topic
                    {
                        Name = topic,
                        Partitions = slice.Select((p, i) => new OffsetCommitRequest.Partition { PartitionIndex = p, CommittedOffset = Sentinel + i, CommittedMetadata = "" }).ToList(),
                    },
                ],
            };
            frames[f] = ProduceConnection.EncodeFrame(request, OffsetCommitRun.CommitVersion, 0);
            positions[f] = slice.Select((_, i) => FindInt64(frames[f], Sentinel + i)).ToArray();
        }

        return (frames, positions);
    }

    private static int FindInt64(byte[] frame, long value)
    {
        Span<byte> pattern = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(pattern, value);
        int at = frame.AsSpan().IndexOf(pattern);
        return at >= 0 ? at : throw new InvalidOperationException("offset not found in the encoded request");
    }

    public void Send(int correlationId)
    {
        int f = _next;
        _next = f + 1 == _frames.Length ? 0 : f + 1;
        var frame = _frames[f];
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(CorrelationIdOffset), correlationId);
        long offset = ++_offset;
        foreach (int at in _offsetPositions[f])
        {
            BinaryPrimitives.WriteInt64BigEndian(frame.AsSpan(at), offset);
        }

        ProduceConnection.SendAll(_socket, frame);
    }

    public void SetReceiveTimeout(int milliseconds) => _socket.ReceiveTimeout = milliseconds;

    public bool TryReceive(out int units, out int failedUnits, out ErrorCode error)
    {
        units = 0;
        failedUnits = 0;
        error = ErrorCode.None;
        if (!_receiver.TryReadFrame(out var frame))
        {
            return false;
        }

        var reader = new KafkaReader(frame);
        _ = ResponseHeader.Read(ref reader, ApiKey.OffsetCommit, OffsetCommitRun.CommitVersion);
        var response = OffsetCommitResponse.Read(ref reader, OffsetCommitRun.CommitVersion);
        foreach (var topic in response.Topics)
        {
            foreach (var partition in topic.Partitions)
            {
                if (partition.ErrorCode == ErrorCode.None)
                {
                    units++;
                }
                else
                {
                    failedUnits++;
                    error = partition.ErrorCode;
                }
            }
        }

        return true;
    }

    public void Dispose() => _socket.Dispose();
}
