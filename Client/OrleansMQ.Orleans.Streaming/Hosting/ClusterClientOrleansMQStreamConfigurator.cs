using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Hosting;
using OrleansMQ.Streaming.Providers;

namespace OrleansMQ.Streaming.Hosting;

/// <summary>Configures an OrleansMQ stream provider on an Orleans client (produce only: clients run no pulling agents).</summary>
public sealed class ClusterClientOrleansMQStreamConfigurator : ClusterClientPersistentStreamConfigurator
{
    /// <summary>Registers the provider <paramref name="name"/> on <paramref name="builder"/>.</summary>
    public ClusterClientOrleansMQStreamConfigurator(string name, IClientBuilder builder)
        : base(name, builder, OrleansMQAdapterFactory.Create)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.ConfigureServices(services => services.AddTransient<IConfigurationValidator>(sp => new OrleansMQStreamOptionsValidator(sp.GetRequiredService<IOptionsMonitor<OrleansMQStreamOptions>>().Get(name), name)));
    }

    /// <summary>Sets the provider's <see cref="OrleansMQStreamOptions"/>.</summary>
    public ClusterClientOrleansMQStreamConfigurator ConfigureOrleansMQ(Action<OrleansMQStreamOptions> configure)
    {
        this.Configure<OrleansMQStreamOptions>(ob => ob.Configure(configure));
        return this;
    }
}
