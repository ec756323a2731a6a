using OrleansMQ.Storage.Log;

namespace OrleansMQ.Storage.Engine.Reads;

/// <summary>
/// The local CommitLog segment files. Besides entries (a view of the mapping, never a copy) it
/// hands out retained batch spans for <c>sendfile</c>, which only local files can serve. Its bytes
/// were checked when written or by recovery, so reads are not checksummed again.
/// </summary>
internal sealed class LocalSegmentSource : ISegmentSource
{
    private readonly CommitLog _log;

    public LocalSegmentSource(CommitLog log) => _log = log;

    /// <summary>Positions at or above this are local; everything below went to retention or the blob tier.</summary>
    public long MinPosition => _log.MinPosition;

    public EntryPlace Locate(long entryPosition, int length) =>
        entryPosition >= _log.MinPosition && (length == 0 || entryPosition + length <= _log.CommittedPosition)
            ? EntryPlace.Held
            : EntryPlace.Absent;

    /// <summary>
    /// The batch at <paramref name="batchPosition"/> as a retained span (release it), or false when
    /// its segment is not local (offloaded, or deleted by retention since the lookup).
    /// </summary>
    public bool TryRetainBatch(long batchPosition, int size, long baseOffset, out LogSpan span)
    {
        var seg = _log.RetainSegment(batchPosition);
        if (seg is null)
        {
            span = default;
            return false;
        }

        span = new LogSpan(seg, batchPosition - seg.StartPosition, size, baseOffset);
        return true;
    }

    public ValueTask<EntryBytes> ReadEntryAsync(long entryPosition, int length, CancellationToken cancellationToken) => new(ReadEntry(entryPosition, length));

    private unsafe EntryBytes ReadEntry(long entryPosition, int length)
    {
        var seg = _log.RetainSegment(entryPosition);
        if (seg is null)
        {
            return EntryBytes.Absent;
        }

        long off = entryPosition - seg.StartPosition;
        long size = seg.File.Size;
        if (length == 0)
        {
            if (off + EntryFormat.HeaderSize > size)
            {
                seg.Release();
                return EntryBytes.Corrupt;
            }

            var header = new ReadOnlySpan<byte>(seg.File.BasePointer + off, EntryFormat.HeaderSize);
            length = EntryFormat.ReadMagic(header) == EntryFormat.DataMagic ? EntryFormat.ReadLength(header) : 0;
        }

        if (length <= EntryFormat.HeaderSize || off + length > size)
        {
            seg.Release();
            return EntryBytes.Corrupt;
        }

        return EntryBytes.Mapped(seg, off, length);
    }
}
