using Orleans.Storage;

namespace OrleansMQ.Silo.Grains.Storage;

/// <summary>Options of a <see cref="FileGrainStorage"/> provider, one set per provider name.</summary>
public sealed class FileGrainStorageOptions : IStorageProviderSerializerOptions
{
    /// <summary>
    /// The folder holding the state files (the silo's <c>&lt;data&gt;/grains</c>). Created when
    /// missing. One silo process owns it: the per-file locks are in memory.
    /// </summary>
    public string RootDirectory { get; set; } = "";

    /// <summary>
    /// The serializer of grain states. Left unset, it is the one registered under the provider's
    /// name, else the silo's default (Orleans' JSON serializer).
    /// </summary>
    public IGrainStorageSerializer GrainStorageSerializer { get; set; } = null!;
}
