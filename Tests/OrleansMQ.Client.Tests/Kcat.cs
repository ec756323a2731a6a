using System.Diagnostics;
using System.Globalization;
using OrleansMQ.Silo.Tests.Broker;
using OrleansMQ.Silo.Tests.Interop;
using Xunit;

namespace OrleansMQ.Client.Tests;

/// <summary>kcat as the client tests use it: a reader of whole topics, a producer of numbered messages and a long-running group member.</summary>
internal static class Kcat
{
    /// <summary>Reads <paramref name="topic"/> from the beginning to its end in <paramref name="format"/> (kcat -f); one line per message.</summary>
    public static async Task<string[]> ConsumeAsync(string bootstrap, string topic, string format, int? partition = null)
    {
        string[] args = ["-b", bootstrap, "-X", "socket.timeout.ms=10000", "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", format];
        if (partition is { } p)
        {
            args = [.. args, "-p", p.ToString(CultureInfo.InvariantCulture)];
        }

        var r = await ExternalTool.RunAsync(ExternalTool.Require("kcat"), args, timeout: TimeSpan.FromSeconds(120));
        Assert.True(r.ExitCode == 0, $"kcat failed: {r.Stderr}");
        return r.Lines;
    }

    /// <summary>Produces <paramref name="count"/> messages "m0".."m{count-1}" to one partition.</summary>
    public static async Task ProduceAsync(TestSilo silo, string topic, int partition, int count)
    {
        var input = string.Concat(Enumerable.Range(0, count).Select(i => $"m{i}\n"));
        var r = await ExternalTool.RunAsync(ExternalTool.Require("kcat"), ["-b", silo.Bootstrap, "-P", "-t", topic, "-p", partition.ToString(CultureInfo.InvariantCulture), "-X", "linger.ms=5"], input, TimeSpan.FromSeconds(60));
        Assert.True(r.ExitCode == 0, $"kcat produce failed: {r.Stderr}");
    }

    /// <summary>Starts "kcat -G group topic" printing "partition offset value" lines.</summary>
    public static ExternalTool.RunningTool StartConsumer(TestSilo silo, string group, string topic, string clientId) => ExternalTool.StartCollecting(
        ExternalTool.Require("kcat"),
        [
            "-b", silo.Bootstrap, "-G", group, "-u", "-f", "%p %o %s\n",
            "-X", $"client.id={clientId}",
            "-X", "auto.offset.reset=earliest",
            "-X", "session.timeout.ms=6000",
            "-X", "heartbeat.interval.ms=1000",
            topic,
        ]);

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
