using System.Runtime.InteropServices;

namespace OrleansMQ.Silo.Grains.Storage;

/// <summary>
/// fsync of a directory, which makes a rename, create or delete inside it durable. .NET will not
/// open a directory as a file, so this goes to libc. On platforms without libc (Windows) the call
/// is skipped: NTFS journals its metadata, and the broker runs on Linux.
/// </summary>
internal static partial class DirectorySync
{
    private const int ORdOnly = 0;
    private const int ODirectory = 0x10000; // Linux x86-64 and arm64 share this value.

    /// <summary>Flushes <paramref name="directory"/>'s entries to disk; throws when the kernel reports an I/O error.</summary>
    public static void Flush(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        int fd = Open(directory, ORdOnly | ODirectory);
        if (fd < 0)
        {
            throw new IOException($"Could not open directory {directory} to fsync it (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            // A failed fsync means the rename may not survive a power cut: the caller must not
            // report the write as durable.
            if (Fsync(fd) != 0)
            {
                throw new IOException($"fsync of directory {directory} failed (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
