using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Protocol.Groups;

/// <summary>
/// Kafka's embedded "consumer" protocol: the bytes consumers put in JoinGroup protocol metadata
/// (<see cref="ConsumerSubscription"/>) and the bytes the leader hands out through SyncGroup
/// (<see cref="ConsumerAssignment"/>). Both start with an int16 version and are never flexible
/// (no compact types, no tagged fields).
/// <code>
/// Subscription
///   int16  version
///   [string] topics                                   v0+
///   bytes    user_data (nullable)                     v0+
///   [ string topic, [int32] partitions ] owned        v1+
///   int32    generation_id (default -1)               v2+
///   string   rack_id (nullable)                       v3+
/// Assignment (the same layout in v0 to v3)
///   int16  version
///   [ string topic, [int32] partitions ] assigned
///   bytes    user_data (nullable)
/// </code>
/// </summary>
/// <remarks>
/// A version newer than this codec knows is read as the newest known one and whatever follows is
/// ignored, as Kafka does, so newer members can join a group led by the managed client. Bytes that do not
/// parse (truncated, a negative version, a length or count past the end, a null where Kafka forbids
/// one) throw <see cref="FormatException"/> from the <c>Decode</c> methods; the <c>TryDecode</c>
/// methods answer false instead, for the broker, which reads these bytes only to report on a group
/// (subscribed topics, who owns which partition) and must not fail a request over a member's bytes.
/// </remarks>
public static class ConsumerProtocolCodec
{
    /// <summary>The JoinGroup protocol type consumers use.</summary>
    public const string ProtocolType = "consumer";

    /// <summary>The newest subscription version this codec reads and writes.</summary>
    public const short HighestSubscriptionVersion = 3;

    /// <summary>The newest assignment version this codec reads and writes.</summary>
    public const short HighestAssignmentVersion = 3;

    /// <summary>
    /// Writes a subscription in <paramref name="version"/> (0 to 3). Fields the version does not
    /// carry (owned partitions before v1, generation before v2, rack before v3) are left out, as
    /// Kafka does for these ignorable fields.
    /// </summary>
    public static byte[] EncodeSubscription(ConsumerSubscription subscription, short version = HighestSubscriptionVersion)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        ArgumentNullException.ThrowIfNull(subscription.Topics);
        CheckVersion(version, HighestSubscriptionVersion);

        var buffer = new ArrayBufferWriter<byte>(64);
        var writer = new KafkaWriter(buffer);
        writer.WriteInt16(version);
        writer.WriteInt32(subscription.Topics.Count);
        foreach (string topic in subscription.Topics)
        {
            writer.WriteString(topic ?? throw new ArgumentException("A subscribed topic is null.", nameof(subscription)));
        }

        writer.WriteNullableBytes(subscription.UserData);
        if (version >= 1)
        {
            WriteTopicPartitions(ref writer, subscription.OwnedPartitions ?? [], nameof(subscription));
        }

        if (version >= 2)
        {
            writer.WriteInt32(subscription.GenerationId);
        }

        if (version >= 3)
        {
            writer.WriteNullableString(subscription.RackId);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Reads a subscription of any version (see the class remarks for newer versions and errors).</summary>
    /// <exception cref="FormatException">The bytes are not a valid subscription.</exception>
    public static ConsumerSubscription DecodeSubscription(ReadOnlyMemory<byte> metadata)
    {
        var reader = new KafkaReader(metadata);
        try
        {
            short version = ReadVersion(ref reader, "subscription");
            int topicCount = reader.ReadArrayLength(minElementSize: 2);
            if (topicCount < 0)
            {
                throw new FormatException("Malformed consumer protocol subscription: the topic array is null.");
            }

            var topics = new List<string>(topicCount);
            for (int i = 0; i < topicCount; i++)
            {
                topics.Add(reader.ReadString());
            }

            var userData = CopyNullable(reader.ReadNullableBytes());
            IReadOnlyList<TopicPartition> owned = version >= 1 ? ReadTopicPartitions(ref reader, "subscription") : [];
            int generation = version >= 2 ? reader.ReadInt32() : -1;
            string? rack = version >= 3 ? reader.ReadNullableString() : null;

            // Anything after this is a field of a newer version; Kafka ignores it too.
            return new ConsumerSubscription(topics)
            {
                UserData = userData,
                OwnedPartitions = owned,
                GenerationId = generation,
                RackId = string.IsNullOrEmpty(rack) ? null : rack,
            };
        }
        catch (KafkaProtocolException ex)
        {
            throw new FormatException("Malformed consumer protocol subscription: " + ex.Message, ex);
        }
    }

    /// <summary>Writes an assignment in <paramref name="version"/> (0 to 3; all share one layout).</summary>
    public static byte[] EncodeAssignment(ConsumerAssignment assignment, short version = HighestAssignmentVersion)
    {
        ArgumentNullException.ThrowIfNull(assignment);
        ArgumentNullException.ThrowIfNull(assignment.Partitions);
        CheckVersion(version, HighestAssignmentVersion);

        var buffer = new ArrayBufferWriter<byte>(64);
        var writer = new KafkaWriter(buffer);
        writer.WriteInt16(version);
        WriteTopicPartitions(ref writer, assignment.Partitions, nameof(assignment));
        writer.WriteNullableBytes(assignment.UserData);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Reads an assignment of any version. Zero bytes read as an empty assignment: that is what a
    /// coordinator hands a member the leader gave nothing to.
    /// </summary>
    /// <exception cref="FormatException">The bytes are not a valid assignment.</exception>
    public static ConsumerAssignment DecodeAssignment(ReadOnlyMemory<byte> assignment)
    {
        if (assignment.IsEmpty)
        {
            return new ConsumerAssignment([]);
        }

        var reader = new KafkaReader(assignment);
        try
        {
            _ = ReadVersion(ref reader, "assignment");
            var partitions = ReadTopicPartitions(ref reader, "assignment");
            var userData = CopyNullable(reader.ReadNullableBytes());
            return new ConsumerAssignment(partitions) { UserData = userData };
        }
        catch (KafkaProtocolException ex)
        {
            throw new FormatException("Malformed consumer protocol assignment: " + ex.Message, ex);
        }
    }

    /// <summary>Reads a subscription like <see cref="DecodeSubscription"/>; malformed bytes answer false.</summary>
    public static bool TryDecodeSubscription(ReadOnlyMemory<byte> metadata, [NotNullWhen(true)] out ConsumerSubscription? subscription)
    {
        try
        {
            subscription = DecodeSubscription(metadata);
            return true;
        }
        catch (FormatException)
        {
            subscription = null;
            return false;
        }
    }

    /// <summary>Reads an assignment like <see cref="DecodeAssignment"/>; malformed bytes answer false.</summary>
    public static bool TryDecodeAssignment(ReadOnlyMemory<byte> assignment, [NotNullWhen(true)] out ConsumerAssignment? decoded)
    {
        try
        {
            decoded = DecodeAssignment(assignment);
            return true;
        }
        catch (FormatException)
        {
            decoded = null;
            return false;
        }
    }

    private static short ReadVersion(ref KafkaReader reader, string what)
    {
        short version = reader.ReadInt16();
        if (version < 0)
        {
            throw new FormatException($"Malformed consumer protocol {what}: unsupported version {version}.");
        }

        return version;
    }

    private static void CheckVersion(short version, short highest)
    {
        if (version < 0 || version > highest)
        {
            throw new ArgumentOutOfRangeException(nameof(version), version, $"Consumer protocol versions run from 0 to {highest}.");
        }
    }

    /// <summary>Writes <c>[ string topic, [int32] partitions ]</c>, one entry per topic in first-seen order.</summary>
    private static void WriteTopicPartitions(ref KafkaWriter writer, IReadOnlyList<TopicPartition> partitions, string paramName)
    {
        var byTopic = new List<(string Topic, List<int> Partitions)>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var tp in partitions)
        {
            if (tp?.Topic is null)
            {
                throw new ArgumentException("A topic partition (or its topic) is null.", paramName);
            }

            if (!index.TryGetValue(tp.Topic, out int i))
            {
                i = byTopic.Count;
                index.Add(tp.Topic, i);
                byTopic.Add((tp.Topic, []));
            }

            byTopic[i].Partitions.Add(tp.Partition);
        }

        writer.WriteInt32(byTopic.Count);
        foreach (var (topic, numbers) in byTopic)
        {
            writer.WriteString(topic);
            writer.WriteInt32(numbers.Count);
            foreach (int p in numbers)
            {
                writer.WriteInt32(p);
            }
        }
    }

    private static List<TopicPartition> ReadTopicPartitions(ref KafkaReader reader, string what)
    {
        // Each entry is at least a 2-byte topic length and a 4-byte partition count.
        int topicCount = reader.ReadArrayLength(minElementSize: 6);
        if (topicCount < 0)
        {
            throw new FormatException($"Malformed consumer protocol {what}: the topic partition array is null.");
        }

        var result = new List<TopicPartition>();
        for (int i = 0; i < topicCount; i++)
        {
            string topic = reader.ReadString();
            int count = reader.ReadArrayLength(minElementSize: 4);
            if (count < 0)
            {
                throw new FormatException($"Malformed consumer protocol {what}: the partitions of topic '{topic}' are null.");
            }

            for (int j = 0; j < count; j++)
            {
                result.Add(new TopicPartition(topic, reader.ReadInt32()));
            }
        }

        return result;
    }

    /// <summary>Copies user data out of the (possibly pooled) input buffer, keeping null distinct from empty.</summary>
    private static ReadOnlyMemory<byte>? CopyNullable(ReadOnlyMemory<byte>? bytes) =>
        // Careful: a bare null here would convert through byte[] to an empty (non-null) memory.
        bytes is { } b ? b.ToArray() : default(ReadOnlyMemory<byte>?);
}
