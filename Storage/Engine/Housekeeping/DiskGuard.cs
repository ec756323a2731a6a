using Microsoft.Extensions.Logging;

namespace OrleansMQ.Storage.Engine.Housekeeping;

/// <summary>
/// The disk-space guard: reads the data folder's file system usage and keeps the storage-full
/// flag that appends check (one volatile read, so refused appends cost nothing). Above the
/// threshold appends fail with a clear error; reads go on; appends resume once space is freed.
/// </summary>
internal sealed partial class DiskGuard
{
    private readonly Func<string, (long Total, long Available)> _probe;
    private readonly string _root;
    private readonly double _threshold;
    private readonly ILogger _logger;
    private long _total;
    private long _available;
    private volatile bool _full;

    /// <param name="probe">Reports (total, available) bytes of the file system holding a path; null uses the real file system.</param>
    public DiskGuard(Func<string, (long Total, long Available)>? probe, string root, double threshold, ILogger logger)
    {
        _probe = probe ?? DefaultProbe;
        _root = root;
        _threshold = threshold;
        _logger = logger;
    }

    /// <summary>True while appends are refused.</summary>
    public bool IsFull => _full;

    /// <summary>Size of the file system at the last check (bytes; 0 before the first).</summary>
    public long TotalBytes => Volatile.Read(ref _total);

    /// <summary>Space available at the last check (bytes).</summary>
    public long AvailableBytes => Volatile.Read(ref _available);

    /// <summary>Re-reads disk usage and sets or clears the storage-full state.</summary>
    public void Check()
    {
        var (total, available) = _probe(_root);
        Volatile.Write(ref _total, total);
        Volatile.Write(ref _available, available);
        if (total <= 0)
        {
            return;
        }

        double used = 1.0 - ((double)available / total);
        bool full = used > _threshold;
        if (full != _full)
        {
            _full = full;
            if (full)
            {
                LogStorageFull(_logger, _root, used, _threshold);
            }
            else
            {
                LogStorageRecovered(_logger, _root, used);
            }
        }
    }

    private static (long Total, long Available) DefaultProbe(string path)
    {
        var drive = new DriveInfo(path);
        return (drive.TotalSize, drive.AvailableFreeSpace);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Storage full: {Root} is {Used:P1} used (threshold {Threshold:P0}); appends are refused, reads continue")]
    private static partial void LogStorageFull(ILogger logger, string root, double used, double threshold);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Storage space recovered: {Root} is {Used:P1} used; appends resume")]
    private static partial void LogStorageRecovered(ILogger logger, string root, double used);
}
