namespace OrleansMQ.Storage.Engine;

/// <summary>A record found by key.</summary>
public readonly record struct KeyLookupHit(long Offset, long Timestamp, byte[] Value);
