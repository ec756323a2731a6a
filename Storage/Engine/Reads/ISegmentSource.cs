namespace OrleansMQ.Storage.Engine.Reads;

/// <summary>
/// Where CommitLog entries are read from, by CommitLog position: the local segment files or the
/// blob tier that holds the segments offloaded from them. Readers ask the local source first and
/// the one behind it next; only the sources know what stands behind a position.
/// </summary>
internal interface ISegmentSource
{
    /// <summary>
    /// Does this source hold the entry bytes [<paramref name="entryPosition"/>,
    /// <paramref name="entryPosition"/> + <paramref name="length"/>)? A length of 0 asks only about
    /// the position.
    /// </summary>
    EntryPlace Locate(long entryPosition, int length);

    /// <summary>
    /// The whole entry (header and batch) at <paramref name="entryPosition"/>: <paramref name="length"/>
    /// bytes when the caller knows it (from the ConsumeQueue), or 0 to take it from the entry header.
    /// Checked as this source's bytes need checking (remote bytes against their checksums). Completes
    /// synchronously when the bytes are local. Dispose the result. Throws
    /// <see cref="StorageException"/> with <see cref="StorageError.TierUnavailable"/> when a remote
    /// source cannot be read.
    /// </summary>
    ValueTask<EntryBytes> ReadEntryAsync(long entryPosition, int length, CancellationToken cancellationToken);
}

/// <summary>What a source knows of a position.</summary>
internal enum EntryPlace
{
    /// <summary>The source holds the bytes.</summary>
    Held,

    /// <summary>The source does not hold them (never did, or retention removed them).</summary>
    Absent,

    /// <summary>The source cannot tell yet (the blob tier's table is not listed yet).</summary>
    NotKnownYet,
}
