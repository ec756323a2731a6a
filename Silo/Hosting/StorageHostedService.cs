using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansMQ.Storage;
using OrleansMQ.Storage.Engine;

namespace OrleansMQ.Silo.Hosting;

/// <summary>Opens (and recovers) the storage engine at start; closes it cleanly at stop.</summary>
public sealed partial class StorageHostedService : IHostedService, IDisposable
{
    private readonly StorageOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private StorageEngine? _engine;

    public StorageHostedService(StorageOptions options, ILoggerFactory loggerFactory)
    {
        _options = options;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<StorageHostedService>();
    }

    /// <summary>The engine, once started.</summary>
    public StorageEngine Engine => _engine ?? throw new InvalidOperationException("Storage has not started.");

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _engine = StorageEngine.Open(_options, _loggerFactory);
        LogReady(_logger, _engine.Recovery.Elapsed.TotalMilliseconds, _engine.CommitLog.CommittedPosition);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _engine?.Dispose();
        return Task.CompletedTask;
    }

    public void Dispose() => _engine?.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo storage ready in {ElapsedMs} ms at CommitLog position {Position}")]
    private static partial void LogReady(ILogger logger, double elapsedMs, long position);
}
