using System.Runtime.InteropServices;

namespace OrleansMQ.Storage.Common;

/// <summary>
/// The few libc calls the BCL does not expose with the control a log needs: msync on a byte
/// range (MemoryMappedViewAccessor.Flush always syncs the whole view) and madvise to pre-fault
/// a freshly allocated segment off the append path.
/// </summary>
internal static unsafe partial class Native
{
    public const int MS_SYNC = 4;
    public const int MADV_WILLNEED = 3;
    public const int MADV_POPULATE_READ = 22;  // Linux 5.14+; EINVAL on older kernels.
    public const int MADV_POPULATE_WRITE = 23;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int msync(void* addr, nuint length, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int madvise(void* addr, nuint length, int advice);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int fdatasync(int fd);

    public static readonly long PageSize = Environment.SystemPageSize;
}
