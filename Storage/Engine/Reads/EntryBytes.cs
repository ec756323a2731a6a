using System.Buffers;
using OrleansMQ.Storage.Log;

namespace OrleansMQ.Storage.Engine.Reads;

/// <summary>Outcome of <see cref="ISegmentSource.ReadEntryAsync"/>.</summary>
internal enum EntryReadStatus
{
    /// <summary>The entry's bytes are in <see cref="EntryBytes.Span"/>.</summary>
    Ok,

    /// <summary>The source no longer (or never) held the entry.</summary>
    Absent,

    /// <summary>The bytes there are not a whole, intact entry (header or checksums wrong).</summary>
    Corrupt,
}

/// <summary>
/// One CommitLog entry read from a source: either a view of a retained local segment's mapping
/// (no copy) or a buffer rented from the shared pool for bytes read from the blob tier.
/// <see cref="Dispose"/> releases the segment or returns the buffer; dispose exactly once.
/// </summary>
internal readonly struct EntryBytes : IDisposable
{
    private readonly Segment? _segment;
    private readonly long _filePosition;
    private readonly byte[]? _rented;
    private readonly int _length;

    private EntryBytes(EntryReadStatus status, Segment? segment, long filePosition, byte[]? rented, int length)
    {
        Status = status;
        _segment = segment;
        _filePosition = filePosition;
        _rented = rented;
        _length = length;
    }

    public EntryReadStatus Status { get; }

    /// <summary>The entry, header included (empty unless <see cref="Status"/> is Ok).</summary>
    public unsafe ReadOnlySpan<byte> Span =>
        _segment is not null ? new(_segment.File.BasePointer + _filePosition, _length)
        : _rented is not null ? _rented.AsSpan(0, _length)
        : default;

    public static EntryBytes Absent => new(EntryReadStatus.Absent, null, 0, null, 0);

    public static EntryBytes Corrupt => new(EntryReadStatus.Corrupt, null, 0, null, 0);

    /// <summary>A view of a retained segment; the segment is released on dispose.</summary>
    public static EntryBytes Mapped(Segment segment, long filePosition, int length) => new(EntryReadStatus.Ok, segment, filePosition, null, length);

    /// <summary>A rented buffer holding the entry; returned to the pool on dispose.</summary>
    public static EntryBytes Rented(byte[] buffer, int length) => new(EntryReadStatus.Ok, null, 0, buffer, length);

    public void Dispose()
    {
        _segment?.Release();
        if (_rented is not null)
        {
            ArrayPool<byte>.Shared.Return(_rented);
        }
    }
}
