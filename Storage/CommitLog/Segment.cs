using OrleansMQ.Storage.Common;

namespace OrleansMQ.Storage.CommitLog;

/// <summary>
/// One CommitLog segment file: a <see cref="MappedFile"/> plus a reference count, so retention can
/// delete a segment while a fetch is still sending from it (the file goes when the last reader
/// releases it, as RocketMQ's ReferenceResource does).
/// </summary>
public sealed class Segment
{
    private int _refs = 1; // the log's own reference
    private int _destroyed;

    internal Segment(long startPosition, MappedFile file)
    {
        StartPosition = startPosition;
        File = file;
    }

    /// <summary>CommitLog position of the first byte of this file (the file's name).</summary>
    public long StartPosition { get; }

    /// <summary>Position one past the last byte of this file.</summary>
    public long EndPosition => StartPosition + File.Size;

    internal MappedFile File { get; }

    /// <summary>The segment file's path (for diagnostics and for the delivery layer).</summary>
    public string FilePath => File.Path;

    /// <summary>The open file handle, for sendfile(2). Valid while the caller holds a reference.</summary>
    public Microsoft.Win32.SafeHandles.SafeFileHandle FileHandle => File.FileHandle;

    public static string FileNameFor(long startPosition) => startPosition.ToString("D20", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Takes a reference; false when the segment is already being deleted.</summary>
    public bool TryRetain()
    {
        while (true)
        {
            int refs = Volatile.Read(ref _refs);
            if (refs <= 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _refs, refs + 1, refs) == refs)
            {
                return true;
            }
        }
    }

    /// <summary>Drops a reference; the last one unmaps the file (and deletes it when destroyed).</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _refs) == 0)
        {
            if (Volatile.Read(ref _destroyed) == 1)
            {
                File.DisposeAndDelete();
            }
            else
            {
                File.Dispose();
            }
        }
    }

    /// <summary>Marks the segment for deletion and drops the log's reference.</summary>
    internal void Destroy()
    {
        if (Interlocked.Exchange(ref _destroyed, 1) == 0)
        {
            Release();
        }
    }

    /// <summary>Drops the log's reference without deleting (engine shutdown).</summary>
    internal void Close()
    {
        if (Volatile.Read(ref _destroyed) == 0)
        {
            Release();
        }
    }
}
