using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansMQ.Storage.Tiering;

/// <summary>
/// What the tier knows about one offloaded CommitLog segment: blob <c>manifests/&lt;start&gt;.json</c>,
/// written only after the segment blob <c>segments/&lt;start&gt;.log</c> is committed and verified,
/// so a segment counts as remote exactly when its manifest exists (docs/tiering.md).
/// </summary>
/// <param name="Version">Format version, 1.</param>
/// <param name="StartPosition">CommitLog position of the segment's first byte (its file name).</param>
/// <param name="EndPosition">Position one past the segment file's last byte (start + segment size).</param>
/// <param name="DataLength">Bytes uploaded: the entries, without the blank padding at the end.</param>
/// <param name="Crc32C">CRC-32C of the uploaded bytes (also in the blob's metadata, checked after upload).</param>
/// <param name="Entries">Data entries in the segment.</param>
/// <param name="MinTimestamp">Smallest batch first-timestamp (ms), or -1 without entries.</param>
/// <param name="MaxTimestamp">Largest batch max-timestamp (ms), or -1 without entries: what total retention measures the segment's age from, as for local segments.</param>
/// <param name="LastWriteUtcMs">The local file's last write time (ms since the epoch, wall clock), for diagnostics only: no retention decision reads it (a restored file gets a new one).</param>
/// <param name="UploadedUtcMs">When the upload was verified (engine clock): the age of a segment without record timestamps (<see cref="MaxTimestamp"/> below zero).</param>
/// <param name="Partitions">Partition registry ids and the offsets each holds here.</param>
public sealed record TierManifest(
    int Version,
    long StartPosition,
    long EndPosition,
    long DataLength,
    uint Crc32C,
    long Entries,
    long MinTimestamp,
    long MaxTimestamp,
    long LastWriteUtcMs,
    long UploadedUtcMs,
    IReadOnlyList<TierPartitionRange> Partitions)
{
    public const int CurrentVersion = 1;

    /// <summary>Segment size in CommitLog positions (what size retention counts).</summary>
    [JsonIgnore]
    public long Size => EndPosition - StartPosition;

    [JsonIgnore]
    public string SegmentBlobName => SegmentBlob(StartPosition);

    [JsonIgnore]
    public string ManifestBlobName => ManifestBlob(StartPosition);

    public static string SegmentBlob(long start) => "segments/" + start.ToString("D20", CultureInfo.InvariantCulture) + ".log";

    public static string ManifestBlob(long start) => "manifests/" + start.ToString("D20", CultureInfo.InvariantCulture) + ".json";

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, TierJsonContext.Default.TierManifest);

    /// <summary>Parses and checks a manifest; null when it is not a well-formed version-1 manifest.</summary>
    public static TierManifest? TryParse(ReadOnlySpan<byte> json)
    {
        try
        {
            var m = JsonSerializer.Deserialize(json, TierJsonContext.Default.TierManifest);
            return m is { Version: CurrentVersion } && m.StartPosition >= 0 && m.EndPosition > m.StartPosition
                && m.DataLength >= 0 && m.DataLength <= m.Size && m.Partitions is not null ? m : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>One partition's offsets inside a remote segment.</summary>
/// <param name="Id">Partition registry id (as in the CommitLog entry header).</param>
/// <param name="FirstOffset">Base offset of its first batch in the segment.</param>
/// <param name="LastOffset">Last offset of its last batch in the segment.</param>
/// <param name="Batches">Batches of this partition in the segment.</param>
public sealed record TierPartitionRange(int Id, long FirstOffset, long LastOffset, long Batches);

/// <summary>The local copy of the remote segment table (<c>tier/remote.json</c>), rebuilt from the manifests at start.</summary>
public sealed record TierTable(IReadOnlyList<TierManifest> Segments);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = false)]
[JsonSerializable(typeof(TierManifest))]
[JsonSerializable(typeof(TierTable))]
internal sealed partial class TierJsonContext : JsonSerializerContext
{
}
