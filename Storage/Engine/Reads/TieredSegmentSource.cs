using System.Buffers;
using OrleansMQ.Storage.Log;
using OrleansMQ.Storage.Tiering;

namespace OrleansMQ.Storage.Engine.Reads;

/// <summary>
/// The segments offloaded to the blob tier, read with ranged reads through the tier's bounded
/// cache. Each entry is checked as recovery checks the local log (both checksums) before a byte of
/// it is used: these bytes crossed a network and a service we do not run.
/// </summary>
internal sealed class TieredSegmentSource : ISegmentSource
{
    private readonly TieredStorage _tier;

    public TieredSegmentSource(TieredStorage tier) => _tier = tier;

    public EntryPlace Locate(long entryPosition, int length)
    {
        var segment = _tier.Find(entryPosition);
        if (segment is null || (length > 0 && entryPosition + length > segment.StartPosition + segment.DataLength))
        {
            return _tier.IsLoaded ? EntryPlace.Absent : EntryPlace.NotKnownYet;
        }

        return EntryPlace.Held;
    }

    public async ValueTask<EntryBytes> ReadEntryAsync(long entryPosition, int length, CancellationToken cancellationToken)
    {
        var segment = _tier.Find(entryPosition);
        if (segment is null)
        {
            return EntryBytes.Absent;
        }

        if (length == 0)
        {
            length = await ReadLengthAsync(segment, entryPosition, cancellationToken).ConfigureAwait(false);
            if (length <= EntryFormat.HeaderSize)
            {
                return EntryBytes.Corrupt;
            }
        }

        if (entryPosition + length > segment.StartPosition + segment.DataLength)
        {
            return EntryBytes.Absent;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            await _tier.ReadAsync(segment, entryPosition, buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }

        if (CommitLog.CheckEntry(buffer.AsSpan(0, length)) is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return EntryBytes.Corrupt;
        }

        return EntryBytes.Rented(buffer, length);
    }

    /// <summary>The entry's length from its header; 0 when the header is not an entry's.</summary>
    private async ValueTask<int> ReadLengthAsync(TierManifest segment, long entryPosition, CancellationToken cancellationToken)
    {
        var header = ArrayPool<byte>.Shared.Rent(EntryFormat.HeaderSize);
        try
        {
            await _tier.ReadAsync(segment, entryPosition, header.AsMemory(0, EntryFormat.HeaderSize), cancellationToken).ConfigureAwait(false);
            return EntryFormat.ReadMagic(header) == EntryFormat.DataMagic ? EntryFormat.ReadLength(header) : 0;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(header);
        }
    }
}
