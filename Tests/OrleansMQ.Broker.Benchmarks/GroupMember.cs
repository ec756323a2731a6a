using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using OrleansMQ.Protocol;
using OrleansMQ.Protocol.Groups;
using OrleansMQ.Silo.Groups;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Broker.Benchmarks;

/// <summary>
/// One request at a time over its own connection, async (a hundred members wait in JoinGroup at
/// once), encoded and decoded with the silo's codec. <see cref="LastSent"/> is taken just before
/// the request's bytes go out, <see cref="LastReceived"/> right after the answer's bytes are in.
/// </summary>
internal sealed class GroupWire : IDisposable
{
    private readonly Socket _socket;
    private readonly string _clientId;
    private readonly byte[] _prefix = new byte[4];
    private int _correlationId;

    private GroupWire(Socket socket, string clientId)
    {
        _socket = socket;
        _clientId = clientId;
    }

    public static async Task<GroupWire> ConnectAsync(IPEndPoint endPoint, string clientId = "omq-broker-bench")
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endPoint).ConfigureAwait(false);
            return new GroupWire(socket, clientId);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public long LastSent { get; private set; }

    public long LastReceived { get; private set; }

    public async Task<TResponse> CallAsync<TRequest, TResponse>(TRequest request, short version)
        where TRequest : IKafkaMessage<TRequest>
        where TResponse : IKafkaMessage<TResponse>
    {
        int correlationId = ++_correlationId;
        byte[] frame = ProduceConnection.EncodeFrame(request, version, correlationId, _clientId);
        LastSent = Stopwatch.GetTimestamp();
        for (int sent = 0; sent < frame.Length;)
        {
            sent += await _socket.SendAsync(frame.AsMemory(sent), SocketFlags.None).ConfigureAwait(false);
        }

        await ReceiveExactlyAsync(_prefix).ConfigureAwait(false);
        int size = BinaryPrimitives.ReadInt32BigEndian(_prefix);
        if (size is < 0 or > 64 << 20)
        {
            throw new InvalidDataException($"response size {size}");
        }

        var body = new byte[size];
        await ReceiveExactlyAsync(body).ConfigureAwait(false);
        LastReceived = Stopwatch.GetTimestamp();
        var reader = new KafkaReader(body);
        int answered = ResponseHeader.Read(ref reader, TRequest.ApiKey, version);
        if (answered != correlationId)
        {
            throw new InvalidDataException($"{TRequest.ApiKey}: correlation id {answered}, expected {correlationId}");
        }

        return TResponse.Read(ref reader, version);
    }

    private async Task ReceiveExactlyAsync(Memory<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            int n = await _socket.ReceiveAsync(buffer, SocketFlags.None).ConfigureAwait(false);
            if (n == 0)
            {
                throw new IOException("the broker closed the connection");
            }

            buffer = buffer[n..];
        }
    }

    public void Dispose() => _socket.Dispose();
}

/// <summary>
/// A consumer as the classic group protocol sees it: JoinGroup v5 (an empty member id first, then
/// the id MEMBER_ID_REQUIRED handed out), SyncGroup v3 — the leader range-assigns the topic's
/// partitions over the members' "consumer" subscriptions — Heartbeat v3, and a rejoin whenever the
/// coordinator answers REBALANCE_IN_PROGRESS (or forgets the member).
/// </summary>
internal sealed class GroupMember : IDisposable
{
    public const short JoinVersion = 5;
    public const short SyncVersion = 3;
    public const short HeartbeatVersion = 3;
    public const short LeaveVersion = 3;
    private const string Assignor = "range";

    private readonly byte[] _subscription;
    private readonly int _partitions;

    public GroupMember(GroupWire wire, string groupId, string topic, int partitions, int sessionTimeoutMs, int rebalanceTimeoutMs, string clientId)
    {
        Wire = wire;
        GroupId = groupId;
        Topic = topic;
        _partitions = partitions;
        SessionTimeoutMs = sessionTimeoutMs;
        RebalanceTimeoutMs = rebalanceTimeoutMs;
        ClientId = clientId;
        _subscription = ConsumerProtocolCodec.EncodeSubscription(new([topic]));
    }

    public GroupWire Wire { get; }

    public string GroupId { get; }

    public string Topic { get; }

    public string ClientId { get; }

    public int SessionTimeoutMs { get; }

    public int RebalanceTimeoutMs { get; }

    public string MemberId { get; private set; } = "";

    public int Generation { get; private set; } = -1;

    public bool IsLeader { get; private set; }

    public IReadOnlyList<int> Assigned { get; private set; } = [];

    /// <summary>Timestamps (Stopwatch) of the last JoinGroup sent, its answer, the last SyncGroup sent, its answer.</summary>
    public long JoinSent { get; private set; }

    public long JoinAnswered { get; private set; }

    public long SyncSent { get; private set; }

    public long SyncAnswered { get; private set; }

    /// <summary>JoinGroup requests sent (MEMBER_ID_REQUIRED round trips included).</summary>
    public int Joins { get; private set; }

    /// <summary>Milliseconds the leader spent computing and encoding the assignment (client CPU, between its JoinGroup answer and its SyncGroup).</summary>
    public double AssignMs { get; private set; }

    public static async Task<GroupMember> ConnectAsync(IPEndPoint endPoint, string groupId, string topic, int partitions, int sessionTimeoutMs, int rebalanceTimeoutMs, string clientId) =>
        new(await GroupWire.ConnectAsync(endPoint, clientId).ConfigureAwait(false), groupId, topic, partitions, sessionTimeoutMs, rebalanceTimeoutMs, clientId);

    /// <summary>The first JoinGroup of a new member: no id yet, so the coordinator answers MEMBER_ID_REQUIRED with one (KIP-394).</summary>
    public async Task RequestMemberIdAsync()
    {
        var response = await JoinAsync().ConfigureAwait(false);
        if (response.ErrorCode != ErrorCode.MemberIdRequired)
        {
            throw new InvalidOperationException($"{GroupId}: first JoinGroup answered {response.ErrorCode}, expected MEMBER_ID_REQUIRED");
        }

        MemberId = response.MemberId;
    }

    /// <summary>Joins (again) and syncs until it holds an assignment of the current generation.</summary>
    public async Task JoinAndSyncAsync()
    {
        for (int attempt = 0; ; attempt++)
        {
            if (attempt > 20)
            {
                throw new InvalidOperationException($"{GroupId}/{MemberId}: no assignment after {attempt} attempts");
            }

            var join = await JoinAsync().ConfigureAwait(false);
            JoinAnswered = Wire.LastReceived;
            switch (join.ErrorCode)
            {
                case ErrorCode.None:
                    break;
                case ErrorCode.MemberIdRequired:
                    MemberId = join.MemberId;
                    continue;
                case ErrorCode.UnknownMemberId:
                    MemberId = "";
                    continue;
                case ErrorCode.RebalanceInProgress:
                    continue;
                default:
                    throw new InvalidOperationException($"{GroupId}/{MemberId}: JoinGroup answered {join.ErrorCode}");
            }

            Generation = join.GenerationId;
            IsLeader = join.Leader == MemberId;
            var sync = new SyncGroupRequest
            {
                GroupId = GroupId,
                GenerationId = Generation,
                MemberId = MemberId,
                ProtocolType = ConsumerProtocolCodec.ProtocolType,
                ProtocolName = join.ProtocolName,
            };
            if (IsLeader)
            {
                long t = Stopwatch.GetTimestamp();
                sync.Assignments = RangeAssign(join.Members);
                AssignMs = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
            }

            var answer = await Wire.CallAsync<SyncGroupRequest, SyncGroupResponse>(sync, SyncVersion).ConfigureAwait(false);
            SyncSent = Wire.LastSent;
            SyncAnswered = Wire.LastReceived;
            switch (answer.ErrorCode)
            {
                case ErrorCode.None:
                    Assigned = ConsumerProtocolCodec.DecodeAssignment(answer.Assignment).Partitions
                        .Where(a => a.Topic == Topic).Select(a => a.Partition).ToList();
                    return;
                case ErrorCode.RebalanceInProgress:
                case ErrorCode.IllegalGeneration:
                    continue;
                case ErrorCode.UnknownMemberId:
                    MemberId = "";
                    continue;
                default:
                    throw new InvalidOperationException($"{GroupId}/{MemberId}: SyncGroup answered {answer.ErrorCode}");
            }
        }
    }

    public async Task<ErrorCode> HeartbeatAsync()
    {
        var response = await Wire.CallAsync<HeartbeatRequest, HeartbeatResponse>(
            new HeartbeatRequest { GroupId = GroupId, GenerationId = Generation, MemberId = MemberId }, HeartbeatVersion).ConfigureAwait(false);
        return response.ErrorCode;
    }

    /// <summary>LeaveGroup v3 for several members at once (cleanup: the group goes Empty without waiting for session timeouts).</summary>
    public async Task LeaveAsync(IEnumerable<string> memberIds)
    {
        var request = new LeaveGroupRequest { GroupId = GroupId, Members = memberIds.Select(id => new LeaveGroupRequest.Member { MemberId = id }).ToList() };
        var response = await Wire.CallAsync<LeaveGroupRequest, LeaveGroupResponse>(request, LeaveVersion).ConfigureAwait(false);
        if (response.ErrorCode != ErrorCode.None)
        {
            throw new InvalidOperationException($"{GroupId}: LeaveGroup answered {response.ErrorCode}");
        }
    }

    private async Task<JoinGroupResponse> JoinAsync()
    {
        var request = new JoinGroupRequest
        {
            GroupId = GroupId,
            SessionTimeoutMs = SessionTimeoutMs,
            RebalanceTimeoutMs = RebalanceTimeoutMs,
            MemberId = MemberId,
            ProtocolType = ConsumerProtocolCodec.ProtocolType,
            Protocols = [new JoinGroupRequest.Protocol { Name = Assignor, Metadata = _subscription }],
        };
        Joins++;
        var response = await Wire.CallAsync<JoinGroupRequest, JoinGroupResponse>(request, JoinVersion).ConfigureAwait(false);
        JoinSent = Wire.LastSent;
        return response;
    }

    /// <summary>
    /// Kafka's RangeAssignor: per topic, the subscribed members sorted by member id; member i gets
    /// a contiguous range of P / n partitions, the first P mod n members one more.
    /// </summary>
    private List<SyncGroupRequest.Assignment> RangeAssign(IReadOnlyList<JoinGroupResponse.Member> members)
    {
        var byTopic = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var m in members)
        {
            foreach (var topic in ConsumerProtocolCodec.DecodeSubscription(m.Metadata).Topics)
            {
                if (!byTopic.TryGetValue(topic, out var list))
                {
                    byTopic[topic] = list = [];
                }

                list.Add(m.MemberId);
            }
        }

        var assigned = members.ToDictionary(m => m.MemberId, _ => new List<TopicPartition>(), StringComparer.Ordinal);
        foreach (var (topic, subscribers) in byTopic)
        {
            int partitions = topic == Topic ? _partitions : 0;
            subscribers.Sort(StringComparer.Ordinal);
            int per = partitions / subscribers.Count;
            int extra = partitions % subscribers.Count;
            for (int i = 0; i < subscribers.Count; i++)
            {
                int start = (i * per) + Math.Min(i, extra);
                int length = per + (i < extra ? 1 : 0);
                if (length > 0)
                {
                    assigned[subscribers[i]].AddRange(Enumerable.Range(start, length).Select(p => new TopicPartition(topic, p)));
                }
            }
        }

        return assigned.Select(kv => new SyncGroupRequest.Assignment { MemberId = kv.Key, AssignmentBytes = ConsumerProtocolCodec.EncodeAssignment(new(kv.Value)) }).ToList();
    }

    public void Dispose() => Wire.Dispose();
}
