using System.Runtime.InteropServices;

namespace OrleansMQ.Silo.Kafka.Network;

/// <summary>
/// The libc calls the BCL does not offer: sendfile(2) from an open file handle at an offset
/// (Socket.SendFile takes a path and sends the whole file), and epoll/eventfd to wait for a
/// socket to become writable again after sendfile returned EAGAIN.
/// </summary>
internal static unsafe partial class NetworkNative
{
    public const int EINTR = 4;
    public const int EAGAIN = 11; // == EWOULDBLOCK on Linux
    public const int ENOENT = 2;

    public const int EPOLL_CLOEXEC = 0x80000;
    public const int EPOLL_CTL_ADD = 1;
    public const int EPOLL_CTL_DEL = 2;
    public const int EPOLL_CTL_MOD = 3;
    public const uint EPOLLIN = 0x001;
    public const uint EPOLLOUT = 0x004;
    public const uint EPOLLONESHOT = 1u << 30;

    public const int EFD_CLOEXEC = 0x80000;
    public const int EFD_NONBLOCK = 0x800;

    /// <summary>Linux moves at most this many bytes per sendfile call.</summary>
    public const int MaxSendFileCount = 0x7ffff000;

    /// <summary>
    /// struct epoll_event { uint32_t events; epoll_data_t data; } is packed on x86-64 (12 bytes,
    /// data at offset 4) and naturally aligned elsewhere (16 bytes, data at offset 8).
    /// </summary>
    public static readonly int EpollEventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    public static readonly int EpollDataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint sendfile(int out_fd, int in_fd, ref long offset, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int epoll_create1(int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int epoll_ctl(int epfd, int op, int fd, byte* ev);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int epoll_wait(int epfd, byte* events, int maxevents, int timeout);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int eventfd(uint initval, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint write(int fd, byte* buf, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    /// <summary>Fills one epoll_event at <paramref name="ev"/> (at least <see cref="EpollEventSize"/> bytes).</summary>
    public static void WriteEpollEvent(byte* ev, uint events, ulong data)
    {
        *(uint*)ev = events;
        System.Runtime.CompilerServices.Unsafe.WriteUnaligned(ev + EpollDataOffset, data);
    }

    public static ulong ReadEpollData(byte* ev) =>
        System.Runtime.CompilerServices.Unsafe.ReadUnaligned<ulong>(ev + EpollDataOffset);

    public static string Describe(int errno) => $"errno {errno} ({Marshal.GetPInvokeErrorMessage(errno)})";
}
