using OrleansMQ.Cli;

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // First Ctrl+C stops the command cleanly; a second one ends the process.
    e.Cancel = !cancel.IsCancellationRequested;
    cancel.Cancel();
};

return await OmqCli.RunAsync(args, Console.Out, Console.Error, Environment.GetEnvironmentVariable, cancel.Token).ConfigureAwait(false);
