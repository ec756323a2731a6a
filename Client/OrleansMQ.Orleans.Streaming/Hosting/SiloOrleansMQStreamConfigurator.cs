using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Configuration;
using Orleans.Hosting;
using OrleansMQ.Streaming.Providers;

namespace OrleansMQ.Streaming.Hosting;

/// <summary>Configures an OrleansMQ stream provider on a silo: options, queue cache size, and Orleans' persistent-stream settings (balancer, pub-sub, pulling).</summary>
public sealed class SiloOrleansMQStreamConfigurator : SiloPersistentStreamConfigurator
{
    /// <summary>Registers the provider <paramref name="name"/> through <paramref name="configureServices"/>.</summary>
    public SiloOrleansMQStreamConfigurator(string name, Action<Action<IServiceCollection>> configureServices)
        : base(name, configureServices, OrleansMQAdapterFactory.Create)
    {
        ConfigureDelegate(services => services.AddTransient<IConfigurationValidator>(sp => new OrleansMQStreamOptionsValidator(sp.GetRequiredService<IOptionsMonitor<OrleansMQStreamOptions>>().Get(name), name)));
    }

    /// <summary>Sets the provider's <see cref="OrleansMQStreamOptions"/>.</summary>
    public SiloOrleansMQStreamConfigurator ConfigureOrleansMQ(Action<OrleansMQStreamOptions> configure)
    {
        this.Configure<OrleansMQStreamOptions>(ob => ob.Configure(configure));
        return this;
    }

    /// <summary>Events each queue's cache holds (Orleans' simple queue cache; default 4096 batches).</summary>
    public SiloOrleansMQStreamConfigurator ConfigureCache(int cacheSize = SimpleQueueCacheOptions.DEFAULT_CACHE_SIZE)
    {
        this.Configure<SimpleQueueCacheOptions>(ob => ob.Configure(o => o.CacheSize = cacheSize));
        return this;
    }
}
