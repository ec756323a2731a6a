using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansMQ.Storage.Engine;

namespace OrleansMQ.Silo.Hosting;

/// <summary>
/// Storage's place in the silo's start and stop order. The engine itself is a singleton opened
/// (and recovered) when the host resolves its services, before anything starts; this service is
/// registered first, so it stops last: after the broker and the grains, it closes the engine
/// cleanly (flush, checkpoint, clean-shutdown marker).
/// </summary>
public sealed partial class StorageHostedService : IHostedService
{
    private readonly ILogger _logger;

    public StorageHostedService(StorageEngine engine, ILogger<StorageHostedService> logger)
    {
        Engine = engine;
        _logger = logger;
    }

    public StorageEngine Engine { get; }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        LogReady(_logger, Engine.Recovery.Elapsed.TotalMilliseconds, Engine.CommitLog.CommittedPosition);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Engine.Dispose();
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo storage ready in {ElapsedMs} ms at CommitLog position {Position}")]
    private static partial void LogReady(ILogger logger, double elapsedMs, long position);
}
