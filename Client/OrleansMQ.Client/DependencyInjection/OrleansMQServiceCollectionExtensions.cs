using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OrleansMQ.Client.Admin;
using OrleansMQ.Client.Cluster;

namespace OrleansMQ.Client.DependencyInjection;

/// <summary>
/// What <see cref="OrleansMQServiceCollectionExtensions.AddOrleansMQClient(IServiceCollection, Func{ClientOptions, ClientOptions})"/>
/// returns: the service collection, for the registrations built on the shared client
/// (<c>AddOrleansMQProducer</c>, <c>AddOrleansMQConsumer</c> are extension methods on this
/// builder, each in its own file next to this one, resolving <see cref="ClientOptions"/> and
/// <see cref="KafkaCluster"/> from the container).
/// </summary>
public interface IOrleansMQClientBuilder
{
    IServiceCollection Services { get; }
}

/// <summary>Registers the OrleansMQ Kafka client in a service collection.</summary>
public static class OrleansMQServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="ClientOptions"/> (the defaults passed through <paramref name="configure"/>,
    /// e.g. <c>o =&gt; o with { BootstrapServers = "broker:9092" }</c>), one shared
    /// <see cref="KafkaCluster"/> (connections and metadata, disposed with the container) and a
    /// <see cref="KafkaAdminClient"/> over it, all singletons. Calling it again does not replace
    /// what is registered (the first options win).
    /// </summary>
    public static IOrleansMQClientBuilder AddOrleansMQClient(this IServiceCollection services, Func<ClientOptions, ClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = configure?.Invoke(new ClientOptions()) ?? new ClientOptions();
        return services.AddOrleansMQClient(options);
    }

    /// <summary>Registers <paramref name="options"/> (validated now), the shared <see cref="KafkaCluster"/> and the <see cref="KafkaAdminClient"/>.</summary>
    public static IOrleansMQClientBuilder AddOrleansMQClient(this IServiceCollection services, ClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        services.TryAddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new KafkaCluster(sp.GetRequiredService<ClientOptions>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => new KafkaAdminClient(sp.GetRequiredService<KafkaCluster>()));
        return new OrleansMQClientBuilder(services);
    }

    private sealed class OrleansMQClientBuilder(IServiceCollection services) : IOrleansMQClientBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}
