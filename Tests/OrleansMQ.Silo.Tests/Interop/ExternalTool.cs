using System.Diagnostics;
using System.Text;
using Xunit;

namespace OrleansMQ.Silo.Tests.Interop;

/// <summary>Runs a real client program (kcat, node) with a time limit and captures what it prints.</summary>
internal static class ExternalTool
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public string[] Lines => Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>The tool's full path; fails the test with the install hint when it is missing (infra/test.sh installs it).</summary>
    public static string Require(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        Assert.Fail($"'{name}' is not installed; infra/test.sh installs it (apt-get install {name}).");
        return name;
    }

    public static async Task<Result> RunAsync(string file, IEnumerable<string> args, string? stdin = null, TimeSpan? timeout = null, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin).ConfigureAwait(false);
        }

        process.StandardInput.Close();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{Path.GetFileName(file)} {string.Join(' ', args)} did not finish in time. stderr: {await stderr.ConfigureAwait(false)}");
        }

        return new Result(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }

    /// <summary>Starts a long-running tool (a consumer waiting at the end of a topic).</summary>
    public static Process Start(string file, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        return Process.Start(psi)!;
    }

    /// <summary>Starts a long-running tool whose output lines are collected as they come (see <see cref="RunningTool"/>).</summary>
    public static RunningTool StartCollecting(string file, IEnumerable<string> args, string? workingDirectory = null) => new(file, args, workingDirectory);

    /// <summary>
    /// A long-running client (a group consumer): stdout lines are collected as printed, stderr is
    /// kept for failure messages, and it can be stopped with SIGTERM (clean close) or SIGKILL.
    /// </summary>
    public sealed class RunningTool : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly List<string> _lines = [];
        private readonly StringBuilder _stderr = new();
        private readonly string _name;

        internal RunningTool(string file, IEnumerable<string> args, string? workingDirectory)
        {
            var psi = new ProcessStartInfo(file)
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                StandardOutputEncoding = Encoding.UTF8,
                WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
            };
            foreach (var a in args)
            {
                psi.ArgumentList.Add(a);
            }

            _name = Path.GetFileName(file);
            _process = new Process { StartInfo = psi };
            _process.OutputDataReceived += (_, e) =>
            {
                if (!string.IsNullOrEmpty(e.Data))
                {
                    lock (_lines)
                    {
                        _lines.Add(e.Data);
                    }
                }
            };
            _process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    lock (_stderr)
                    {
                        _stderr.AppendLine(e.Data);
                    }
                }
            };
            _process.Start();
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public int Id => _process.Id;

        public bool HasExited => _process.HasExited;

        /// <summary>What it printed so far, one entry a line.</summary>
        public List<string> Lines
        {
            get
            {
                lock (_lines)
                {
                    return [.. _lines];
                }
            }
        }

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

        /// <summary>Polls the collected lines until <paramref name="condition"/> holds; fails with <paramref name="what"/> and stderr after <paramref name="timeout"/>.</summary>
        public async Task WaitUntilAsync(Func<List<string>, bool> condition, TimeSpan timeout, string what)
        {
            var deadline = Stopwatch.StartNew();
            while (!condition(Lines))
            {
                if (deadline.Elapsed > timeout)
                {
                    Assert.Fail($"{_name} (pid {Id}): {what} did not happen in {timeout.TotalSeconds} s. Exited: {HasExited}. stderr:\n{Tail(Stderr)}");
                }

                await Task.Delay(50).ConfigureAwait(false);
            }
        }

        /// <summary>SIGKILL: no clean close, no final commit, no LeaveGroup.</summary>
        public async Task KillAsync()
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }

        /// <summary>SIGTERM, then waits for a clean exit (exit code 0).</summary>
        public async Task StopAsync(TimeSpan? timeout = null)
        {
            if (!_process.HasExited)
            {
                var kill = await RunAsync("kill", ["-TERM", Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], timeout: TimeSpan.FromSeconds(10)).ConfigureAwait(false);
                Assert.True(kill.ExitCode == 0 || _process.HasExited, $"kill -TERM {Id}: {kill.Stderr}");
            }

            using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
            try
            {
                await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                Assert.Fail($"{_name} (pid {Id}) did not exit after SIGTERM. stderr:\n{Tail(Stderr)}");
            }

            Assert.True(_process.ExitCode == 0, $"{_name} (pid {Id}) exited with {_process.ExitCode} after SIGTERM. stderr:\n{Tail(Stderr)}");
        }

        private static string Tail(string text) => text.Length <= 6000 ? text : "…" + text[^6000..];

        public async ValueTask DisposeAsync()
        {
            try
            {
                if (!_process.HasExited)
                {
                    _process.Kill(entireProcessTree: true);
                    await _process.WaitForExitAsync().ConfigureAwait(false);
                }
            }
            catch (InvalidOperationException)
            {
            }

            _process.Dispose();
        }
    }
}
