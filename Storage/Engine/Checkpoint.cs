using System.Buffers.Binary;
using OrleansMQ.Protocol.Batches;

namespace OrleansMQ.Storage.Engine;

/// <summary>
/// The checkpoint file (docs/storage-format.md): the CommitLog position known flushed and the
/// position below which ConsumeQueues and the index are flushed. Written to a temp file, fsynced,
/// renamed; carries its own CRC so a damaged checkpoint is detected and ignored (recovery then
/// validates the whole log instead).
/// </summary>
internal readonly record struct Checkpoint(long FlushedPosition, long DispatchedPosition)
{
    /// <summary>The checkpoint's file name in the data directory.</summary>
    public const string FileName = "checkpoint";

    private const uint Magic = 0x43514D4F; // "OMQC"
    private const int Version = 1;
    private const int Size = 32;

    public static bool TryRead(string path, out Checkpoint checkpoint)
    {
        checkpoint = default;
        if (!File.Exists(path))
        {
            return false;
        }

        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (IOException)
        {
            return false;
        }

        if (bytes.Length != Size
            || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != Magic
            || BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4)) != Version
            || BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(24)) != Crc32C.Compute(bytes.AsSpan(0, 24)))
        {
            return false;
        }

        long flushed = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(8));
        long dispatched = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(16));
        if (flushed < 0 || dispatched < 0 || dispatched > flushed)
        {
            return false;
        }

        checkpoint = new Checkpoint(flushed, dispatched);
        return true;
    }

    public void Write(string path)
    {
        Span<byte> bytes = stackalloc byte[Size];
        bytes.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(bytes[4..], Version);
        BinaryPrimitives.WriteInt64LittleEndian(bytes[8..], FlushedPosition);
        BinaryPrimitives.WriteInt64LittleEndian(bytes[16..], DispatchedPosition);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[24..], Crc32C.Compute(bytes[..24]));
        var tmp = path + ".tmp";
        using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            fs.Write(bytes);
            fs.Flush(flushToDisk: true);
        }

        File.Move(tmp, path, overwrite: true);
    }
}
