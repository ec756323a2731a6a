namespace OrleansMQ.Protocol.Kafka;

/// <summary>A struct inside a message (an array element) that its message reads.</summary>
public interface IWireReadable<TSelf>
    where TSelf : IWireReadable<TSelf>
{
    static abstract TSelf Read(ref KafkaReader reader, short version, bool flexible);
}

/// <summary>A struct inside a message (an array element) that its message reads and writes.</summary>
public interface IWireElement<TSelf> : IWireReadable<TSelf>
    where TSelf : IWireElement<TSelf>
{
    void Write(ref KafkaWriter writer, short version, bool flexible);
}

/// <summary>Array and version helpers shared by the message classes.</summary>
internal static class Wire
{
    /// <summary>Checks a version read from the wire; returns whether it is flexible.</summary>
    public static bool CheckRead(ApiKey apiKey, short version)
    {
        if (!ApiVersionsTable.IsDescribed(apiKey, version))
        {
            throw new KafkaProtocolException($"{apiKey} version {version} is not supported.");
        }

        return ApiVersionsTable.IsFlexible(apiKey, version);
    }

    /// <summary>Checks a version a caller asked to write; returns whether it is flexible.</summary>
    public static bool CheckWrite(ApiKey apiKey, short version)
    {
        if (!ApiVersionsTable.IsDescribed(apiKey, version))
        {
            throw new ArgumentOutOfRangeException(nameof(version), version, $"{apiKey} version {version} is not supported.");
        }

        return ApiVersionsTable.IsFlexible(apiKey, version);
    }

    /// <summary>Ends a struct: reads (skips) its tagged fields in flexible versions.</summary>
    public static void EndStruct(ref KafkaReader reader, bool flexible)
    {
        if (flexible)
        {
            reader.SkipTaggedFields();
        }
    }

    /// <summary>Ends a struct: writes an empty tagged-field section in flexible versions.</summary>
    public static void EndStruct(ref KafkaWriter writer, bool flexible)
    {
        if (flexible)
        {
            writer.WriteEmptyTaggedFields();
        }
    }

    public static List<T> ReadList<T>(ref KafkaReader reader, short version, bool flexible)
        where T : IWireReadable<T> =>
        ReadNullableList<T>(ref reader, version, flexible) ?? throw new KafkaProtocolException($"Non-nullable array of {typeof(T).Name} is null.");

    public static List<T>? ReadNullableList<T>(ref KafkaReader reader, short version, bool flexible)
        where T : IWireReadable<T>
    {
        int count = reader.ReadArrayLength(flexible);
        if (count < 0)
        {
            return null;
        }

        var list = new List<T>(count);
        for (int i = 0; i < count; i++)
        {
            list.Add(T.Read(ref reader, version, flexible));
        }

        return list;
    }

    /// <summary>
    /// Reads one nullable struct (not an array): an int8 marker, -1 for null and 1 for a struct
    /// that follows (Kafka's encoding of a struct field with nullableVersions).
    /// </summary>
    public static T? ReadNullableStruct<T>(ref KafkaReader reader, short version, bool flexible)
        where T : class, IWireReadable<T> =>
        reader.ReadInt8() < 0 ? null : T.Read(ref reader, version, flexible);

    /// <summary>Writes one nullable struct: -1 for null, else 1 and the struct.</summary>
    public static void WriteNullableStruct<T>(ref KafkaWriter writer, T? value, short version, bool flexible)
        where T : class, IWireElement<T>
    {
        if (value is null)
        {
            writer.WriteInt8(-1);
            return;
        }

        writer.WriteInt8(1);
        value.Write(ref writer, version, flexible);
    }

    /// <summary>Writes an array of structs; null writes a null array.</summary>
    public static void WriteList<T>(ref KafkaWriter writer, IReadOnlyList<T>? list, short version, bool flexible)
        where T : IWireElement<T>
    {
        if (list is null)
        {
            writer.WriteArrayLength(-1, flexible);
            return;
        }

        writer.WriteArrayLength(list.Count, flexible);
        foreach (var item in list)
        {
            item.Write(ref writer, version, flexible);
        }
    }

    public static List<int> ReadInt32List(ref KafkaReader reader, bool flexible) =>
        ReadNullableInt32List(ref reader, flexible) ?? throw new KafkaProtocolException("Non-nullable int32 array is null.");

    public static List<int>? ReadNullableInt32List(ref KafkaReader reader, bool flexible)
    {
        int count = reader.ReadArrayLength(flexible, sizeof(int));
        if (count < 0)
        {
            return null;
        }

        var list = new List<int>(count);
        for (int i = 0; i < count; i++)
        {
            list.Add(reader.ReadInt32());
        }

        return list;
    }

    public static void WriteInt32List(ref KafkaWriter writer, IReadOnlyList<int>? list, bool flexible)
    {
        writer.WriteArrayLength(list?.Count ?? -1, flexible);
        if (list is not null)
        {
            foreach (int value in list)
            {
                writer.WriteInt32(value);
            }
        }
    }

    public static List<long> ReadInt64List(ref KafkaReader reader, bool flexible)
    {
        int count = reader.ReadNonNullArrayLength(flexible, sizeof(long));
        var list = new List<long>(count);
        for (int i = 0; i < count; i++)
        {
            list.Add(reader.ReadInt64());
        }

        return list;
    }

    public static void WriteInt64List(ref KafkaWriter writer, IReadOnlyList<long> list, bool flexible)
    {
        writer.WriteArrayLength(list.Count, flexible);
        foreach (long value in list)
        {
            writer.WriteInt64(value);
        }
    }

    public static List<string> ReadStringList(ref KafkaReader reader, bool flexible) =>
        ReadNullableStringList(ref reader, flexible) ?? throw new KafkaProtocolException("Non-nullable string array is null.");

    public static List<string>? ReadNullableStringList(ref KafkaReader reader, bool flexible)
    {
        // Every string takes at least its length prefix: 2 bytes classic, 1 byte compact.
        int count = reader.ReadArrayLength(flexible, flexible ? 1 : 2);
        if (count < 0)
        {
            return null;
        }

        var list = new List<string>(count);
        for (int i = 0; i < count; i++)
        {
            list.Add(reader.ReadString(flexible));
        }

        return list;
    }

    public static void WriteStringList(ref KafkaWriter writer, IReadOnlyList<string>? list, bool flexible)
    {
        writer.WriteArrayLength(list?.Count ?? -1, flexible);
        if (list is not null)
        {
            foreach (string value in list)
            {
                writer.WriteString(value, flexible);
            }
        }
    }
}
