using System.Diagnostics.Metrics;
using System.Net;
using Azure.Data.Tables;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Configuration;
using Orleans.Hosting;
using OrleansMQ.Silo.Cluster;
using OrleansMQ.Silo.Grains;
using OrleansMQ.Silo.Grains.Storage;
using OrleansMQ.Silo.Groups;
using OrleansMQ.Silo.Http;
using OrleansMQ.Silo.Kafka;
using OrleansMQ.Silo.Kafka.Handlers;
using OrleansMQ.Silo.Kafka.Network;
using OrleansMQ.Silo.Metrics;
using OrleansMQ.Silo.Produce;
using OrleansMQ.Silo.Producers;
using OrleansMQ.Silo.Replication;
using OrleansMQ.Silo.Topics;
using OrleansMQ.Storage;
using OrleansMQ.Storage.Engine;
using RedisOptions = StackExchange.Redis.ConfigurationOptions;

namespace OrleansMQ.Silo.Hosting;

/// <summary>
/// The composition root: one generic host (an ASP.NET Core web application) holding storage, the
/// Orleans silo, the Kafka broker and the HTTP gateway. Configuration comes from appsettings.json,
/// <c>OrleansMQ__...</c> environment variables and command-line flags, validated before anything
/// starts with messages that name the setting. Used by Program and by tests.
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
        ["--cluster"] = "OrleansMQ:Cluster:Mode",
        ["--silo-port"] = "OrleansMQ:Cluster:SiloPort",
        ["--gateway-port"] = "OrleansMQ:Cluster:GatewayPort",
    };

    public static IHost Build(string[] args, Action<IConfigurationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory, ApplicationName = "OrleansMQ.Silo" });
        builder.Configuration.AddCommandLine(args, Flags.ToDictionary(kv => kv.Key, kv => kv.Value));
        configure?.Invoke(builder.Configuration);

        var storage = Bind<StorageSettings>(builder.Configuration, "OrleansMQ:Storage");
        var broker = Bind<BrokerSettings>(builder.Configuration, "OrleansMQ:Broker");
        broker.Validate();
        var groups = Bind<GroupSettings>(builder.Configuration, "OrleansMQ:Groups");
        ValidateGroups(groups);
        var http = Bind<HttpSettings>(builder.Configuration, "OrleansMQ:Http");
        http.Validate();
        var cluster = Bind<ClusterSettings>(builder.Configuration, "OrleansMQ:Cluster");
        var storageOptions = storage.ToOptions();
        cluster.Validate(storageOptions.Tiering?.ConnectionString);
        // Silos may share the blob container: each writes under <cluster id>/<node id>/.
        storageOptions.Tiering?.BlobPrefix = TieringSettings.BlobPrefix(cluster.ClusterId, broker.NodeId);
        CheckPorts(broker, http, cluster);

        var services = builder.Services;
        services.AddSingleton(storageOptions);
        services.AddSingleton(broker);
        services.AddSingleton(groups);
        services.AddSingleton(http);
        services.AddSingleton(cluster);

        // Storage first: opened (and recovered) when the host resolves its services, stopped last.
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<StorageOptions>();
            options.Meter = sp.GetRequiredService<IMeterFactory>().Create(SiloMeter.Name); // the CommitLog's flush histogram
            return StorageEngine.Open(options, sp.GetRequiredService<ILoggerFactory>(), sp.GetRequiredService<TimeProvider>());
        });
        services.AddSingleton<StorageHostedService>();
        services.AddHostedService(sp => sp.GetRequiredService<StorageHostedService>());

        // Then the Orleans silo (its hosted service starts here, after storage, before the broker).
        services.AddSingleton<GrainStatistics>();
        builder.UseOrleans(silo => ConfigureOrleans(silo, cluster, storageOptions.DataDirectory));

        // The control plane's per-silo parts: caches the grains publish to, and the fronts that call them.
        services.AddSingleton(sp => new TopicCatalog(sp.GetRequiredService<StorageEngine>(), broker.NodeId, sp.GetRequiredService<TimeProvider>(), broker.MinInsyncReplicas));
        services.AddSingleton<TopicCatalogSubscription>();
        services.AddSingleton(_ => new BrokerDirectory(broker.NodeId));
        services.AddSingleton<BrokerMembership>();
        services.AddSingleton(sp => new TopicService(sp.GetRequiredService<IGrainFactory>(), sp.GetRequiredService<TopicCatalog>(), broker.AutoCreateTopics, broker.DefaultPartitions, broker.DefaultReplicationFactor, () => sp.GetRequiredService<BrokerDirectory>().PlacementBrokers, sp.GetRequiredService<ILogger<TopicService>>()));
        services.AddSingleton(broker.ToReplicationSettings(storageOptions.DataDirectory));
        services.AddSingleton<ReplicaManager>();
        services.AddSingleton(sp => new OffsetStore(sp.GetRequiredService<StorageEngine>(), Path.Combine(storageOptions.DataDirectory, "groups", "offsets.snapshot"), sp.GetRequiredService<ILogger<OffsetStore>>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<GroupDirectory>();
        services.AddSingleton(sp => new GroupService(sp.GetRequiredService<IGrainFactory>(), sp.GetRequiredService<OffsetStore>(), sp.GetRequiredService<GroupDirectory>(), groups, sp.GetRequiredService<StorageEngine>(), sp.GetRequiredService<ILogger<GroupService>>(), sp.GetRequiredService<TimeProvider>(), cluster.IsSingleSilo, sp.GetRequiredService<TopicCatalog>(), () => sp.GetRequiredService<BrokerDirectory>().PlacementBrokers, broker.NodeId));
        services.AddSingleton<ProducerIdAllocator>();
        services.AddSingleton(sp => new LegacyGrainStateImport(Path.Combine(storageOptions.DataDirectory, "grains"), sp.GetRequiredService<TopicService>(), sp.GetRequiredService<IGrainFactory>(), sp.GetRequiredService<ILogger<LegacyGrainStateImport>>()));
        services.AddSingleton<ProducerStates>();
        services.AddSingleton<ProduceService>();

        // The Kafka broker: its identity (port and cluster id set at start), the request handlers
        // and the listener, which the hosted service starts.
        services.AddSingleton<BrokerIdentity>();
        services.AddSingleton<MetadataHandler>();
        services.AddSingleton<ProduceHandler>();
        services.AddSingleton<FetchHandler>();
        services.AddSingleton<ListOffsetsHandler>();
        services.AddSingleton<OffsetForLeaderEpochHandler>();
        services.AddSingleton<AdminHandlers>();
        services.AddSingleton<ClusterAdminHandlers>();
        services.AddSingleton<ReplicationAdminHandlers>();
        services.AddSingleton<GroupHandlers>();
        services.AddSingleton<KafkaRequestProcessor>();
        services.AddSingleton(sp => new KafkaListener(broker.ToListenerOptions(), sp.GetRequiredService<KafkaRequestProcessor>(), sp.GetRequiredService<ILogger<KafkaListener>>()));

        // The broker, then the gateway (Kestrel itself starts after every hosted service, and stops first).
        services.AddSingleton<KafkaServerHostedService>();
        services.AddHostedService(sp => sp.GetRequiredService<KafkaServerHostedService>());
        services.AddSiloMetrics();
        HttpGateway.AddServices(services);
        services.AddSingleton<HttpGatewayHostedService>();
        services.AddHostedService(sp => sp.GetRequiredService<HttpGatewayHostedService>());
        ConfigureHttp(builder, http);

        var app = builder.Build();
        if (http.Enabled)
        {
            MapHttp(app, http);
        }

        return app;
    }

    private static void CheckPorts(BrokerSettings broker, HttpSettings http, ClusterSettings cluster)
    {
        // An address that does not parse was reported by its own validation; only ports are checked here.
        if (IPAddress.TryParse(broker.ListenAddress, out var kafkaAddress))
        {
            PortCheck.EnsureFree(kafkaAddress, broker.Port, "OrleansMQ:Broker:Port");
        }

        if (http.Enabled && IPAddress.TryParse(http.ListenAddress, out var httpAddress))
        {
            PortCheck.EnsureFree(httpAddress, http.Port, "OrleansMQ:Http:Port");
        }

        var orleansAddress = cluster.IsSingleSilo ? IPAddress.Loopback : IPAddress.Any;
        PortCheck.EnsureFree(orleansAddress, cluster.SiloPort, "OrleansMQ:Cluster:SiloPort");
        PortCheck.EnsureFree(orleansAddress, cluster.GatewayPort, "OrleansMQ:Cluster:GatewayPort");
        if (cluster.SiloPort == 0)
        {
            cluster.SiloPort = PortCheck.FreePort(orleansAddress);
        }
    }

    private static T Bind<T>(ConfigurationManager configuration, string section)
        where T : new()
    {
        var settings = new T();
        try
        {
            configuration.GetSection(section).Bind(settings);
        }
        catch (InvalidOperationException ex)
        {
            // The binder's message names the key ("Failed to convert configuration value at 'OrleansMQ:Cluster:Mode' ..."): one line, no stack.
            throw new ArgumentException(ex.Message + (ex.InnerException is { } inner ? " " + inner.Message : ""), ex);
        }

        return settings;
    }

    private static void ConfigureOrleans(ISiloBuilder silo, ClusterSettings cluster, string dataDirectory)
    {
        var advertised = cluster.EffectiveAdvertisedAddress();
        // Consumer group grains live on the group coordinator (the offsets partition's leader).
        silo.Services.AddPlacementDirector<CoordinatorPlacementStrategy, CoordinatorPlacementDirector>();
        switch (cluster.Mode)
        {
            case ClusterMode.Localhost:
                silo.UseLocalhostClustering(cluster.SiloPort, cluster.GatewayPort, primarySiloEndpoint: null, cluster.ServiceId, cluster.ClusterId);
                silo.AddOrleansMQFileGrainStorageAsDefault(o => o.RootDirectory = Path.Combine(dataDirectory, "grains"));
                break;
            case ClusterMode.AzureTable:
                silo.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (cluster.ClusterId, cluster.ServiceId));
                silo.ConfigureEndpoints(advertised, cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: true);
                silo.UseAzureStorageClustering(o => o.TableServiceClient = new TableServiceClient(cluster.ConnectionString));
                silo.AddAzureTableGrainStorageAsDefault(o => o.TableServiceClient = new TableServiceClient(cluster.ConnectionString));
                break;
            case ClusterMode.Redis:
                silo.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (cluster.ClusterId, cluster.ServiceId));
                silo.ConfigureEndpoints(advertised, cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: true);
                silo.UseRedisClustering(o => o.ConfigurationOptions = RedisOptions.Parse(cluster.RedisConnectionString!));
                silo.AddRedisGrainStorageAsDefault(o => o.ConfigurationOptions = RedisOptions.Parse(cluster.RedisConnectionString!));
                break;
        }

        silo.Configure<GrainCollectionOptions>(o => o.CollectionAge = TimeSpan.FromMinutes(cluster.GrainCollectionAgeMinutes));
        // Failure detection sets failover time: a dead leader's partitions move once Orleans declares its silo dead.
        silo.Configure<ClusterMembershipOptions>(o => (o.ProbeTimeout, o.NumMissedProbesLimit) = (TimeSpan.FromMilliseconds(cluster.ProbeTimeoutMs), cluster.MissedProbesLimit));
        silo.Services.AddSingleton<IIncomingGrainCallFilter>(sp => sp.GetRequiredService<GrainStatistics>());
    }

    private static void ConfigureHttp(WebApplicationBuilder builder, HttpSettings http)
    {
        if (!http.Enabled)
        {
            // No HTTP: the web application's server is one that never listens.
            builder.Services.AddSingleton<IServer, NoServer>();
            return;
        }

        builder.WebHost.ConfigureKestrel(o =>
        {
            o.Listen(IPAddress.Parse(http.ListenAddress), http.Port);
            o.Limits.MaxRequestBodySize = http.MaxRequestBodyBytes;
            o.AddServerHeader = false;
        });
    }

    private static void MapHttp(WebApplication app, HttpSettings http)
    {
        var metrics = app.Services.GetRequiredService<HttpMetrics>();
        app.Use(async (context, next) =>
        {
            long started = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                await next(context).ConfigureAwait(false);
            }
            finally
            {
                metrics.Count(context.Request.Method, context.Response.StatusCode, started);
            }
        });
        var auth = new ApiKeyAuthentication(http.ApiKeys, http.ReadOnlyApiKeys, app.Services.GetRequiredService<ILogger<ApiKeyAuthentication>>());
        app.Use(auth.InvokeAsync);
        app.Services.GetRequiredService<HttpGateway>().Map(app);
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

    /// <summary>The server of a silo whose HTTP gateway is off: it never listens.</summary>
    private sealed class NoServer : IServer
    {
        public IFeatureCollection Features { get; } = new FeatureCollection();

        public Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken)
            where TContext : notnull => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public void Dispose()
        {
        }
    }
}
