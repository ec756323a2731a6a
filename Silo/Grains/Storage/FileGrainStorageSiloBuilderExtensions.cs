using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Providers;
using Orleans.Runtime.Hosting;
using Orleans.Storage;

namespace OrleansMQ.Silo.Grains.Storage;

/// <summary>Registers <see cref="FileGrainStorage"/> as a named Orleans grain storage provider.</summary>
public static class FileGrainStorageSiloBuilderExtensions
{
    /// <summary>Adds a file grain storage named <paramref name="name"/> (what <c>[PersistentState(..., storageName)]</c> and <c>[StorageProvider]</c> refer to).</summary>
    public static ISiloBuilder AddOrleansMQFileGrainStorage(this ISiloBuilder builder, string name, Action<FileGrainStorageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOrleansMQFileGrainStorage(name, configure);
        return builder;
    }

    /// <summary>Adds the file grain storage as the default provider (grains that name no storage).</summary>
    public static ISiloBuilder AddOrleansMQFileGrainStorageAsDefault(this ISiloBuilder builder, Action<FileGrainStorageOptions> configure) =>
        builder.AddOrleansMQFileGrainStorage(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME, configure);

    /// <summary>The same registration on a service collection, for hosts that configure Orleans' services directly.</summary>
    public static IServiceCollection AddOrleansMQFileGrainStorage(this IServiceCollection services, string name, Action<FileGrainStorageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(configure);

        // Orleans' named-provider pattern (as its memory and Azure providers): named options, the
        // serializer filled in by Orleans' post-configurator (keyed by name, else the default), a
        // validator run at silo start, and a keyed IGrainStorage that AddGrainStorage also makes
        // the unkeyed default when the name is "Default".
        services.AddOptions<FileGrainStorageOptions>(name).Configure(configure);
        services.AddTransient<IPostConfigureOptions<FileGrainStorageOptions>, DefaultStorageProviderSerializerOptionsConfigurator<FileGrainStorageOptions>>();
        services.AddTransient<IConfigurationValidator>(sp =>
            new FileGrainStorageOptionsValidator(sp.GetRequiredService<IOptionsMonitor<FileGrainStorageOptions>>().Get(name), name));
        services.ConfigureNamedOptionForLogging<FileGrainStorageOptions>(name);
        return services.AddGrainStorage(name, Create);
    }

    private static FileGrainStorage Create(IServiceProvider services, string name) =>
        ActivatorUtilities.CreateInstance<FileGrainStorage>(
            services, name, services.GetRequiredService<IOptionsMonitor<FileGrainStorageOptions>>().Get(name));
}
