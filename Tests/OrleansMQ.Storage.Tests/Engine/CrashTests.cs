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

    private async Task<List<(int, long, int, long, int, int)>> RunAndKill(string flush, int run, int acksBeforeKill)
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
        using var child = Process.Start(psi)!;
        var stderr = child.StandardError.ReadToEndAsync();
        var acks = new List<(int, long, int, long, int, int)>();
        var deadline = Stopwatch.StartNew();
        while (acks.Count < acksBeforeKill)
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
