using System.Globalization;
using System.Net;

namespace OrleansMQ.Broker.Benchmarks;

/// <summary>Settings of the <c>groups</c> scenarios (docs/benchmarks.md, "Consumer groups (issue 4)").</summary>
internal sealed record GroupBenchOptions
{
    /// <summary>A running silo (rebalance, commit); null: the scenario needs one and says so (memory hosts its own).</summary>
    public IPEndPoint? Bootstrap { get; init; }

    /// <summary>The topic the members subscribe to (created with <see cref="Partitions"/> partitions if missing).</summary>
    public string Topic { get; init; } = "groups-bench";

    public int Partitions { get; init; } = 1000;

    // ---- rebalance
    public int Members { get; init; } = 100;

    /// <summary>Kafka consumer defaults: heartbeat.interval.ms 3000, session.timeout.ms 45000, max.poll.interval.ms 300000.</summary>
    public int HeartbeatMs { get; init; } = 3000;

    public int SessionTimeoutMs { get; init; } = 45_000;

    public int RebalanceTimeoutMs { get; init; } = 300_000;

    /// <summary>initial: the group forms (every member joins at once); all: also the rebalance a 101st member causes.</summary>
    public string Phases { get; init; } = "all";

    /// <summary>Form (and rebalance) a small group first so the measured one does not pay the silo's JIT.</summary>
    public bool Warmup { get; init; } = true;

    // ---- commit
    public int Connections { get; init; } = 32;

    public int Groups { get; init; } = 8;

    public int InFlight { get; init; } = 16;

    public double Seconds { get; init; } = 10;

    public double WarmupSeconds { get; init; } = 2;

    /// <summary>Partitions per OffsetCommit request of the batched case.</summary>
    public int BatchPartitions { get; init; } = 10;

    /// <summary>Commit: comma-separated cases, in order: produce (the baseline), member1, memberN, standalone1.</summary>
    public string Cases { get; init; } = "produce,member1,memberN,standalone1,produce";

    /// <summary>Commit: the silo's process id, to report its CPU per request/offset (0: not measured).</summary>
    public int SiloPid { get; init; }

    // ---- memory
    public int MemoryGroups { get; init; } = 10_000;

    public int OffsetsPerGroup { get; init; } = 10;

    public string DataDirectory { get; init; } = "";

    // ---- memory and startup: a silo process of their own
    /// <summary>The silo's built executable (any commit's); empty: the one built next to this generator.</summary>
    public string Silo { get; init; } = "";

    /// <summary>How long a silo may take to get ready before the scenario gives up on it.</summary>
    public double ReadyTimeoutSeconds { get; init; } = 120;

    // ---- startup
    public int StartupGroups { get; init; } = 10_000;

    public int StartupOffsets { get; init; } = 3;

    /// <summary>Also time a restart after kill -9.</summary>
    public bool Unclean { get; init; } = true;

    public const string Usage = """
        usage: OrleansMQ.Broker.Benchmarks groups <rebalance|commit|memory|startup> [flags]
          rebalance  --members consumers (one connection each) join one group at once (JoinGroup v5,
                     MEMBER_ID_REQUIRED handled), the leader range-assigns --partitions partitions
                     ("consumer" protocol), everyone SyncGroups v3; prints the time from the last
                     JoinGroup sent to the last SyncGroup answer received. Phase "rejoin" (in "all"):
                     one more member joins the stable group; the others notice on their next heartbeat
                     (every --heartbeat-ms), rejoin and sync again.
          commit     --connections members of --groups groups, each keeping --in-flight OffsetCommit v7
                     requests outstanding; cases produce (Produce v7 of 1 x 16 B record, the baseline),
                     member1 (1 partition per request), memberN (--batch-partitions per request),
                     standalone1 (generation -1, no members)
          memory     starts --silo as a process of its own (a startup hook in it reads its heap);
                     --memory-groups groups x --offsets-per-group commits; managed heap per group while
                     activated and after a restart (loaded, not activated)
          startup    starts --silo as a process of its own; --startup-groups groups x --startup-offsets
                     commits, clean stop, restart: time from process start to the Kafka port accepting,
                     to the coordinator answering OffsetFetch of the last group with its offsets, and
                     to /readyz 200; then new offsets, kill -9, restart timed again (--unclean)
        flags (defaults):
          --bootstrap HOST:PORT     required for rebalance and commit
          --topic NAME              groups-bench      --partitions N        1000
          --members N               100               --heartbeat-ms MS     3000
          --session-timeout-ms MS   45000             --rebalance-timeout-ms MS 300000
          --phases initial|all      all               --warmup true|false   true
          --connections C           32                --groups G            8
          --in-flight N             16                --seconds S           10
          --warmup-seconds S        2                 --batch-partitions K  10
          --cases LIST              produce,member1,memberN,standalone1,produce
          --silo-pid PID            commit: also report the silo's CPU per request and per offset
          --memory-groups N         10000             --offsets-per-group K 10
          --data DIR                memory, startup: a new temp folder (deleted at the end)
          --silo PATH               memory, startup: the silo executable (default: the one next to
                                    this generator); started with --data --port --listen --http-port
                                    and OrleansMQ__Cluster__SiloPort/GatewayPort (free ports)
          --startup-groups N        10000             --startup-offsets K   3
          --unclean true|false      true              --ready-timeout-s S   120
        """;

    public static GroupBenchOptions Parse(ReadOnlySpan<string> args)
    {
        var o = new GroupBenchOptions();
        for (int i = 0; i < args.Length; i += 2)
        {
            string name = args[i];
            if (i + 1 >= args.Length)
            {
                throw new ArgumentException($"{name} needs a value");
            }

            string v = args[i + 1];
            o = name switch
            {
                "--bootstrap" => o with { Bootstrap = ParseEndPoint(v) },
                "--topic" => o with { Topic = v },
                "--partitions" => o with { Partitions = Positive(name, v) },
                "--members" => o with { Members = Positive(name, v) },
                "--heartbeat-ms" => o with { HeartbeatMs = Positive(name, v) },
                "--session-timeout-ms" => o with { SessionTimeoutMs = Positive(name, v) },
                "--rebalance-timeout-ms" => o with { RebalanceTimeoutMs = Positive(name, v) },
                "--phases" => o with { Phases = v is "initial" or "all" ? v : throw new ArgumentException("--phases is initial or all") },
                "--warmup" => o with { Warmup = bool.Parse(v) },
                "--connections" => o with { Connections = Positive(name, v) },
                "--groups" => o with { Groups = Positive(name, v) },
                "--in-flight" => o with { InFlight = Positive(name, v) },
                "--seconds" => o with { Seconds = double.Parse(v, CultureInfo.InvariantCulture) },
                "--warmup-seconds" => o with { WarmupSeconds = double.Parse(v, CultureInfo.InvariantCulture) },
                "--batch-partitions" => o with { BatchPartitions = Positive(name, v) },
                "--cases" => o with { Cases = v },
                "--silo-pid" => o with { SiloPid = Positive(name, v) },
                "--memory-groups" => o with { MemoryGroups = Positive(name, v) },
                "--offsets-per-group" => o with { OffsetsPerGroup = Positive(name, v) },
                "--data" => o with { DataDirectory = v },
                "--silo" => o with { Silo = v },
                "--startup-groups" => o with { StartupGroups = Positive(name, v) },
                "--startup-offsets" => o with { StartupOffsets = Positive(name, v) },
                "--unclean" => o with { Unclean = bool.Parse(v) },
                "--ready-timeout-s" => o with { ReadyTimeoutSeconds = double.Parse(v, CultureInfo.InvariantCulture) },
                _ => throw new ArgumentException($"unknown flag {name}"),
            };
        }

        if (o.Groups > o.Connections)
        {
            throw new ArgumentException("--groups must not exceed --connections (every group needs a member)");
        }

        return o;
    }

    public IPEndPoint RequireBootstrap() =>
        Bootstrap ?? throw new ArgumentException("--bootstrap HOST:PORT is required (a running silo; infra/bench-groups.sh starts one)");

    /// <summary>The silo executable to start: --silo, or the one copied next to this generator (it references the silo project).</summary>
    public string RequireSilo()
    {
        string path = Silo.Length > 0 ? Silo : Path.Combine(AppContext.BaseDirectory, "OrleansMQ.Silo");
        return File.Exists(path) ? Path.GetFullPath(path) : throw new ArgumentException($"--silo {path}: no such file (the silo's built executable, e.g. Silo/bin/Release/net10.0/OrleansMQ.Silo)");
    }

    private static int Positive(string name, string value)
    {
        int n = int.Parse(value, CultureInfo.InvariantCulture);
        return n > 0 ? n : throw new ArgumentException($"{name} must be positive");
    }

    private static IPEndPoint ParseEndPoint(string value)
    {
        int colon = value.LastIndexOf(':');
        if (colon <= 0)
        {
            throw new ArgumentException("--bootstrap must be HOST:PORT");
        }

        string host = value[..colon];
        int port = int.Parse(value.AsSpan(colon + 1), CultureInfo.InvariantCulture);
        var address = IPAddress.TryParse(host, out var ip) ? ip : Dns.GetHostAddresses(host)[0];
        return new IPEndPoint(address, port);
    }
}
