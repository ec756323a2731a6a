using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OrleansMQ.Silo.Groups;
using OrleansMQ.Silo.Http;

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
        ["--http-port"] = "OrleansMQ:Http:Port",
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
        var groups = new GroupSettings();
        builder.Configuration.GetSection("OrleansMQ:Groups").Bind(groups);
        ValidateGroups(groups);
        var http = new HttpSettings();
        builder.Configuration.GetSection("OrleansMQ:Http").Bind(http);
        http.Validate();

        builder.Services.AddSingleton(storage.ToOptions());
        builder.Services.AddSingleton(broker);
        builder.Services.AddSingleton(groups);
        builder.Services.AddSingleton<StorageHostedService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<StorageHostedService>());
        builder.Services.AddSingleton<KafkaServerHostedService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<KafkaServerHostedService>());
        builder.Services.AddSingleton(http);
        builder.Services.AddSingleton<HttpGatewayHostedService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<HttpGatewayHostedService>());
        return builder.Build();
    }

    private static void ValidateGroups(GroupSettings g)
    {
        if (g.MinSessionTimeoutMs < 1 || g.MaxSessionTimeoutMs < g.MinSessionTimeoutMs)
        {
            throw new ArgumentException($"OrleansMQ:Groups:MinSessionTimeoutMs must be >= 1 and <= MaxSessionTimeoutMs; got {g.MinSessionTimeoutMs} and {g.MaxSessionTimeoutMs}.");
        }

        if (g.InitialRebalanceDelayMs < 0)
        {
            throw new ArgumentException($"OrleansMQ:Groups:InitialRebalanceDelayMs must be >= 0; got {g.InitialRebalanceDelayMs}.");
        }

        if (g.MaxSize < 1)
        {
            throw new ArgumentException($"OrleansMQ:Groups:MaxSize must be >= 1; got {g.MaxSize}.");
        }

        if (g.OffsetsRetentionMinutes < 1 || g.OffsetsRetentionCheckIntervalMs < 1 || g.OffsetsSnapshotIntervalMs < 1)
        {
            throw new ArgumentException("OrleansMQ:Groups:OffsetsRetentionMinutes, OffsetsRetentionCheckIntervalMs and OffsetsSnapshotIntervalMs must be >= 1.");
        }

        if (g.OffsetMetadataMaxBytes < 0)
        {
            throw new ArgumentException($"OrleansMQ:Groups:OffsetMetadataMaxBytes must be >= 0; got {g.OffsetMetadataMaxBytes}.");
        }
    }
}
