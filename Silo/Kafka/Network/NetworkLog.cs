using System.Net;
using Microsoft.Extensions.Logging;

namespace OrleansMQ.Silo.Kafka.Network;

/// <summary>Source-generated log messages of the Kafka listener: no formatting or boxing when the level is off.</summary>
internal static partial class NetworkLog
{
    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Kafka listener on {EndPoint} ({Options}).")]
    public static partial void Started(ILogger logger, EndPoint endPoint, KafkaListenerOptions options);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "Kafka listener on {EndPoint} stopping: no new connections; {Connections} open connections answer what they have read.")]
    public static partial void Stopping(ILogger logger, EndPoint? endPoint, int connections);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Warning, Message = "Kafka listener: {Connections} connections still busy after {Timeout}; aborting them.")]
    public static partial void DrainTimedOut(ILogger logger, int connections, TimeSpan timeout);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Warning, Message = "Kafka listener: {Connections} aborted connections still wait for their request processor; leaving them behind.")]
    public static partial void AbortTimedOut(ILogger logger, int connections);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Information, Message = "Kafka listener stopped ({Metrics}).")]
    public static partial void Stopped(ILogger logger, KafkaListenerMetrics metrics);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Warning, Message = "Kafka listener: accept failed; retrying.")]
    public static partial void AcceptFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 5007, Level = LogLevel.Warning, Message = "Rejected connection from {Remote}: {Open} connections open (MaxConnections {Limit}).")]
    public static partial void ConnectionRejected(ILogger logger, EndPoint? remote, long open, int limit);

    [LoggerMessage(EventId = 5010, Level = LogLevel.Debug, Message = "Connection {ConnectionId} from {Remote} opened.")]
    public static partial void ConnectionOpened(ILogger logger, long connectionId, EndPoint? remote);

    [LoggerMessage(EventId = 5011, Level = LogLevel.Debug, Message = "Connection {ConnectionId} from {Remote} closed.")]
    public static partial void ConnectionClosed(ILogger logger, long connectionId, EndPoint? remote);

    [LoggerMessage(EventId = 5012, Level = LogLevel.Warning, Message = "Closing connection {ConnectionId} from {Remote}: request size {Size} is outside 0..{Limit} bytes (socket.request.max.bytes); the body is not read.")]
    public static partial void InvalidFrameSize(ILogger logger, long connectionId, EndPoint? remote, int size, int limit);

    [LoggerMessage(EventId = 5013, Level = LogLevel.Debug, Message = "Connection {ConnectionId} from {Remote} closed by the peer with {Buffered} bytes of an unfinished request.")]
    public static partial void PeerClosedMidFrame(ILogger logger, long connectionId, EndPoint? remote, long buffered);

    [LoggerMessage(EventId = 5014, Level = LogLevel.Warning, Message = "Request processor failed on connection {ConnectionId} from {Remote}; closing the connection.")]
    public static partial void ProcessorFailed(ILogger logger, Exception exception, long connectionId, EndPoint? remote);

    [LoggerMessage(EventId = 5015, Level = LogLevel.Debug, Message = "Connection {ConnectionId} from {Remote}: {Operation} failed; closing the connection.")]
    public static partial void TransportFailed(ILogger logger, Exception exception, long connectionId, EndPoint? remote, string operation);

    [LoggerMessage(EventId = 5016, Level = LogLevel.Error, Message = "Connection {ConnectionId} from {Remote} failed unexpectedly.")]
    public static partial void ConnectionFailed(ILogger logger, Exception exception, long connectionId, EndPoint? remote);
}
