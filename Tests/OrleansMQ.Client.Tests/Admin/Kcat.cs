using System.Diagnostics;
using System.Globalization;
using System.Text;
using OrleansMQ.Silo.Tests.Broker;
using Xunit;

namespace OrleansMQ.Client.Tests.Admin;

/// <summary>
/// kcat for the admin tests: produce to an exact partition, and a balanced (-G) consumer that can
/// be stopped cleanly (SIGTERM: final commit and LeaveGroup). The silo tests' ExternalTool is
/// internal to that assembly, so this is the small part of it these tests need.
/// </summary>
internal static class Kcat
{
    public static string Path()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
        {
            var candidate = System.IO.Path.Combine(dir, "kcat");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        Assert.Fail("'kcat' is not installed; infra/test.sh installs it (apt-get install kcat).");
        return "kcat";
    }

    /// <summary>Produces <paramref name="count"/> messages "m0".."m{count-1}" to one partition.</summary>
    public static async Task ProduceAsync(TestSilo silo, string topic, int partition, int count)
    {
        var input = string.Concat(Enumerable.Range(0, count).Select(i => $"m{i}\n"));
        var (exit, _, stderr) = await RunAsync(["-b", silo.Bootstrap, "-P", "-t", topic, "-p", partition.ToString(CultureInfo.InvariantCulture), "-X", "linger.ms=5"], input);
        Assert.True(exit == 0, $"kcat produce failed: {stderr}");
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(IEnumerable<string> args, string stdin)
    {
        var psi = new ProcessStartInfo(Path()) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Starts "kcat -G group topic" printing "partition offset value" lines.</summary>
    public static Consumer StartConsumer(TestSilo silo, string group, string topic, string clientId) => new(
    [
        "-b", silo.Bootstrap, "-G", group, "-u", "-f", "%p %o %s\n",
        "-X", $"client.id={clientId}",
        "-X", "auto.offset.reset=earliest",
        "-X", "session.timeout.ms=6000",
        "-X", "heartbeat.interval.ms=1000",
        topic,
    ]);

    public sealed class Consumer : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _stderr = new();
        private int _lines;

        internal Consumer(IEnumerable<string> args)
        {
            var psi = new ProcessStartInfo(Path()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in args)
            {
                psi.ArgumentList.Add(a);
            }

            _process = new Process { StartInfo = psi };
            _process.OutputDataReceived += (_, e) =>
            {
                if (!string.IsNullOrEmpty(e.Data))
                {
                    Interlocked.Increment(ref _lines);
                }
            };
            _process.ErrorDataReceived += (_, e) =>
            {
                lock (_stderr)
                {
                    _stderr.AppendLine(e.Data);
                }
            };
            _process.Start();
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        /// <summary>Messages printed so far.</summary>
        public int Consumed => Volatile.Read(ref _lines);

        public string Stderr
        {
            get
            {
                lock (_stderr)
                {
                    return _stderr.ToString();
                }
            }
        }

        /// <summary>SIGTERM and wait: kcat commits its offsets and leaves the group.</summary>
        public async Task StopAsync()
        {
            if (!_process.HasExited)
            {
                using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)])!;
                await kill.WaitForExitAsync();
            }

            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _process.WaitForExitAsync(cts.Token);
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                if (!_process.HasExited)
                {
                    _process.Kill(entireProcessTree: true);
                    await _process.WaitForExitAsync();
                }
            }
            catch (InvalidOperationException)
            {
            }

            _process.Dispose();
        }
    }

    /// <summary>Polls <paramref name="probe"/> until it holds; fails with <paramref name="what"/> and the last state it reported.</summary>
    public static async Task<T> WaitAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, string what, Func<string>? diagnostics = null)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var value = await probe();
            if (done(value))
            {
                return value;
            }

            if (clock.Elapsed > timeout)
            {
                Assert.Fail($"{what}: not reached in {timeout.TotalSeconds} s; last: {value}{diagnostics?.Invoke()}");
            }

            await Task.Delay(100);
        }
    }
}
