using System.Globalization;
using System.Net;
using System.Text;

namespace OrleansMQ.Silo.Kafka.Network;

/// <summary>
/// Settings of the Kafka protocol listener. Plain values, so the section binds from
/// appsettings.json, environment variables and flags. Every default serves a single embedded
/// node; <see cref="Validate"/> runs when the listener starts and <see cref="ToString"/> prints
/// the effective configuration for the startup log.
/// </summary>
public sealed class KafkaListenerOptions
{
    /// <summary>Kafka's <c>socket.request.max.bytes</c> default: 100 MiB.</summary>
    public const int DefaultMaxFrameBytes = 104_857_600;

    /// <summary>Address to bind: an IPv4 or IPv6 literal. Default <c>0.0.0.0</c> (every IPv4 interface); <c>::</c> binds dual-stack.</summary>
    public string BindAddress { get; set; } = "0.0.0.0";

    /// <summary>TCP port. Default 9092; 0 picks any free port (read it back from <see cref="KafkaListener.Port"/>).</summary>
    public int Port { get; set; } = 9092;

    /// <summary>
    /// Largest request frame accepted, in bytes after the 4-byte size prefix. Default 104,857,600
    /// (Kafka's <c>socket.request.max.bytes</c>). A larger or negative size prefix closes the
    /// connection before any of the body is buffered.
    /// </summary>
    public int MaxFrameBytes { get; set; } = DefaultMaxFrameBytes;

    /// <summary>
    /// Requests read from one connection but not yet answered. Default 100. At the limit the
    /// connection stops reading from its socket until a response is sent, so TCP flow control
    /// pushes back on the client. Memory per connection is bounded by this times <see cref="MaxFrameBytes"/>.
    /// </summary>
    public int MaxInFlightRequestsPerConnection { get; set; } = 100;

    /// <summary>
    /// Send file regions with sendfile(2). Default true. False copies them through a user-space
    /// buffer (for benchmarks, and for transports such as TLS that must see the bytes).
    /// </summary>
    public bool ZeroCopy { get; set; } = true;

    /// <summary>Open connections allowed. Default 10,000; connections accepted above it are closed at once.</summary>
    public int MaxConnections { get; set; } = 10_000;

    /// <summary>
    /// How long a graceful stop waits for connections to answer the requests they have already
    /// read. Default 30 s; after it, connections are aborted.
    /// </summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Pending-connection queue of the listen socket. Default 512.</summary>
    public int ListenBacklog { get; set; } = 512;

    /// <summary>The parsed <see cref="BindAddress"/>.</summary>
    public IPAddress GetBindAddress() =>
        IPAddress.TryParse(BindAddress, out var address)
            ? address
            : throw new ArgumentException($"BindAddress must be an IPv4 or IPv6 address; got '{BindAddress}'.", nameof(BindAddress));

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        _ = GetBindAddress();

        if (Port is < 0 or > IPEndPoint.MaxPort)
        {
            throw new ArgumentException($"Port must be between 0 and {IPEndPoint.MaxPort}; got {Port}.", nameof(Port));
        }

        if (MaxFrameBytes < 1 || MaxFrameBytes > Array.MaxLength)
        {
            throw new ArgumentException($"MaxFrameBytes must be between 1 and {Array.MaxLength} (a frame is held in one array); got {MaxFrameBytes}.", nameof(MaxFrameBytes));
        }

        if (MaxInFlightRequestsPerConnection < 1)
        {
            throw new ArgumentException($"MaxInFlightRequestsPerConnection must be at least 1; got {MaxInFlightRequestsPerConnection}.", nameof(MaxInFlightRequestsPerConnection));
        }

        if (MaxConnections < 1)
        {
            throw new ArgumentException($"MaxConnections must be at least 1; got {MaxConnections}.", nameof(MaxConnections));
        }

        if (ShutdownTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"ShutdownTimeout must be positive; got {ShutdownTimeout}.", nameof(ShutdownTimeout));
        }

        if (ListenBacklog < 1)
        {
            throw new ArgumentException($"ListenBacklog must be at least 1; got {ListenBacklog}.", nameof(ListenBacklog));
        }
    }

    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append("bind=").Append(BindAddress).Append(':').Append(Port.ToString(CultureInfo.InvariantCulture));
        sb.Append(" maxFrame=").Append(MaxFrameBytes.ToString(CultureInfo.InvariantCulture));
        sb.Append(" maxInFlight=").Append(MaxInFlightRequestsPerConnection.ToString(CultureInfo.InvariantCulture));
        sb.Append(" zeroCopy=").Append(ZeroCopy ? "on" : "off");
        sb.Append(" maxConnections=").Append(MaxConnections.ToString(CultureInfo.InvariantCulture));
        sb.Append(" shutdownTimeout=").Append(ShutdownTimeout.ToString("c", CultureInfo.InvariantCulture));
        sb.Append(" backlog=").Append(ListenBacklog.ToString(CultureInfo.InvariantCulture));
        return sb.ToString();
    }
}
