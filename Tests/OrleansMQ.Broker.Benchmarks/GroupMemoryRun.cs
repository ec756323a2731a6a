using System.Diagnostics;
using System.Globalization;

namespace OrleansMQ.Broker.Benchmarks;

/// <summary>
/// Managed heap per consumer group, of a silo in its own process (<see cref="SiloProcess"/>: the
/// executable of any commit, so the silo before the Orleans change can be measured beside the
/// current one). The startup hook of OrleansMQ.Broker.Benchmarks.Probe, loaded into the silo, reads
/// its heap after forced, compacting full GCs and its activation count (the Orleans catalog's
/// meter, or the pre-Orleans grain host by reflection, or "n/a"); nothing needs to be exposed by
/// the silo and nothing here references its types.
/// <list type="number">
/// <item>Silo 1 (fresh data): 100 warm-up groups, heap H0; then N groups ("a-*") each get K
/// committed offsets over the wire (standalone OffsetCommit v7, K partitions in one request; no
/// members), clients closed, heap H1. The groups are still activated (idle timeout: 10 min):
/// <b>activated</b> = (H1 − H0) / N.</item>
/// <item>Silo 1 stops cleanly (SIGTERM); silo 2 starts on the same data and loads the groups,
/// activating none — it is ready when the coordinator answers OffsetFetch of the last group with
/// its offsets and /readyz says 200: heap H2. Silo 2 gets N more groups ("b-*") the same way and
/// stops; silo 3 loads all 2N + 100: heap H3. <b>idle</b> = (H3 − H2) / N: two silos that differ
/// only in the number of stored groups.</item>
/// </list>
/// </summary>
internal static class GroupMemoryRun
{
    private const int WarmGroups = 100;
    private static readonly CultureInfo Culture = CultureInfo.InvariantCulture;

    public static async Task<int> RunAsync(GroupBenchOptions o)
    {
        string siloExe = o.RequireSilo();
        bool ownDirectory = o.DataDirectory.Length == 0;
        string root = ownDirectory ? Path.Combine(Path.GetTempPath(), "omq-bench-groups-mem-" + Guid.NewGuid().ToString("N")) : o.DataDirectory;
        string data = Path.Combine(root, "silo");
        string log = Path.Combine(root, "silo.log");
        int n = o.MemoryGroups;
        int k = o.OffsetsPerGroup;
        var timeout = TimeSpan.FromSeconds(o.ReadyTimeoutSeconds);
        try
        {
            ProbeReading r0, r1, r2, r3;
            Readiness ready2, ready3;
            int? listed2, listed3;
            double commitSeconds;
            await using (var silo = await SiloProcess.StartAsync(siloExe, data, log, probe: true).ConfigureAwait(false))
            {
                Require(await silo.WaitReadyAsync("warm-0", o.Topic, null, timeout).ConfigureAwait(false), "silo 1 (fresh)");
                GroupSetup.EnsureTopic(silo.EndPoint, o.Topic, k);
                await GroupOffsets.CommitAsync(silo.EndPoint, o.Topic, "warm", WarmGroups, k).ConfigureAwait(false);
                r0 = await silo.HeapAsync().ConfigureAwait(false);
                var clock = Stopwatch.StartNew();
                await GroupOffsets.CommitAsync(silo.EndPoint, o.Topic, "a", n, k).ConfigureAwait(false);
                commitSeconds = clock.Elapsed.TotalSeconds;
                r1 = await silo.HeapAsync().ConfigureAwait(false);
                await silo.StopAsync(timeout).ConfigureAwait(false);
            }

            await using (var silo = await SiloProcess.StartAsync(siloExe, data, log, probe: true).ConfigureAwait(false))
            {
                ready2 = Require(await silo.WaitReadyAsync($"a-{n - 1}", o.Topic, GroupOffsets.Expected(k, 1000), timeout).ConfigureAwait(false), "silo 2");
                r2 = await silo.HeapAsync().ConfigureAwait(false);
                listed2 = await silo.ListGroupsCountAsync().ConfigureAwait(false);
                await GroupOffsets.CheckAsync(silo.EndPoint, o.Topic, "a-0", k, 1000).ConfigureAwait(false);
                await GroupOffsets.CommitAsync(silo.EndPoint, o.Topic, "b", n, k).ConfigureAwait(false);
                await silo.StopAsync(timeout).ConfigureAwait(false);
            }

            await using (var silo = await SiloProcess.StartAsync(siloExe, data, log, probe: true).ConfigureAwait(false))
            {
                ready3 = Require(await silo.WaitReadyAsync($"b-{n - 1}", o.Topic, GroupOffsets.Expected(k, 1000), timeout).ConfigureAwait(false), "silo 3");
                r3 = await silo.HeapAsync().ConfigureAwait(false);
                listed3 = await silo.ListGroupsCountAsync().ConfigureAwait(false);
                await GroupOffsets.CheckAsync(silo.EndPoint, o.Topic, "a-0", k, 1000).ConfigureAwait(false);
                await GroupOffsets.CheckAsync(silo.EndPoint, o.Topic, "b-0", k, 1000).ConfigureAwait(false);
                await silo.StopAsync(timeout).ConfigureAwait(false);
            }

            long h0 = r0.Heap, h1 = r1.Heap, h2 = r2.Heap, h3 = r3.Heap;
            double activated = (h1 - h0) / (double)n;
            double idle = (h3 - h2) / (double)n;
            string Listed(int? count) => count is { } c ? c.ToString("N0", Culture) : "n/a";
            Console.WriteLine(string.Create(Culture,
                $"memory: {n:N0} groups x {k} committed offsets (standalone commits, no members; topic name {o.Topic.Length} chars, group ids up to {("a-" + (n - 1)).Length} chars), committed in {commitSeconds:0.00} s; silo {siloExe}"));
            Console.WriteLine(string.Create(Culture,
                $"  activated ({r1.Activations} activations, from {r1.ActivationsSource}; {WarmGroups + n:N0} groups): heap {Mb(h0)} -> {Mb(h1)} MB = {activated:N0} bytes/group (RSS {Mb(r1.Rss)} MB)"));
            Console.WriteLine(string.Create(Culture,
                $"  idle (after a restart; {r2.Activations} / {r3.Activations} activations): {WarmGroups + n:N0} groups ready {ready2.ReadyMs:0} ms after the process started (ListGroups: {Listed(listed2)}), heap {Mb(h2)} MB; {WarmGroups + 2 * n:N0} groups ready after {ready3.ReadyMs:0} ms (ListGroups: {Listed(listed3)}), heap {Mb(h3)} MB = {idle:N0} bytes/group (RSS {Mb(r3.Rss)} MB)"));
            Console.WriteLine(string.Create(Culture,
                $"RESULT memory groups={n} offsets_per_group={k} activated_bytes_per_group={activated:0} idle_bytes_per_group={idle:0} h0={h0} h1={h1} h2={h2} h3={h3} activations={r1.Activations} activations_source={r1.ActivationsSource} ready2_ms={ready2.ReadyMs:0} ready3_ms={ready3.ReadyMs:0} listed2={Listed(listed2).Replace(",", "", StringComparison.Ordinal)} listed3={Listed(listed3).Replace(",", "", StringComparison.Ordinal)} rss1={r1.Rss} rss3={r3.Rss} commit_s={commitSeconds:0.00}"));
            return 0;
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

    private static Readiness Require(Readiness ready, string what)
    {
        Console.Error.WriteLine(ready.Describe(what));
        return ready.Ok ? ready : throw new InvalidOperationException($"{what} not ready: {ready.Problem}");
    }

    private static string Mb(long bytes) => (bytes / 1e6).ToString("0.0", Culture);
}
