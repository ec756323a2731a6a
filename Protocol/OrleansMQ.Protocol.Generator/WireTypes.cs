using System;
using System.Text.RegularExpressions;

namespace OrleansMQ.Protocol.Generator;

/// <summary>How one description type is held in C#, read and written.</summary>
/// <param name="cSharpType">The property's type.</param>
/// <param name="initializer">What the property starts as when the description gives no default (null: the CLR default).</param>
/// <param name="read">An expression over <c>reader</c>, <c>version</c> and <c>flexible</c>.</param>
/// <param name="write">Writes the value; <c>{0}</c> is the property.</param>
internal sealed class WireType(string cSharpType, string? initializer, string read, string write)
{
    public string CSharpType { get; } = cSharpType;

    public string? Initializer { get; } = initializer;

    public string Read { get; } = read;

    public string Write { get; } = write;
}

/// <summary>
/// The description types (Kafka protocol guide, "Protocol Primitive Types"); every string, bytes and
/// array type is compact in flexible versions, which the reader and writer decide from <c>flexible</c>.
/// <code>
/// int8 int16 int32 int64 bool      fixed width
/// string / string?                 STRING / NULLABLE_STRING
/// string?vN                        NULLABLE_STRING from vN, STRING (null written as "") before
/// bytes / bytes?                   BYTES / NULLABLE_BYTES, slices of the frame
/// Enum(int8|int16|int32)           an enum of ours carried as that integer
/// [int32] [int32]? [int64] [string] [string]?   arrays of primitives
/// [Struct] / [Struct]?             arrays of a struct of the same description
/// uuid                             UUID (16 bytes)
/// Struct?                          one nullable struct (int8 -1 for null, 1 then the struct)
/// </code>
/// </summary>
internal static class WireTypes
{
    private static readonly Regex EnumType = new(@"^(?<enum>[A-Z][A-Za-z0-9]*)\((?<wire>int8|int16|int32)\)$", RegexOptions.CultureInvariant);

    private static readonly Regex NullableFrom = new(@"^string\?v(?<from>\d+)$", RegexOptions.CultureInvariant);

    private static readonly Regex NullableStruct = new(@"^(?<struct>[A-Z][A-Za-z0-9]*)\?$", RegexOptions.CultureInvariant);

    private static readonly Regex StructArray = new(@"^\[(?<struct>[A-Z][A-Za-z0-9]*)\](?<nullable>\?)?$", RegexOptions.CultureInvariant);

    /// <summary>The C# shape of <paramref name="type"/>; an unknown type throws <see cref="FormatException"/>.</summary>
    public static WireType Resolve(string type)
    {
        switch (type)
        {
            case "int8": return new("sbyte", null, "reader.ReadInt8()", "writer.WriteInt8({0});");
            case "int16": return new("short", null, "reader.ReadInt16()", "writer.WriteInt16({0});");
            case "int32": return new("int", null, "reader.ReadInt32()", "writer.WriteInt32({0});");
            case "int64": return new("long", null, "reader.ReadInt64()", "writer.WriteInt64({0});");
            case "bool": return new("bool", null, "reader.ReadBoolean()", "writer.WriteBoolean({0});");
            case "uuid": return new("Guid", null, "reader.ReadUuid()", "writer.WriteUuid({0});");
            case "string": return new("string", "\"\"", "reader.ReadString(flexible)", "writer.WriteString({0}, flexible);");
            case "string?": return new("string?", null, "reader.ReadNullableString(flexible)", "writer.WriteNullableString({0}, flexible);");
            case "bytes": return new("ReadOnlyMemory<byte>", null, "reader.ReadBytes(flexible)", "writer.WriteBytes({0}.Span, flexible);");
            case "bytes?": return new("ReadOnlyMemory<byte>?", null, "reader.ReadNullableBytes(flexible)", "writer.WriteNullableBytes({0}, flexible);");
            case "[int32]": return new("List<int>", "[]", "Wire.ReadInt32List(ref reader, flexible)", "Wire.WriteInt32List(ref writer, {0}, flexible);");
            case "[int32]?": return new("List<int>?", null, "Wire.ReadNullableInt32List(ref reader, flexible)", "Wire.WriteInt32List(ref writer, {0}, flexible);");
            case "[int64]": return new("List<long>", "[]", "Wire.ReadInt64List(ref reader, flexible)", "Wire.WriteInt64List(ref writer, {0}, flexible);");
            case "[string]": return new("List<string>", "[]", "Wire.ReadStringList(ref reader, flexible)", "Wire.WriteStringList(ref writer, {0}, flexible);");
            case "[string]?": return new("List<string>?", null, "Wire.ReadNullableStringList(ref reader, flexible)", "Wire.WriteStringList(ref writer, {0}, flexible);");
        }

        if (NullableFrom.Match(type) is { Success: true } n)
        {
            // Kafka made some strings nullable in a later version; before it, null goes out as "".
            string from = n.Groups["from"].Value;
            return new("string?", null,
                $"version >= {from} ? reader.ReadNullableString(flexible) : reader.ReadString(flexible)",
                $"writer.WriteNullableString(version >= {from} ? {{0}} : {{0}} ?? \"\", flexible);");
        }

        if (EnumType.Match(type) is { Success: true } e)
        {
            string name = e.Groups["enum"].Value;
            var (clr, method) = e.Groups["wire"].Value switch
            {
                "int8" => ("sbyte", "Int8"),
                "int16" => ("short", "Int16"),
                _ => ("int", "Int32"),
            };
            return new(name, null, $"({name})reader.Read{method}()", $"writer.Write{method}(({clr}){{0}});");
        }

        if (StructArray.Match(type) is { Success: true } s)
        {
            string name = s.Groups["struct"].Value;
            return s.Groups["nullable"].Success
                ? new($"List<{name}>?", null, $"Wire.ReadNullableList<{name}>(ref reader, version, flexible)", "Wire.WriteList(ref writer, {0}, version, flexible);")
                : new($"List<{name}>", "[]", $"Wire.ReadList<{name}>(ref reader, version, flexible)", "Wire.WriteList(ref writer, {0}, version, flexible);");
        }

        if (NullableStruct.Match(type) is { Success: true } single)
        {
            string name = single.Groups["struct"].Value;
            return new($"{name}?", null, $"Wire.ReadNullableStruct<{name}>(ref reader, version, flexible)", "Wire.WriteNullableStruct(ref writer, {0}, version, flexible);");
        }

        throw new FormatException($"unknown type \"{type}\"");
    }
}
