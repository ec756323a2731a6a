using Orleans;
using Orleans.Runtime;

namespace OrleansMQ.Silo.Grains.Storage;

/// <summary>Fails the silo's start when a file grain storage has no folder, instead of at the first grain activation.</summary>
internal sealed class FileGrainStorageOptionsValidator(FileGrainStorageOptions options, string name) : IConfigurationValidator
{
    public void ValidateConfiguration()
    {
        if (string.IsNullOrWhiteSpace(options.RootDirectory))
        {
            throw new OrleansConfigurationException(
                $"Configuration for {nameof(FileGrainStorage)} \"{name}\" is invalid: {nameof(FileGrainStorageOptions.RootDirectory)} must be set.");
        }
    }
}
