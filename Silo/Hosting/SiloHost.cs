using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace OrleansMQ.Silo.Hosting;

/// <summary>
/// Builds the silo host: configuration from appsettings.json, <c>OrleansMQ__...</c> environment
/// variables and command-line flags (validated at start with messages that name the setting),
/// then storage (recovery first) and the Kafka broker. Used by Program and by tests.
/// </summary>
public static class SiloHost
{
    /// <summary>Short flags for the common settings.</summary>
    public static readonly IReadOnlyDictionary<string, string> Flags = new Dictionary<string, string>
    {
        ["--data"] = "OrleansMQ:Storage:DataDirectory",
        ["--flush"] = "OrleansMQ:Storage:Flush",
        ["--segment-size"] = "OrleansMQ:Storage:SegmentSize",
        ["--port"] = "OrleansMQ:Broker:Port",
        ["--listen"] = "OrleansMQ:Broker:ListenAddress",
        ["--advertised-host"] = "OrleansMQ:Broker:AdvertisedHost",
        ["--node-id"] = "OrleansMQ:Broker:NodeId",
        ["--zero-copy"] = "OrleansMQ:Broker:ZeroCopy",
    };

    public static IHost Build(string[] args, Action<IConfigurationBuilder>? configure = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddCommandLine(args, Flags.ToDictionary(kv => kv.Key, kv => kv.Value));
        configure?.Invoke(builder.Configuration);

        var storage = new StorageSettings();
        builder.Configuration.GetSection("OrleansMQ:Storage").Bind(storage);
        var broker = new BrokerSettings();
        builder.Configuration.GetSection("OrleansMQ:Broker").Bind(broker);
        broker.Validate();

        builder.Services.AddSingleton(storage.ToOptions());
        builder.Services.AddSingleton(broker);
        builder.Services.AddSingleton<StorageHostedService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<StorageHostedService>());
        builder.Services.AddSingleton<KafkaServerHostedService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<KafkaServerHostedService>());
        return builder.Build();
    }
}
