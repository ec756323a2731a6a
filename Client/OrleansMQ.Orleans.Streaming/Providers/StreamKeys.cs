using System.Text;
using Orleans.Runtime;

namespace OrleansMQ.Streaming.Providers;

/// <summary>
/// How a stream id travels on a record. The record key is the stream id's full key (namespace bytes
/// then key bytes), so murmur2 sends every event of one stream to one partition. The key alone cannot
/// be split back into namespace and key, so two headers carry them exactly; a third names the first
/// event's type for tools that read the topic without Orleans.
/// </summary>
public static class StreamKeys
{
    /// <summary>Header with the stream namespace's UTF-8 bytes (absent for a stream without a namespace).</summary>
    public const string NamespaceHeader = "orleans-stream-ns";

    /// <summary>Header with the stream key's UTF-8 bytes.</summary>
    public const string KeyHeader = "orleans-stream-key";

    /// <summary>Header with the full name of the first event's type.</summary>
    public const string EventTypeHeader = "orleans-event-type";

    /// <summary>The record key of <paramref name="streamId"/>'s events: its full key bytes.</summary>
    public static ReadOnlySpan<byte> RecordKey(StreamId streamId) => streamId.FullKey.Span;

    /// <summary>The headers that name <paramref name="streamId"/> and the type of <paramref name="firstEvent"/>.</summary>
    public static List<KeyValuePair<string, byte[]?>> Headers(StreamId streamId, object? firstEvent)
    {
        var headers = new List<KeyValuePair<string, byte[]?>>(3);
        if (!streamId.Namespace.IsEmpty)
        {
            headers.Add(new(NamespaceHeader, streamId.Namespace.ToArray()));
        }

        headers.Add(new(KeyHeader, streamId.Key.ToArray()));
        if (firstEvent is not null)
        {
            headers.Add(new(EventTypeHeader, Encoding.UTF8.GetBytes(firstEvent.GetType().FullName ?? firstEvent.GetType().Name)));
        }

        return headers;
    }
}
