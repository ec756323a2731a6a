using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Silo.Kafka.Network;

/// <summary>
/// Counters of one <see cref="KafkaListener"/>, updated with <see cref="Interlocked"/> and read at
/// any time (each read is atomic; the set is not a consistent snapshot). Byte counts include the
/// 4-byte size prefixes.
/// </summary>
public sealed class KafkaListenerMetrics
{
    private long _connectionsOpen;
    private long _connectionsAccepted;
    private long _connectionsRejected;
    private long _requests;
    private long _responses;
    private long _bytesIn;
    private long _bytesOut;
    private long _bytesSentByFile;
    private long _sendFileWaits;
    private long _frameErrors;
    private long _backPressureWaits;

    // Per API key; keys beyond the table (or frames too short to carry one) count in the last slot.
    private readonly ApiMetrics[] _apis = Enumerable.Range(0, ApiSlots).Select(i => new ApiMetrics((short)i)).ToArray();

    /// <summary>API keys tracked one by one; higher keys share the last slot.</summary>
    internal const int ApiSlots = 128;

    /// <summary>Connections currently open.</summary>
    public long ConnectionsOpen => Volatile.Read(ref _connectionsOpen);

    /// <summary>Connections accepted since start (rejected ones excluded).</summary>
    public long ConnectionsAccepted => Volatile.Read(ref _connectionsAccepted);

    /// <summary>Connections closed at once because <see cref="KafkaListenerOptions.MaxConnections"/> were open.</summary>
    public long ConnectionsRejected => Volatile.Read(ref _connectionsRejected);

    /// <summary>Request frames read and handed to the processor.</summary>
    public long Requests => Volatile.Read(ref _requests);

    /// <summary>Responses written to sockets (suppressed acks=0 responses excluded).</summary>
    public long Responses => Volatile.Read(ref _responses);

    /// <summary>Request bytes read (complete frames).</summary>
    public long BytesIn => Volatile.Read(ref _bytesIn);

    /// <summary>Response bytes sent, by any path.</summary>
    public long BytesOut => Volatile.Read(ref _bytesOut);

    /// <summary>The part of <see cref="BytesOut"/> sent with sendfile(2).</summary>
    public long BytesSentByFile => Volatile.Read(ref _bytesSentByFile);

    /// <summary>Times sendfile(2) found the socket buffer full (EAGAIN) and waited for it to drain.</summary>
    public long SendFileWaits => Volatile.Read(ref _sendFileWaits);

    /// <summary>Connections closed for a negative or oversized frame size.</summary>
    public long FrameErrors => Volatile.Read(ref _frameErrors);

    /// <summary>Times a connection stopped reading because it had the maximum number of requests in flight.</summary>
    public long BackPressureWaits => Volatile.Read(ref _backPressureWaits);

    internal void ConnectionOpened()
    {
        Interlocked.Increment(ref _connectionsOpen);
        Interlocked.Increment(ref _connectionsAccepted);
    }

    internal void ConnectionClosed() => Interlocked.Decrement(ref _connectionsOpen);

    internal void ConnectionRejected() => Interlocked.Increment(ref _connectionsRejected);

    /// <summary>
    /// The request latency histogram (seconds, tagged <c>api</c>), set once by the silo's
    /// instruments (<c>OrleansMQ.Silo.Metrics.SiloInstruments</c>) before the listener starts; null
    /// for a listener without a meter (listener tests). Recording is allocation-free: the tag of
    /// each API is built once, and the exporter aggregates per tag set without allocating.
    /// </summary>
    internal Histogram<double>? RequestDuration { get; set; }

    /// <summary>Counters of one API key (requests, bytes).</summary>
    public ApiMetrics ForApi(short apiKey) => _apis[Slot(apiKey)];

    /// <summary>The API keys that have seen at least one request, with their counters.</summary>
    public IEnumerable<(short ApiKey, ApiMetrics Metrics)> ApisUsed()
    {
        for (int i = 0; i < ApiSlots - 1; i++)
        {
            if (_apis[i].Requests > 0)
            {
                yield return ((short)i, _apis[i]);
            }
        }
    }

    private static int Slot(short apiKey) => apiKey >= 0 && apiKey < ApiSlots - 1 ? apiKey : ApiSlots - 1;

    internal void RequestRead(int frameBytes, short apiKey)
    {
        Interlocked.Increment(ref _requests);
        Interlocked.Add(ref _bytesIn, frameBytes + 4L);
        var api = _apis[Slot(apiKey)];
        Interlocked.Increment(ref api.RequestCount);
        Interlocked.Add(ref api.BytesInCount, frameBytes + 4L);
    }

    /// <summary>A request was answered: <paramref name="responseBytes"/> written (0 when suppressed).</summary>
    internal void RequestCompleted(short apiKey, long responseBytes, long startTimestamp)
    {
        var api = _apis[Slot(apiKey)];
        if (responseBytes > 0)
        {
            Interlocked.Add(ref api.BytesOutCount, responseBytes);
        }

        // The overflow slot is not exported (no API name), as its counters are not.
        if (RequestDuration is { } duration && api.Tag.Value is not null)
        {
            duration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, api.Tag);
        }
    }

    internal void ResponseSent() => Interlocked.Increment(ref _responses);

    internal void BytesSent(long bytes) => Interlocked.Add(ref _bytesOut, bytes);

    internal void BytesSentWithSendFile(long bytes)
    {
        Interlocked.Add(ref _bytesSentByFile, bytes);
        Interlocked.Add(ref _bytesOut, bytes);
    }

    internal void SendFileWaited() => Interlocked.Increment(ref _sendFileWaits);

    internal void FrameError() => Interlocked.Increment(ref _frameErrors);

    internal void BackPressureWaited() => Interlocked.Increment(ref _backPressureWaits);

    public override string ToString() =>
        FormattableString.Invariant(
            $"open={ConnectionsOpen} accepted={ConnectionsAccepted} rejected={ConnectionsRejected} requests={Requests} responses={Responses} in={BytesIn} out={BytesOut} sendfile={BytesSentByFile} sendfileWaits={SendFileWaits} frameErrors={FrameErrors} backPressure={BackPressureWaits}");
}

/// <summary>Counters of one Kafka API on one listener.</summary>
public sealed class ApiMetrics
{
    internal ApiMetrics(short apiKey)
    {
        // The API's name as /metrics labels it ("Produce"; the number for keys without a name);
        // none for the shared overflow slot.
        string? name = apiKey >= KafkaListenerMetrics.ApiSlots - 1 ? null
            : Enum.IsDefined((ApiKey)apiKey) ? ((ApiKey)apiKey).ToString() : apiKey.ToString(CultureInfo.InvariantCulture);
        Tag = new("api", name);
    }

    internal long RequestCount;
    internal long BytesInCount;
    internal long BytesOutCount;

    /// <summary>Requests read.</summary>
    public long Requests => Volatile.Read(ref RequestCount);

    /// <summary>Request bytes read, size prefixes included.</summary>
    public long BytesIn => Volatile.Read(ref BytesInCount);

    /// <summary>Response bytes written (memory and sendfile), size prefixes included.</summary>
    public long BytesOut => Volatile.Read(ref BytesOutCount);

    /// <summary>The <c>api</c> label of this API's series (value null for the overflow slot).</summary>
    public KeyValuePair<string, object?> Tag { get; }
}
