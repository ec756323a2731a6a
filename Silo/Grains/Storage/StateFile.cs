using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace OrleansMQ.Silo.Grains.Storage;

/// <summary>
/// The bytes of one state file: a one-line JSON header, a newline, then the payload exactly as
/// the grain storage serializer produced it.
/// <code>
/// {"format":1,"grainId":"topic/orders","stateName":"state","version":3,"payloadLength":118,"sha256":"9f86…"}\n
/// {"$id":"1","$type":"…","Partitions":12,…}
/// </code>
/// The SHA-256 covers the format, grain id, state name, version and payload (length-prefixed, so
/// no two different files hash the same input), so a flipped bit anywhere but in the checksum
/// itself, a truncation, or bytes appended are all caught before the payload reaches the
/// serializer. JSON strings cannot hold a raw newline, so the first newline always ends the header
/// whatever the key holds.
/// </summary>
internal static class StateFile
{
    /// <summary>The layout written; a file of another format is not read.</summary>
    public const int Format = 1;

    private static readonly JsonWriterOptions HeaderWriterOptions = new()
    {
        // A file, not HTML: keep unicode keys readable in the header instead of \uXXXX.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
    };

    /// <summary>The whole file for a state, and the checksum it carries (half of the new ETag).</summary>
    public static byte[] Encode(string grainId, string stateName, long version, ReadOnlySpan<byte> payload, out string checksum)
    {
        checksum = Checksum(grainId, stateName, version, payload);
        var header = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(header, HeaderWriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteNumber("format", Format);
            writer.WriteString("grainId", grainId);
            writer.WriteString("stateName", stateName);
            writer.WriteNumber("version", version);
            writer.WriteNumber("payloadLength", payload.Length);
            writer.WriteString("sha256", checksum);
            writer.WriteEndObject();
        }

        var file = new byte[header.WrittenCount + 1 + payload.Length];
        header.WrittenSpan.CopyTo(file);
        file[header.WrittenCount] = (byte)'\n';
        payload.CopyTo(file.AsSpan(header.WrittenCount + 1));
        return file;
    }

    /// <summary>
    /// Parses and verifies a file. False with the reason when it is not a complete, intact state
    /// file of this format; whether it belongs to the grain asking is the caller's check.
    /// </summary>
    public static bool TryDecode(ReadOnlyMemory<byte> file, out StateFileContent content, [NotNullWhen(false)] out string? problem)
    {
        content = default;
        var span = file.Span;
        int newline = span.IndexOf((byte)'\n');
        if (newline < 0)
        {
            problem = $"no header line in {span.Length} bytes (truncated, or not a state file)";
            return false;
        }

        string? grainId;
        string? stateName;
        long version;
        long payloadLength;
        string? sha256;
        try
        {
            using var header = JsonDocument.Parse(file[..newline]);
            var root = header.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                problem = "the header is not a JSON object";
                return false;
            }

            if (!root.TryGetProperty("format", out var format) || !format.TryGetInt32(out int formatValue) || formatValue != Format)
            {
                problem = $"the header has no format {Format} (written by another version of the silo, or damaged)";
                return false;
            }

            grainId = String(root, "grainId");
            stateName = String(root, "stateName");
            sha256 = String(root, "sha256");
            if (grainId is null || stateName is null || sha256 is null
                || !root.TryGetProperty("version", out var versionElement) || !versionElement.TryGetInt64(out version) || version < 1
                || !root.TryGetProperty("payloadLength", out var lengthElement) || !lengthElement.TryGetInt64(out payloadLength) || payloadLength < 0)
            {
                problem = "the header lacks a field or has one of the wrong type";
                return false;
            }
        }
        catch (JsonException ex)
        {
            problem = "the header is not valid JSON: " + ex.Message;
            return false;
        }

        var payload = file[(newline + 1)..];
        if (payload.Length != payloadLength)
        {
            problem = $"the payload is {payload.Length} bytes where the header says {payloadLength} (truncated, or bytes appended)";
            return false;
        }

        string actual = Checksum(grainId, stateName, version, payload.Span);
        if (!string.Equals(actual, sha256, StringComparison.Ordinal))
        {
            problem = $"checksum mismatch: the header says {sha256}, the content hashes to {actual}";
            return false;
        }

        content = new StateFileContent(grainId, stateName, version, sha256, payload);
        problem = null;
        return true;
    }

    /// <summary>The ETag Orleans sees for a stored version: the version number and the start of its checksum.</summary>
    public static string ETag(long version, string checksum) =>
        version.ToString(CultureInfo.InvariantCulture) + "-" + checksum[..Math.Min(16, checksum.Length)];

    private static string? String(JsonElement root, string name) =>
        root.TryGetProperty(name, out var element) && element.ValueKind == JsonValueKind.String ? element.GetString() : null;

    private static string Checksum(string grainId, string stateName, long version, ReadOnlySpan<byte> payload)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> number = stackalloc byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(number, Format);
        hash.AppendData(number[..4]);
        AppendString(hash, grainId);
        AppendString(hash, stateName);
        BinaryPrimitives.WriteInt64LittleEndian(number, version);
        hash.AppendData(number);
        BinaryPrimitives.WriteInt64LittleEndian(number, payload.Length);
        hash.AppendData(number);
        hash.AppendData(payload);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static void AppendString(IncrementalHash hash, string value)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, bytes.Length);
        hash.AppendData(length);
        hash.AppendData(bytes);
    }
}
