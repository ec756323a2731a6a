using System.Diagnostics;
using System.Globalization;
using System.Net;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Broker.Benchmarks;

/// <summary>
/// Rebalance time of one group over the wire (target: 100 members, 1,000 partitions, ≤ 1 s from the
/// last member's JoinGroup to every member holding its SyncGroup assignment).
/// <list type="bullet">
/// <item><b>initial</b>: N new consumers, one connection each, first get their member ids
/// (MEMBER_ID_REQUIRED; the coordinator now waits for all of them), then all send JoinGroup at
/// once; the leader range-assigns, everybody syncs.</item>
/// <item><b>rejoin</b>: the group is stable and every member heartbeats every
/// <see cref="GroupBenchOptions.HeartbeatMs"/>; one more consumer joins; the others hear
/// REBALANCE_IN_PROGRESS on their next heartbeat, rejoin and sync. Measured both from the
/// newcomer's JoinGroup (includes up to one heartbeat interval of waiting) and from the last rejoin.</item>
/// </list>
/// Each run checks that the assignments cover every partition exactly once.
/// </summary>
internal static class GroupRebalanceRun
{
    private static readonly CultureInfo Culture = CultureInfo.InvariantCulture;

    public static async Task<int> RunAsync(GroupBenchOptions options)
    {
        var endPoint = options.RequireBootstrap();
        GroupSetup.EnsureTopic(endPoint, options.Topic, options.Partitions);
        string suffix = Environment.TickCount64.ToString("x", Culture);
        if (options.Warmup)
        {
            // Same code paths, small: the measured group does not pay the silo's first-call JIT.
            var warm = options with { Members = Math.Min(10, options.Members), HeartbeatMs = Math.Min(options.HeartbeatMs, 200) };
            await RunGroupAsync(endPoint, warm, "rb-warm-" + suffix, print: false).ConfigureAwait(false);
        }

        await RunGroupAsync(endPoint, options, "rb-" + suffix, print: true).ConfigureAwait(false);
        return 0;
    }

    private static async Task RunGroupAsync(IPEndPoint endPoint, GroupBenchOptions o, string groupId, bool print)
    {
        var members = await Task.WhenAll(Enumerable.Range(0, o.Members).Select(i =>
            GroupMember.ConnectAsync(endPoint, groupId, o.Topic, o.Partitions, o.SessionTimeoutMs, o.RebalanceTimeoutMs, "bench-consumer-" + i))).ConfigureAwait(false);
        GroupMember? newcomer = null;
        try
        {
            // ---- initial formation
            await Task.WhenAll(members.Select(m => m.RequestMemberIdAsync())).ConfigureAwait(false);
            long cpu0 = CpuTicks();
            await Task.WhenAll(members.Select(m => m.JoinAndSyncAsync())).ConfigureAwait(false);
            var initial = Measure(members, trigger: null);
            Verify(members, o.Partitions);
            var beats = await Task.WhenAll(members.Select(m => m.HeartbeatAsync())).ConfigureAwait(false);
            if (beats.Any(e => e != ErrorCode.None))
            {
                throw new InvalidOperationException($"heartbeat after the rebalance: {beats.First(e => e != ErrorCode.None)}");
            }

            if (print)
            {
                Print("initial", o, members.Length, initial, CpuSeconds(cpu0));
            }

            if (o.Phases == "all")
            {
                // ---- rejoin: one more consumer joins the stable group
                newcomer = await GroupMember.ConnectAsync(endPoint, groupId, o.Topic, o.Partitions, o.SessionTimeoutMs, o.RebalanceTimeoutMs, "bench-consumer-new").ConfigureAwait(false);
                await newcomer.RequestMemberIdAsync().ConfigureAwait(false);
                var stop = new CancellationTokenSource();
                long heartbeatTicks = (long)(o.HeartbeatMs / 1000.0 * Stopwatch.Frequency);
                var loops = members.Select(m => HeartbeatUntilRejoinedAsync(m, heartbeatTicks)).ToList();
                // Join somewhere inside the members' heartbeat cycle (they synced together, so their cycles are aligned).
                await Task.Delay(o.HeartbeatMs / 3).ConfigureAwait(false);
                cpu0 = CpuTicks();
                await newcomer.JoinAndSyncAsync().ConfigureAwait(false);
                await Task.WhenAll(loops).ConfigureAwait(false);
                var all = members.Append(newcomer).ToArray();
                var rejoin = Measure(all, trigger: newcomer);
                Verify(all, o.Partitions);
                if (print)
                {
                    Print("rejoin", o, all.Length, rejoin, CpuSeconds(cpu0));
                }
            }

            // Cleanup: everyone leaves in one request; the group goes Empty at once.
            var leaving = members.Select(m => m.MemberId).ToList();
            if (newcomer is not null)
            {
                leaving.Add(newcomer.MemberId);
            }

            await members[0].LeaveAsync(leaving).ConfigureAwait(false);
        }
        finally
        {
            foreach (var m in members)
            {
                m.Dispose();
            }

            newcomer?.Dispose();
        }
    }

    /// <summary>A consumer's heartbeat thread: every interval after the last one; on REBALANCE_IN_PROGRESS it rejoins.</summary>
    private static async Task HeartbeatUntilRejoinedAsync(GroupMember member, long intervalTicks)
    {
        long next = member.Wire.LastReceived + intervalTicks;
        while (true)
        {
            long wait = next - Stopwatch.GetTimestamp();
            if (wait > 0)
            {
                await Task.Delay(TimeSpan.FromSeconds(wait / (double)Stopwatch.Frequency)).ConfigureAwait(false);
            }

            var error = await member.HeartbeatAsync().ConfigureAwait(false);
            next = member.Wire.LastSent + intervalTicks;
            switch (error)
            {
                case ErrorCode.None:
                    continue;
                case ErrorCode.RebalanceInProgress:
                    await member.JoinAndSyncAsync().ConfigureAwait(false);
                    return;
                default:
                    throw new InvalidOperationException($"{member.MemberId}: heartbeat answered {error}");
            }
        }
    }

    private readonly record struct Timing(double AfterLastJoinMs, double FromTriggerMs, double JoinPhaseMs, double SyncPhaseMs, double LeaderAssignMs, int Joins, int Generation);

    /// <summary>
    /// AfterLastJoin: last JoinGroup sent → last SyncGroup answer received. JoinPhase: last JoinGroup
    /// sent → last JoinGroup answer. SyncPhase: leader's SyncGroup sent → last SyncGroup answer.
    /// </summary>
    private static Timing Measure(GroupMember[] members, GroupMember? trigger)
    {
        long lastJoin = members.Max(m => m.JoinSent);
        long lastJoinAnswer = members.Max(m => m.JoinAnswered);
        long lastSync = members.Max(m => m.SyncAnswered);
        var leader = members.Single(m => m.IsLeader);
        return new Timing(
            Ms(lastSync - lastJoin),
            trigger is null ? double.NaN : Ms(lastSync - trigger.JoinSent),
            Ms(lastJoinAnswer - lastJoin),
            Ms(lastSync - leader.SyncSent),
            leader.AssignMs,
            members.Sum(m => m.Joins),
            members[0].Generation);
    }

    private static void Verify(GroupMember[] members, int partitions)
    {
        if (members.Select(m => m.Generation).Distinct().Count() != 1)
        {
            throw new InvalidOperationException("members ended in different generations");
        }

        var seen = new bool[partitions];
        foreach (var m in members)
        {
            foreach (int p in m.Assigned)
            {
                if (p < 0 || p >= partitions || seen[p])
                {
                    throw new InvalidOperationException($"partition {p} assigned twice or out of range");
                }

                seen[p] = true;
            }
        }

        if (seen.Any(s => !s))
        {
            throw new InvalidOperationException($"{seen.Count(s => !s)} partitions not assigned");
        }
    }

    private static void Print(string phase, GroupBenchOptions o, int members, Timing t, double generatorCpu)
    {
        Console.WriteLine(string.Create(Culture,
            $"rebalance {phase}: {members} members, {o.Partitions} partitions, generation {t.Generation}, {t.Joins} JoinGroup requests in all: last JoinGroup sent -> every member assigned {t.AfterLastJoinMs:0.0} ms (join phase {t.JoinPhaseMs:0.0} ms, leader's SyncGroup -> last assignment {t.SyncPhaseMs:0.0} ms, leader's range assignment {t.LeaderAssignMs:0.00} ms){(double.IsNaN(t.FromTriggerMs) ? "" : string.Create(Culture, $"; newcomer's JoinGroup -> every member assigned {t.FromTriggerMs:0.0} ms (heartbeat interval {o.HeartbeatMs} ms)"))}; generator CPU {generatorCpu:0.00} s"));
        Console.WriteLine(string.Create(Culture,
            $"RESULT rebalance phase={phase} members={members} partitions={o.Partitions} after_last_join_ms={t.AfterLastJoinMs:0.0} join_phase_ms={t.JoinPhaseMs:0.0} sync_phase_ms={t.SyncPhaseMs:0.0} assign_ms={t.LeaderAssignMs:0.00} from_trigger_ms={(double.IsNaN(t.FromTriggerMs) ? "-" : t.FromTriggerMs.ToString("0.0", Culture))} joins={t.Joins} generation={t.Generation} gen_cpu_s={generatorCpu:0.00}"));
    }

    private static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    private static long CpuTicks() => Process.GetCurrentProcess().TotalProcessorTime.Ticks;

    private static double CpuSeconds(long since) => TimeSpan.FromTicks(CpuTicks() - since).TotalSeconds;
}

/// <summary>Setup calls shared by the group scenarios.</summary>
internal static class GroupSetup
{
    public static void EnsureTopic(IPEndPoint endPoint, string topic, int partitions)
    {
        var request = new CreateTopicsRequest
        {
            Topics = [new CreateTopicsRequest.Topic { Name = topic, NumPartitions = partitions, ReplicationFactor = 1 }],
            TimeoutMs = 60_000,
        };
        var response = ProduceConnection.Exchange<CreateTopicsRequest, CreateTopicsResponse>(endPoint, request, 4);
        var error = response.Topics.Single().ErrorCode;
        if (error is not (ErrorCode.None or ErrorCode.TopicAlreadyExists))
        {
            throw new InvalidOperationException($"CreateTopics {topic}: {error}");
        }
    }
}
