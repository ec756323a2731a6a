using System.Diagnostics;
using System.Globalization;

namespace OrleansMQ.Broker.Benchmarks;

/// <summary>
/// Silo start-to-ready with many stored groups (target ≤ 3 s with 10,000), a silo in its own
/// process (<see cref="SiloProcess"/>, any commit's executable). Times run from the creation of the
/// process (fork/exec of the silo's executable) to:
/// <list type="bullet">
/// <item><b>listen</b>: the Kafka port accepts a connection;</item>
/// <item><b>coordinator</b>: FindCoordinator for the last group answers without error and OffsetFetch
/// of that group returns its committed offsets (not COORDINATOR_LOAD_IN_PROGRESS, nor an offset not
/// loaded yet);</item>
/// <item><b>/readyz</b>: the HTTP gateway's readiness probe answers 200;</item>
/// <item><b>ready</b>: the later of the last two (what a client and an orchestrator both need).</item>
/// </list>
/// Steps: a fresh silo (timed too: the empty-data reference) gets N groups ("s-*") of K committed
/// offsets each (standalone OffsetCommit v7, generation -1) and stops cleanly (SIGTERM).
/// <b>Clean restart</b>: a silo starts on that data, timed; then every group gets new offsets and the
/// silo is killed with SIGKILL (no shutdown, no snapshot). <b>Unclean restart</b>: a silo starts on
/// that data, timed, and must return the new offsets (of the last group while timed, of the first
/// after). Pollers: every 2 ms (connect) and 5 ms (requests), from this process.
/// </summary>
internal static class GroupStartupRun
{
    private static readonly CultureInfo Culture = CultureInfo.InvariantCulture;

    public static async Task<int> RunAsync(GroupBenchOptions o)
    {
        string siloExe = o.RequireSilo();
        bool ownDirectory = o.DataDirectory.Length == 0;
        string root = ownDirectory ? Path.Combine(Path.GetTempPath(), "omq-bench-groups-start-" + Guid.NewGuid().ToString("N")) : o.DataDirectory;
        string data = Path.Combine(root, "silo");
        string log = Path.Combine(root, "silo.log");
        int n = o.StartupGroups;
        int k = o.StartupOffsets;
        string last = $"s-{n - 1}";
        var timeout = TimeSpan.FromSeconds(o.ReadyTimeoutSeconds);
        try
        {
            Readiness fresh, clean;
            Readiness? unclean = null;
            double commitSeconds, stopMs, recommitSeconds = 0;
            string lost = "";
            await using (var silo = await SiloProcess.StartAsync(siloExe, data, log, probe: false).ConfigureAwait(false))
            {
                fresh = Report(await silo.WaitReadyAsync("s-0", o.Topic, null, timeout).ConfigureAwait(false), "fresh silo (no data)");
                if (!fresh.Ok)
                {
                    throw new InvalidOperationException("a fresh silo did not get ready: " + fresh.Problem);
                }

                GroupSetup.EnsureTopic(silo.EndPoint, o.Topic, k);
                var clock = Stopwatch.StartNew();
                await GroupOffsets.CommitAsync(silo.EndPoint, o.Topic, "s", n, k, 1000).ConfigureAwait(false);
                commitSeconds = clock.Elapsed.TotalSeconds;
                stopMs = await silo.StopAsync(timeout).ConfigureAwait(false);
            }

            Console.WriteLine(string.Create(Culture,
                $"startup: {n:N0} groups x {k} committed offsets (standalone commits), committed in {commitSeconds:0.00} s; clean stop (SIGTERM) took {stopMs:0} ms; silo {siloExe}"));
            await using (var silo = await SiloProcess.StartAsync(siloExe, data, log, probe: false).ConfigureAwait(false))
            {
                clean = Report(await silo.WaitReadyAsync(last, o.Topic, GroupOffsets.Expected(k, 1000), timeout).ConfigureAwait(false), $"clean restart, {n:N0} groups");
                if (clean.Ok)
                {
                    await GroupOffsets.CheckAsync(silo.EndPoint, o.Topic, "s-0", k, 1000).ConfigureAwait(false);
                }

                if (o.Unclean && clean.Ok)
                {
                    var clock = Stopwatch.StartNew();
                    await GroupOffsets.CommitAsync(silo.EndPoint, o.Topic, "s", n, k, 2000).ConfigureAwait(false);
                    recommitSeconds = clock.Elapsed.TotalSeconds;
                    await silo.KillAsync().ConfigureAwait(false);
                }
                else
                {
                    await silo.StopAsync(timeout).ConfigureAwait(false);
                }
            }

            if (o.Unclean && clean.Ok)
            {
                await using var silo = await SiloProcess.StartAsync(siloExe, data, log, probe: false).ConfigureAwait(false);
                unclean = Report(await silo.WaitReadyAsync(last, o.Topic, GroupOffsets.Expected(k, 2000), timeout).ConfigureAwait(false),
                    string.Create(Culture, $"unclean restart (kill -9 right after {n:N0} groups got new offsets in {recommitSeconds:0.00} s)"));
                if (unclean.Ok)
                {
                    try
                    {
                        await GroupOffsets.CheckAsync(silo.EndPoint, o.Topic, "s-0", k, 2000).ConfigureAwait(false);
                    }
                    catch (InvalidOperationException ex)
                    {
                        lost = ex.Message;
                        Console.WriteLine("  after the unclean restart: " + lost);
                    }
                }

                await silo.StopAsync(timeout).ConfigureAwait(false);
            }

            bool ok = clean.Ok && (unclean is null || (unclean.Ok && lost.Length == 0)) && (!o.Unclean || unclean is not null);
            Console.WriteLine(string.Create(Culture,
                $"RESULT startup groups={n} offsets_per_group={k} fresh_ready_ms={fresh.ReadyMs:0} commit_s={commitSeconds:0.00} stop_ms={stopMs:0} {Fields("clean", clean)} {Fields("unclean", unclean)} recommit_s={recommitSeconds:0.00} ok={(ok ? "true" : "false")}"));
            return ok ? 0 : 1;
        }
        finally
        {
            if (ownDirectory)
            {
                try
                {
                    Directory.Delete(root, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        }
    }

    private static Readiness Report(Readiness ready, string what)
    {
        Console.WriteLine("  " + ready.Describe(what));
        return ready;
    }

    /// <summary>RESULT fields of one restart: -1 = did not happen before the timeout, n/a = not measured (or no /readyz).</summary>
    private static string Fields(string prefix, Readiness? r) =>
        r is null
            ? $"{prefix}_listen_ms=n/a {prefix}_coordinator_ms=n/a {prefix}_readyz_ms=n/a {prefix}_ready_ms=n/a"
            : string.Create(Culture, $"{prefix}_listen_ms={r.ListenMs:0} {prefix}_coordinator_ms={r.CoordinatorMs:0} {prefix}_readyz_ms={(r.NoReadyz ? "n/a" : r.ReadyzMs.ToString("0", Culture))} {prefix}_ready_ms={r.ReadyMs:0}");
}
