using System.Net;
using System.Net.Sockets;

namespace OrleansMQ.Silo.Hosting;

/// <summary>
/// Ports are checked before anything starts, so a port already in use stops the silo with one
/// line naming the setting (Kestrel, Orleans and our listener would each fail differently, some
/// with a stack trace, after storage had been recovered for nothing). Port 0 asks for a free one.
/// </summary>
internal static class PortCheck
{
    /// <summary>Throws an <see cref="ArgumentException"/> naming <paramref name="setting"/> when the port cannot be bound.</summary>
    public static void EnsureFree(IPAddress address, int port, string setting)
    {
        if (port == 0)
        {
            return;
        }

        using var probe = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // No SO_REUSEADDR: a socket still in TIME_WAIT does not stop a listener on Linux, but a listener does stop us.
            probe.Bind(new IPEndPoint(address, port));
        }
        catch (SocketException ex)
        {
            throw new ArgumentException($"{setting}: port {port} on {address} is not available ({ex.SocketErrorCode}); another process may be using it.", ex);
        }
    }

    /// <summary>A port free right now on <paramref name="address"/> (the kernel's choice).</summary>
    public static int FreePort(IPAddress address)
    {
        using var probe = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(address, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
