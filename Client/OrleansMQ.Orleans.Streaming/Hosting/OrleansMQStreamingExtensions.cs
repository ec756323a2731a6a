using Orleans;
using Orleans.Hosting;

namespace OrleansMQ.Streaming.Hosting;

/// <summary><c>AddOrleansMQStreams</c> on silo and client builders.</summary>
public static class OrleansMQStreamingExtensions
{
    /// <summary>Adds a persistent stream provider named <paramref name="name"/> over OrleansMQ topics to a silo.</summary>
    public static ISiloBuilder AddOrleansMQStreams(this ISiloBuilder builder, string name, Action<OrleansMQStreamOptions> configureOptions) =>
        builder.AddOrleansMQStreams(name, c => c.ConfigureOrleansMQ(configureOptions));

    /// <summary>Adds a persistent stream provider named <paramref name="name"/> over OrleansMQ topics to a silo, with the full configurator.</summary>
    public static ISiloBuilder AddOrleansMQStreams(this ISiloBuilder builder, string name, Action<SiloOrleansMQStreamConfigurator>? configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configurator = new SiloOrleansMQStreamConfigurator(name, configureServices => builder.ConfigureServices(configureServices));
        configure?.Invoke(configurator);
        return builder;
    }

    /// <summary>Adds the stream provider named <paramref name="name"/> to an Orleans client (it produces; silos consume).</summary>
    public static IClientBuilder AddOrleansMQStreams(this IClientBuilder builder, string name, Action<OrleansMQStreamOptions> configureOptions) =>
        builder.AddOrleansMQStreams(name, c => c.ConfigureOrleansMQ(configureOptions));

    /// <summary>Adds the stream provider named <paramref name="name"/> to an Orleans client, with the full configurator.</summary>
    public static IClientBuilder AddOrleansMQStreams(this IClientBuilder builder, string name, Action<ClusterClientOrleansMQStreamConfigurator>? configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configurator = new ClusterClientOrleansMQStreamConfigurator(name, builder);
        configure?.Invoke(configurator);
        return builder;
    }
}
