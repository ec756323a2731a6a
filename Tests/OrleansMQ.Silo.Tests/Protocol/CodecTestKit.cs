using System.Buffers;
using System.Collections;
using System.Reflection;
using OrleansMQ.Protocol.Kafka;
using Xunit;

namespace OrleansMQ.Silo.Tests.Protocol;

/// <summary>A write step for <see cref="CodecTestKit.Bytes"/>.</summary>
internal delegate void WriteStep(ref KafkaWriter writer);

/// <summary>Encode/decode helpers and a structural comparer for protocol models.</summary>
internal static class CodecTestKit
{
    public static byte[] Bytes(WriteStep step)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new KafkaWriter(buffer);
        step(ref writer);
        Assert.Equal(buffer.WrittenCount, writer.Written);
        return buffer.WrittenSpan.ToArray();
    }

    public static byte[] Encode<T>(T message, short version)
        where T : IKafkaMessage<T>
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new KafkaWriter(buffer);
        message.Write(ref writer, version);
        Assert.Equal(buffer.WrittenCount, writer.Written);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Decodes and checks that the whole buffer was consumed.</summary>
    public static T Decode<T>(ReadOnlyMemory<byte> bytes, short version)
        where T : IKafkaMessage<T>
    {
        var reader = new KafkaReader(bytes);
        var message = T.Read(ref reader, version);
        Assert.True(reader.IsAtEnd, $"{typeof(T).Name} v{version}: {reader.Remaining} bytes left unread.");
        return message;
    }

    public static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    /// <summary>Compares two models property by property (lists element by element, byte memory by content).</summary>
    public static void DeepEqual(object? expected, object? actual, string path = "$")
    {
        if (expected is null || actual is null)
        {
            Assert.True(expected is null && actual is null, $"{path}: expected {Show(expected)}, got {Show(actual)}");
            return;
        }

        var type = expected.GetType();
        Assert.True(type == actual.GetType(), $"{path}: expected type {type.Name}, got {actual.GetType().Name}");
        switch (expected)
        {
            case ReadOnlyMemory<byte> memory:
                Assert.True(memory.Span.SequenceEqual(((ReadOnlyMemory<byte>)actual).Span), $"{path}: bytes differ");
                return;
            case string:
                Assert.True(Equals(expected, actual), $"{path}: expected \"{expected}\", got \"{actual}\"");
                return;
            case IEnumerable sequence:
                var left = sequence.Cast<object?>().ToList();
                var right = ((IEnumerable)actual).Cast<object?>().ToList();
                Assert.True(left.Count == right.Count, $"{path}: expected {left.Count} elements, got {right.Count}");
                for (int i = 0; i < left.Count; i++)
                {
                    DeepEqual(left[i], right[i], $"{path}[{i}]");
                }

                return;
        }

        if (type.IsValueType)
        {
            Assert.True(Equals(expected, actual), $"{path}: expected {expected}, got {actual}");
            return;
        }

        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length == 0)
            {
                DeepEqual(property.GetValue(expected), property.GetValue(actual), $"{path}.{property.Name}");
            }
        }
    }

    private static string Show(object? value) => value is null ? "null" : value.ToString() ?? "?";
}
