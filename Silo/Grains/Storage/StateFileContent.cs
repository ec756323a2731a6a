namespace OrleansMQ.Silo.Grains.Storage;

/// <summary>A verified state file: whose it is, which write of it, and the serializer's bytes.</summary>
internal readonly record struct StateFileContent(string GrainId, string StateName, long Version, string Checksum, ReadOnlyMemory<byte> Payload)
{
    public string ETag => StateFile.ETag(Version, Checksum);
}
