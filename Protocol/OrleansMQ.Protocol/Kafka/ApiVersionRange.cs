namespace OrleansMQ.Protocol.Kafka;

/// <summary>
/// The versions of one API this broker answers, and the first version that uses the flexible
/// encoding (compact strings/arrays, tagged fields, request header v2, response header v1).
/// </summary>
public readonly record struct ApiVersionRange(ApiKey ApiKey, short MinVersion, short MaxVersion, short FirstFlexibleVersion)
{
    /// <summary><see cref="FirstFlexibleVersion"/> of an API that has no flexible version.</summary>
    public const short NeverFlexible = -1;

    public bool Contains(short version) => version >= MinVersion && version <= MaxVersion;

    public bool IsFlexible(short version) => FirstFlexibleVersion != NeverFlexible && version >= FirstFlexibleVersion;
}
