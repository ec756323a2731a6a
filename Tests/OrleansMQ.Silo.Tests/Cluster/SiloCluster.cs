using System.Globalization;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Silo.Tests.Cluster;

/// <summary>
/// Azurite's table service and silo processes 0…N−1 in one Orleans cluster (AzureTable mode), on
/// loopback or each in its own network namespace, data under one temp folder: the setup the
/// multi-silo tests share. Silo 0 starts first (it forms the cluster), the others join it.
/// </summary>
public sealed class SiloCluster : IAsyncDisposable
{
    private readonly List<SiloProcess> _silos = [];
    private readonly string _clusterId = "c" + Guid.NewGuid().ToString("N")[..10];
    private AzuriteTables? _azurite;

    private SiloCluster(string name) => Root = Path.Combine(Path.GetTempPath(), $"omq-{name}-{Guid.NewGuid().ToString("N")[..8]}");

    public string Root { get; }

    public List<SiloProcess> Silos => _silos;

    /// <summary>The namespaces the silos run in (null: loopback).</summary>
    public NetworkNamespaces? Network { get; private set; }

    public IEnumerable<SiloProcess> Running => _silos.Where(s => s.IsRunning);

    /// <summary>Every running silo, as a client's bootstrap list.</summary>
    public string Bootstrap => string.Join(',', Running.Select(s => s.Bootstrap));

    /// <param name="settings">Settings every silo gets beside the cluster's own (e.g. min.insync.replicas).</param>
    public static async Task<SiloCluster> StartAsync(string name, IReadOnlyDictionary<string, string>? settings = null, int count = 3, bool namespaces = false)
    {
        var cluster = new SiloCluster(name);
        try
        {
            if (namespaces)
            {
                cluster.Network = await NetworkNamespaces.CreateAsync(count);
            }

            cluster._azurite = new AzuriteTables(cluster.Network?.HostAddress ?? "127.0.0.1");
            await cluster._azurite.InitializeAsync();
            for (int i = 0; i < count; i++)
            {
                var all = cluster.Settings(i);
                foreach (var (k, v) in settings ?? new Dictionary<string, string>())
                {
                    all[k] = v;
                }

                string data = Path.Combine(cluster.Root, "silo-" + i);
                cluster._silos.Add(cluster.Network is { } net
                    ? new SiloProcess("silo-" + i, all, data, host: net.Address(i), launcher: net.Launcher(i))
                    : new SiloProcess("silo-" + i, all, data));
            }

            await cluster._silos[0].StartAsync();
            await Task.WhenAll(cluster._silos.Skip(1).Select(s => s.StartAsync()));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private Dictionary<string, string> Settings(int nodeId) => new()
    {
        ["OrleansMQ__Cluster__Mode"] = "AzureTable",
        ["OrleansMQ__Cluster__ConnectionString"] = _azurite!.ConnectionString,
        ["OrleansMQ__Cluster__ClusterId"] = _clusterId,
        ["OrleansMQ__Cluster__ServiceId"] = _clusterId,
        ["OrleansMQ__Cluster__AdvertisedAddress"] = Network?.Address(nodeId) ?? "127.0.0.1",
        ["OrleansMQ__Broker__NodeId"] = nodeId.ToString(CultureInfo.InvariantCulture),
        ["Logging__LogLevel__OrleansMQ"] = "Information",
        ["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss.fff ",
    };

    /// <summary>The tail of every silo's output, for failure messages.</summary>
    public string Diagnostics() => string.Concat(_silos.Select(s => $"\n--- {s.Name} ---\n{(s.Output.Length > 6000 ? s.Output[^6000..] : s.Output)}"));

    /// <summary>Metadata v9 for one topic (never auto-created) from <paramref name="silo"/>.</summary>
    public static async Task<MetadataResponse> MetadataAsync(SiloProcess silo, string topic)
    {
        using var client = await silo.ConnectAsync();
        return await client.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [topic], AllowAutoTopicCreation = false }, 9);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var s in _silos)
        {
            await s.DisposeAsync();
        }

        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }

        if (Network is not null)
        {
            await Network.DisposeAsync();
        }

        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
        catch (IOException)
        {
        }
    }
}
