using Xunit;
using System.Diagnostics;
using System.Text;
using OrleansMQ.Storage.Engine;
using Xunit.Abstractions;
using static OrleansMQ.Storage.Tests.Engine.TestSupport;

namespace OrleansMQ.Storage.Tests.Engine;

/// <summary>
/// A child process appends under load and reports every acknowledgement; the test SIGKILLs it and
/// then checks, after recovery, that every acknowledged batch is readable with its content and that
/// nothing readable is half-written (every batch validates, offsets are contiguous).
/// </summary>
public sealed class CrashTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly ITestOutputHelper _output;

    public CrashTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("async")]
    [InlineData("sync")]
    public async Task Every_acknowledged_append_survives_kill_9(string flush)
    {
        var acked = new List<(int Partition, long BaseOffset, int Writer, long Seq, int Records, int Run)>();
        for (int round = 0; round < 2; round++)
        {
            // Second round: recover, keep writing on top of the recovered log, kill again.
            acked.AddRange(await RunAndKill(flush, round, acksBeforeKill: 1500 + (round * 500)));
        }

        // The same file sizes as the crash host uses.
        var options = SmallOptions(_dir.Path);
        options.ConsumeQueueEntriesPerFile = 1024;
        options.IndexSlotCount = 1024;
        options.IndexEntriesPerFile = 8192;
        using var engine = StorageEngine.Open(options);
        Assert.False(engine.Recovery.CleanShutdown);
        var byPartition = new Dictionary<int, List<(long Offset, string? Key, string Value, long Timestamp)>>();
        for (int p = 0; p < 4; p++)
        {
            Assert.True(engine.TryGetPartition("crash", p, out var log));
            var records = ReadAll(engine, log); // validates every batch's CRC-32C on the way
            Assert.Equal(Enumerable.Range(0, records.Count).Select(i => (long)i), records.Select(r => r.Offset));
            Assert.Equal(log.LogEndOffset, records.Count);
            byPartition[p] = records;

            // Nothing half-visible: each batch that is there is there whole (records r0..rN-1 of one seq).
            foreach (var batch in records.GroupBy(r => r.Value[..r.Value.IndexOf("-r", StringComparison.Ordinal)]))
            {
                var indexes = batch.Select(r => int.Parse(r.Value.Split('-')[2][1..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
                Assert.Equal(Enumerable.Range(0, indexes.Count), indexes);
            }
        }

        foreach (var ack in acked)
        {
            var records = byPartition[ack.Partition];
            Assert.True(ack.BaseOffset + ack.Records <= records.Count, $"acknowledged batch at {ack.Partition}/{ack.BaseOffset} lost");
            for (int r = 0; r < ack.Records; r++)
            {
                Assert.StartsWith($"g{ack.Run}w{ack.Writer}-s{ack.Seq}-r{r}-", records[(int)ack.BaseOffset + r].Value, StringComparison.Ordinal);
            }
        }

        _output.WriteLine($"{flush}: {acked.Count} acknowledged batches verified, {byPartition.Values.Sum(v => v.Count)} records readable");
    }

    [Fact]
    public async Task Truncations_survive_kill_9_and_never_bring_the_old_tail_back()
    {
        // Partition 0 cycles keep/doom/truncate (as a follower does after OffsetForLeaderEpoch) while
        // eight writers append to partitions 1-3 of the same CommitLog; the kill lands anywhere.
        var acked = new List<(int Partition, long BaseOffset, int Writer, long Seq, int Records, int Run)>();
        var lines = new List<string>();
        for (int round = 0; round < 2; round++)
        {
            acked.AddRange(await RunAndKill("async", round, acksBeforeKill: 1500, truncate: true, truncationLines: lines, truncationsBeforeKill: 150 + (round * 100)));
        }

        var options = SmallOptions(_dir.Path);
        options.ConsumeQueueEntriesPerFile = 1024;
        options.IndexSlotCount = 1024;
        options.IndexEntriesPerFile = 8192;
        using var engine = StorageEngine.Open(options);
        Assert.True(engine.TryGetPartition("crash", 0, out var p0));
        var records = ReadAll(engine, p0);
        Assert.Equal(Enumerable.Range(0, records.Count).Select(i => (long)i), records.Select(r => r.Offset));
        Assert.Equal(p0.LogEndOffset, records.Count);
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        int keeps = 0, truncations = 0;
        foreach (var f in lines.Select(l => l.Split(' ')))
        {
            if (f[0] == "KEEP")
            {
                long baseOffset = long.Parse(f[2], inv);
                int count = int.Parse(f[5], inv);
                for (int r = 0; r < count; r++)
                {
                    Assert.StartsWith($"g{f[6]}keep-c{f[3]}-s{f[4]}-r{r}-", records[(int)baseOffset + r].Value, StringComparison.Ordinal);
                }

                keeps++;
            }
            else
            {
                string doomed = $"g{f[4]}doom-c{f[3]}-";
                Assert.DoesNotContain(records, r => r.Value.StartsWith(doomed, StringComparison.Ordinal));
                truncations++;
            }
        }

        // Doomed batches may remain only from a cycle whose truncation the kill prevented: at most one per run.
        var leftovers = records.Where(r => r.Value.Contains("doom-", StringComparison.Ordinal)).Select(r => r.Value[..r.Value.IndexOf("-s", StringComparison.Ordinal)]).Distinct().ToList();
        Assert.True(leftovers.Count <= 2, $"doomed batches of {string.Join(", ", leftovers)} survived");
        Assert.True(truncations >= 250 && keeps > truncations, $"{keeps} keeps, {truncations} truncations");
        Assert.True(engine.LookupByKey(p0, "p0"u8, 0, long.MaxValue, 10_000).All(h => !Encoding.ASCII.GetString(h.Value).Contains("doom", StringComparison.Ordinal) || leftovers.Any(l => Encoding.ASCII.GetString(h.Value).StartsWith(l, StringComparison.Ordinal))));

        for (int p = 1; p < 4; p++)
        {
            Assert.True(engine.TryGetPartition("crash", p, out var log));
            var other = ReadAll(engine, log);
            Assert.Equal(Enumerable.Range(0, other.Count).Select(i => (long)i), other.Select(r => r.Offset));
            foreach (var ack in acked.Where(a => a.Partition == p))
            {
                for (int r = 0; r < ack.Records; r++)
                {
                    Assert.StartsWith($"g{ack.Run}w{ack.Writer}-s{ack.Seq}-r{r}-", other[(int)ack.BaseOffset + r].Value, StringComparison.Ordinal);
                }
            }
        }

        _output.WriteLine($"{keeps} kept batches and {truncations} truncations verified on partition 0 ({records.Count} records), {acked.Count} acknowledged batches on the others");
    }

    private async Task<List<(int, long, int, long, int, int)>> RunAndKill(string flush, int run, int acksBeforeKill, bool truncate = false, List<string>? truncationLines = null, int truncationsBeforeKill = 0)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(CrashHostPath());
        psi.ArgumentList.Add(_dir.Path);
        psi.ArgumentList.Add(flush);
        psi.ArgumentList.Add("4");
        psi.ArgumentList.Add("8");
        psi.ArgumentList.Add(run.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (truncate)
        {
            psi.ArgumentList.Add("truncate");
        }

        int truncations = 0;
        using var child = Process.Start(psi)!;
        var stderr = child.StandardError.ReadToEndAsync();
        var acks = new List<(int, long, int, long, int, int)>();
        var deadline = Stopwatch.StartNew();
        while (acks.Count < acksBeforeKill || truncations < truncationsBeforeKill)
        {
            var line = await child.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            if (line is null)
            {
                Assert.Fail($"crash host exited early: {await stderr}");
            }

            if (line.StartsWith("ACK ", StringComparison.Ordinal))
            {
                acks.Add(Parse(line));
            }
            else if (line.StartsWith("KEEP ", StringComparison.Ordinal) || line.StartsWith("TRUNC ", StringComparison.Ordinal))
            {
                truncationLines!.Add(line);
                truncations += line[0] == 'T' ? 1 : 0;
            }

            Assert.True(deadline.Elapsed < TimeSpan.FromMinutes(2), "crash host too slow");
        }

        child.Kill(); // SIGKILL: no flush, no checkpoint, no clean-shutdown marker
        // Acknowledgements already printed before the kill count too.
        string? rest;
        while ((rest = await child.StandardOutput.ReadLineAsync()) is not null)
        {
            if (rest.StartsWith("ACK ", StringComparison.Ordinal) && rest.Split(' ').Length == 7)
            {
                acks.Add(Parse(rest));
            }
            else if ((rest.StartsWith("KEEP ", StringComparison.Ordinal) && rest.Split(' ').Length == 7) || (rest.StartsWith("TRUNC ", StringComparison.Ordinal) && rest.Split(' ').Length == 5))
            {
                truncationLines!.Add(rest); // printed before the kill: its append or truncation had returned
            }
        }

        await child.WaitForExitAsync();
        Assert.False(File.Exists(Path.Combine(_dir.Path, "clean-shutdown")));
        return acks;
    }

    private static (int, long, int, long, int, int) Parse(string line)
    {
        var f = line.Split(' ');
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        return (int.Parse(f[1], inv), long.Parse(f[2], inv), int.Parse(f[3], inv), long.Parse(f[4], inv), int.Parse(f[5], inv), int.Parse(f[6], inv));
    }

    private static string CrashHostPath()
    {
        // Tests/OrleansMQ.Storage.Tests/bin/<Config>/net10.0/ → Tests/OrleansMQ.Storage.CrashHost/bin/<Config>/net10.0/
        var baseDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string tfm = baseDir.Name;
        string config = baseDir.Parent!.Name;
        var testsDir = baseDir.Parent!.Parent!.Parent!.Parent!.FullName;
        var path = Path.Combine(testsDir, "OrleansMQ.Storage.CrashHost", "bin", config, tfm, "OrleansMQ.Storage.CrashHost.dll");
        Assert.True(File.Exists(path), $"crash host not built at {path}");
        return path;
    }
}
