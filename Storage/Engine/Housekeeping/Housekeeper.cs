using Microsoft.Extensions.Logging;

namespace OrleansMQ.Storage.Engine.Housekeeping;

/// <summary>
/// The housekeeping thread: every 250 ms the disk guard and the tier's fresh offloads; the
/// checkpoint and retention on their own intervals. A failure is logged and retried next round;
/// it never stops the thread.
/// </summary>
internal sealed partial class Housekeeper : IDisposable
{
    private readonly StorageOptions _options;
    private readonly DiskGuard _disk;
    private readonly CheckpointWriter _checkpoints;
    private readonly RetentionEnforcer _retention;
    private readonly ILogger _logger;
    private readonly ManualResetEventSlim _wake = new(false, spinCount: 0);
    private readonly Thread _thread;
    private volatile bool _stopping;

    public Housekeeper(StorageOptions options, DiskGuard disk, CheckpointWriter checkpoints, RetentionEnforcer retention, ILogger logger)
    {
        _options = options;
        _disk = disk;
        _checkpoints = checkpoints;
        _retention = retention;
        _logger = logger;
        _thread = new Thread(Loop) { IsBackground = true, Name = "omq-housekeeping" };
    }

    public void Start() => _thread.Start();

    /// <summary>Stops the thread and waits for its round in progress.</summary>
    public void Stop()
    {
        _stopping = true;
        _wake.Set();
        _thread.Join();
    }

    public void Dispose() => _wake.Dispose();

    private void Loop()
    {
        long lastCheckpoint = Environment.TickCount64;
        long lastCleanup = Environment.TickCount64;
        while (!_stopping)
        {
            _wake.Wait(TimeSpan.FromMilliseconds(250));
            if (_stopping)
            {
                return;
            }

            try
            {
                _disk.Check();
                _retention.DropNewlyOffloaded();
                long now = Environment.TickCount64;
                if (now - lastCheckpoint >= _options.CheckpointInterval.TotalMilliseconds)
                {
                    _checkpoints.Write();
                    lastCheckpoint = now;
                }

                if (now - lastCleanup >= _options.CleanupInterval.TotalMilliseconds)
                {
                    _retention.Enforce();
                    lastCleanup = now;
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or StorageException)
            {
                LogHousekeepingFailed(_logger, ex);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Storage housekeeping failed; will retry")]
    private static partial void LogHousekeepingFailed(ILogger logger, Exception ex);
}
