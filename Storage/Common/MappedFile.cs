using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace OrleansMQ.Storage.Common;

/// <summary>
/// A fixed-size file mapped read/write into memory. Used for CommitLog segments, ConsumeQueue
/// files and IndexFiles. The file is preallocated (fallocate through
/// <see cref="FileStreamOptions.PreallocationSize"/>) so that writes into the mapping never hit
/// ENOSPC as a SIGBUS: a full disk is discovered when the file is created, not on a store.
/// </summary>
/// <remarks>
/// Thread-safety: the mapping itself is shared memory; callers coordinate who writes which
/// range. <see cref="Flush"/> may run concurrently with writes to other ranges.
/// </remarks>
public sealed unsafe class MappedFile : IDisposable
{
    private readonly FileStream _stream;
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private byte* _base;
    private int _disposed;

    private MappedFile(string path, FileStream stream, MemoryMappedFile map, MemoryMappedViewAccessor view, long size)
    {
        Path = path;
        _stream = stream;
        _map = map;
        _view = view;
        Size = size;
        byte* p = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _base = p + view.PointerOffset;
    }

    /// <summary>Full path of the backing file.</summary>
    public string Path { get; }

    /// <summary>Mapped length in bytes (equals the file length).</summary>
    public long Size { get; }

    /// <summary>The OS file handle, for positional reads and for sendfile(2) by the delivery layer.</summary>
    public Microsoft.Win32.SafeHandles.SafeFileHandle FileHandle => _stream.SafeFileHandle;

    /// <summary>Start of the mapping. Valid until <see cref="Dispose"/>.</summary>
    public byte* BasePointer => _base;

    /// <summary>
    /// Creates (or opens, when it exists) a file of exactly <paramref name="size"/> bytes and maps it.
    /// A new file is preallocated on disk. An existing file of another size is refused, because a
    /// size mismatch means the configuration changed or the file was damaged, and the caller must
    /// decide what that means.
    /// </summary>
    public static MappedFile Open(string path, long size, bool createNew = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        bool exists = File.Exists(path);
        if (exists && createNew)
        {
            throw new IOException($"File '{path}' already exists.");
        }

        var options = new FileStreamOptions
        {
            Mode = exists ? FileMode.Open : FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.ReadWrite | FileShare.Delete,
            // fallocate: reserve real blocks now so a later store into the mapping cannot fault.
            PreallocationSize = exists ? 0 : size,
        };
        FileStream? stream = null;
        MemoryMappedFile? map = null;
        try
        {
            stream = new FileStream(path, options);
            if (exists && stream.Length != size)
            {
                throw new InvalidDataException($"File '{path}' is {stream.Length} bytes, expected {size}.");
            }

            if (!exists)
            {
                stream.SetLength(size);
            }

            map = MemoryMappedFile.CreateFromFile(stream, null, size, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: true);
            var view = map.CreateViewAccessor(0, size, MemoryMappedFileAccess.ReadWrite);
            return new MappedFile(path, stream, map, view, size);
        }
        catch
        {
            map?.Dispose();
            stream?.Dispose();
            if (!exists)
            {
                TryDelete(path);
            }

            throw;
        }
    }

    /// <summary>A span over <paramref name="length"/> bytes at <paramref name="offset"/>.</summary>
    public Span<byte> GetSpan(long offset, int length)
    {
        if ((ulong)offset > (ulong)Size || (ulong)length > (ulong)(Size - offset))
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"Range [{offset}, +{length}) is outside '{Path}' ({Size} bytes).");
        }

        return new Span<byte>(_base + offset, length);
    }

    /// <summary>
    /// Writes dirty pages of [offset, offset+length) to the device and waits (msync MS_SYNC).
    /// The range is widened to page boundaries as msync requires.
    /// </summary>
    public void Flush(long offset, long length)
    {
        if (length <= 0)
        {
            return;
        }

        long page = Native.PageSize;
        long start = offset & ~(page - 1);
        long end = Math.Min(Size, offset + length);
        if (Native.msync(_base + start, (nuint)(end - start), Native.MS_SYNC) != 0)
        {
            throw new IOException($"msync of '{Path}' failed: errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    /// <summary>
    /// Maps the file's pages in ahead of the writer (MADV_POPULATE_READ), so appends into a fresh
    /// segment take at most a cheap write-protect fault instead of a full page fault. Read, not
    /// write: a write populate would mark every page dirty and the kernel would write the whole
    /// segment of zeros to disk (and msync it again on close). Falls back to a read-ahead hint.
    /// </summary>
    public void Prefault()
    {
        if (_base is null)
        {
            return;
        }

        if (Native.madvise(_base, (nuint)Size, Native.MADV_POPULATE_READ) != 0)
        {
            _ = Native.madvise(_base, (nuint)Size, Native.MADV_WILLNEED);
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _base = null;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
        _stream.Dispose();
    }

    /// <summary>Unmaps and deletes the file.</summary>
    public void DisposeAndDelete()
    {
        Dispose();
        TryDelete(Path);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
