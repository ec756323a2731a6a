using System.Buffers.Binary;
using System.Text;

namespace OrleansMQ.Silo.Groups;

/// <summary>
/// Reads the embedded "consumer" protocol that Kafka consumers put in JoinGroup metadata
/// (subscription) and SyncGroup assignments. The broker only needs the topic names (OffsetDelete
/// refuses subscribed topics) and the assigned partitions (lag per member); everything after them
/// (user data, owned partitions, rack) is ignored. Malformed bytes read as null, never throw.
/// <code>
/// subscription: int16 version | int32 n | n × string topic | bytes user data | (v1+) ...
/// assignment  : int16 version | int32 n | n × (string topic | int32 m | m × int32 partition) | bytes user data
/// </code>
/// </summary>
public static class ConsumerProtocol
{
    public const string ProtocolType = "consumer";

    public static List<string>? TryReadSubscriptionTopics(ReadOnlySpan<byte> metadata)
    {
        int pos = 2;
        if (!TryInt32(metadata, ref pos, out int n) || n < 0 || n > metadata.Length)
        {
            return null;
        }

        var topics = new List<string>(n);
        for (int i = 0; i < n; i++)
        {
            if (!TryString(metadata, ref pos, out var t))
            {
                return null;
            }

            topics.Add(t);
        }

        return topics;
    }

    public static List<(string Topic, int Partition)>? TryReadAssignment(ReadOnlySpan<byte> assignment)
    {
        int pos = 2;
        if (!TryInt32(assignment, ref pos, out int n) || n < 0 || n > assignment.Length)
        {
            return null;
        }

        var result = new List<(string, int)>();
        for (int i = 0; i < n; i++)
        {
            if (!TryString(assignment, ref pos, out var topic) || !TryInt32(assignment, ref pos, out int m) || m < 0 || (long)m * 4 > assignment.Length - pos)
            {
                return null;
            }

            for (int j = 0; j < m; j++)
            {
                TryInt32(assignment, ref pos, out int p);
                result.Add((topic, p));
            }
        }

        return result;
    }

    /// <summary>Writes a version-0 assignment (tests and the managed client build them).</summary>
    public static byte[] WriteAssignment(IEnumerable<(string Topic, IReadOnlyList<int> Partitions)> topics)
    {
        var list = topics.ToList();
        using var ms = new MemoryStream();
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteInt16BigEndian(b, 0);
        ms.Write(b[..2]);
        BinaryPrimitives.WriteInt32BigEndian(b, list.Count);
        ms.Write(b);
        foreach (var (topic, partitions) in list)
        {
            byte[] name = Encoding.UTF8.GetBytes(topic);
            BinaryPrimitives.WriteInt16BigEndian(b, (short)name.Length);
            ms.Write(b[..2]);
            ms.Write(name);
            BinaryPrimitives.WriteInt32BigEndian(b, partitions.Count);
            ms.Write(b);
            foreach (int p in partitions)
            {
                BinaryPrimitives.WriteInt32BigEndian(b, p);
                ms.Write(b);
            }
        }

        BinaryPrimitives.WriteInt32BigEndian(b, -1); // no user data
        ms.Write(b);
        return ms.ToArray();
    }

    /// <summary>Writes a version-0 subscription.</summary>
    public static byte[] WriteSubscription(IEnumerable<string> topics)
    {
        var list = topics.ToList();
        using var ms = new MemoryStream();
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteInt16BigEndian(b, 0);
        ms.Write(b[..2]);
        BinaryPrimitives.WriteInt32BigEndian(b, list.Count);
        ms.Write(b);
        foreach (var topic in list)
        {
            byte[] name = Encoding.UTF8.GetBytes(topic);
            BinaryPrimitives.WriteInt16BigEndian(b, (short)name.Length);
            ms.Write(b[..2]);
            ms.Write(name);
        }

        BinaryPrimitives.WriteInt32BigEndian(b, -1);
        ms.Write(b);
        return ms.ToArray();
    }

    private static bool TryInt32(ReadOnlySpan<byte> s, ref int pos, out int value)
    {
        if (pos < 0 || s.Length - pos < 4)
        {
            value = 0;
            return false;
        }

        value = BinaryPrimitives.ReadInt32BigEndian(s[pos..]);
        pos += 4;
        return true;
    }

    private static bool TryString(ReadOnlySpan<byte> s, ref int pos, out string value)
    {
        value = "";
        if (s.Length - pos < 2)
        {
            return false;
        }

        short n = BinaryPrimitives.ReadInt16BigEndian(s[pos..]);
        pos += 2;
        if (n < 0 || s.Length - pos < n)
        {
            return false;
        }

        value = Encoding.UTF8.GetString(s.Slice(pos, n));
        pos += n;
        return true;
    }
}
