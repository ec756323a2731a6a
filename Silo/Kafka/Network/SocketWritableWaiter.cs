using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace OrleansMQ.Silo.Kafka.Network;

/// <summary>
/// Lets a connection await "the socket can take more bytes" after sendfile(2) returned EAGAIN,
/// without blocking a thread per connection and without spinning. One epoll instance and one
/// background thread per listener, started on first use; a socket is armed with
/// EPOLLOUT | EPOLLONESHOT (level-triggered, so space that freed up before arming still reports
/// at once) and its waiter completes when the event arrives. An eventfd wakes the thread to stop.
/// </summary>
/// <remarks>
/// The runtime's own socket engine keeps its separate epoll registration of the same socket; two
/// epoll instances watching one file descriptor is supported by the kernel.
/// </remarks>
internal sealed class SocketWritableWaiter : IDisposable
{
    private const int MaxEvents = 64;
    private const ulong WakeKey = ulong.MaxValue;

    private readonly ConcurrentDictionary<long, TaskCompletionSource> _waiters = new();
    private readonly Lock _gate = new();
    private int _epollFd = -1;
    private int _eventFd = -1;
    private Thread? _thread;
    private volatile bool _disposed;

    /// <summary>
    /// Completes when <paramref name="socket"/> is writable (or has an error or hang-up, which the
    /// next send reports). <paramref name="key"/> identifies the connection; one wait at a time per key.
    /// </summary>
    public async ValueTask WaitAsync(SafeSocketHandle socket, long key, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int epollFd = EnsureStarted();
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiters[key] = waiter; // before arming: the event may arrive before epoll_ctl returns
        try
        {
            Arm(epollFd, socket, key);
            await waiter.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _waiters.TryRemove(new KeyValuePair<long, TaskCompletionSource>(key, waiter));
        }
    }

    /// <summary>Removes the socket from the epoll set; call before the socket is closed.</summary>
    public unsafe void Unregister(SafeSocketHandle socket)
    {
        bool added = false;
        try
        {
            socket.DangerousAddRef(ref added);
            byte* ev = stackalloc byte[16];
            lock (_gate) // the epoll descriptor stays open while we use it
            {
                if (_epollFd >= 0 && !_disposed)
                {
                    _ = NetworkNative.epoll_ctl(_epollFd, NetworkNative.EPOLL_CTL_DEL, (int)socket.DangerousGetHandle(), ev);
                }
            }
        }
        catch (ObjectDisposedException)
        {
            // Already closed: the kernel dropped the registration with the descriptor.
        }
        finally
        {
            if (added)
            {
                socket.DangerousRelease();
            }
        }
    }

    public unsafe void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            if (_thread is not null)
            {
                // The thread closes both descriptors on its way out, so none is closed under epoll_wait.
                ulong one = 1;
                _ = NetworkNative.write(_eventFd, (byte*)&one, sizeof(ulong));
            }
        }

        foreach (var waiter in _waiters.Values)
        {
            waiter.TrySetException(new ObjectDisposedException(nameof(SocketWritableWaiter)));
        }
    }

    private static unsafe void Arm(int epollFd, SafeSocketHandle socket, long key)
    {
        bool added = false;
        try
        {
            socket.DangerousAddRef(ref added);
            int fd = (int)socket.DangerousGetHandle();
            byte* ev = stackalloc byte[16];
            NetworkNative.WriteEpollEvent(ev, NetworkNative.EPOLLOUT | NetworkNative.EPOLLONESHOT, (ulong)key);

            // Re-arm if registered before (one-shot events stay registered, disabled), else add.
            if (NetworkNative.epoll_ctl(epollFd, NetworkNative.EPOLL_CTL_MOD, fd, ev) == 0)
            {
                return;
            }

            int errno = Marshal.GetLastPInvokeError();
            if (errno == NetworkNative.ENOENT && NetworkNative.epoll_ctl(epollFd, NetworkNative.EPOLL_CTL_ADD, fd, ev) == 0)
            {
                return;
            }

            errno = Marshal.GetLastPInvokeError();
            throw new IOException($"epoll_ctl failed: {NetworkNative.Describe(errno)}");
        }
        finally
        {
            if (added)
            {
                socket.DangerousRelease();
            }
        }
    }

    private unsafe int EnsureStarted()
    {
        int epollFd = Volatile.Read(ref _epollFd);
        if (epollFd >= 0)
        {
            return epollFd;
        }

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_epollFd >= 0)
            {
                return _epollFd;
            }

            int ep = NetworkNative.epoll_create1(NetworkNative.EPOLL_CLOEXEC);
            if (ep < 0)
            {
                throw new IOException($"epoll_create1 failed: {NetworkNative.Describe(Marshal.GetLastPInvokeError())}");
            }

            int efd = NetworkNative.eventfd(0, NetworkNative.EFD_CLOEXEC | NetworkNative.EFD_NONBLOCK);
            byte* ev = stackalloc byte[16];
            NetworkNative.WriteEpollEvent(ev, NetworkNative.EPOLLIN, WakeKey);
            if (efd < 0 || NetworkNative.epoll_ctl(ep, NetworkNative.EPOLL_CTL_ADD, efd, ev) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (efd >= 0)
                {
                    _ = NetworkNative.close(efd);
                }

                _ = NetworkNative.close(ep);
                throw new IOException($"eventfd setup failed: {NetworkNative.Describe(errno)}");
            }

            _eventFd = efd;
            Volatile.Write(ref _epollFd, ep);
            _thread = new Thread(Run) { IsBackground = true, Name = "Kafka sendfile writable waiter" };
            _thread.Start();
            return ep;
        }
    }

    private unsafe void Run()
    {
        int epollFd = Volatile.Read(ref _epollFd);
        int eventFd = _eventFd;
        int size = NetworkNative.EpollEventSize;
        byte* events = stackalloc byte[MaxEvents * 16];
        try
        {
            while (!_disposed)
            {
                int n = NetworkNative.epoll_wait(epollFd, events, MaxEvents, -1);
                if (n < 0)
                {
                    if (Marshal.GetLastPInvokeError() == NetworkNative.EINTR)
                    {
                        continue;
                    }

                    break;
                }

                for (int i = 0; i < n; i++)
                {
                    ulong data = NetworkNative.ReadEpollData(events + (i * size));
                    if (data != WakeKey && _waiters.TryRemove((long)data, out var waiter))
                    {
                        waiter.TrySetResult();
                    }
                }
            }
        }
        finally
        {
            lock (_gate)
            {
                _ = NetworkNative.close(eventFd);
                _ = NetworkNative.close(epollFd);
                _epollFd = -1;
                _disposed = true;
            }

            foreach (var waiter in _waiters.Values)
            {
                waiter.TrySetException(new ObjectDisposedException(nameof(SocketWritableWaiter)));
            }
        }
    }
}
