using System.Globalization;
using System.Net;

namespace OrleansMQ.Silo.Hosting;

/// <summary>How this silo finds the others (OrleansMQ:Cluster).</summary>
public enum ClusterMode
{
    /// <summary>One silo, Orleans' development clustering on loopback: no other service (the default).</summary>
    Localhost,

    /// <summary>Azure Table membership and grain state (an Azure Storage account; Azurite locally).</summary>
    AzureTable,

    /// <summary>Redis membership and grain state (on premises).</summary>
    Redis,
}

/// <summary>
/// The Orleans cluster this silo belongs to (OrleansMQ:Cluster). The defaults make a single silo
/// with no other service; <see cref="Mode"/> AzureTable or Redis joins a cluster of silos that
/// share a <see cref="ClusterId"/>.
/// </summary>
public sealed class ClusterSettings
{
    public ClusterMode Mode { get; set; } = ClusterMode.Localhost;

    /// <summary>Orleans' cluster id: silos with the same one form one cluster. Default "orleansmq".</summary>
    public string ClusterId { get; set; } = "orleansmq";

    /// <summary>Orleans' service id: stays the same across deployments (grain state is keyed by it). Default "orleansmq".</summary>
    public string ServiceId { get; set; } = "orleansmq";

    /// <summary>Silo-to-silo port. Default 11111 (Orleans' default); 0 picks a free port at start (one silo, tests).</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>Port for Orleans clients (the stream provider's applications); 0 turns the gateway off. Default 30000.</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>The address other silos reach this one at (cluster modes). Default: the loopback address in Localhost mode, otherwise the machine's first non-loopback address.</summary>
    public string? AdvertisedAddress { get; set; }

    /// <summary>
    /// AzureTable: the Storage account's connection string (membership table and grain state).
    /// Default: OrleansMQ:Storage:Tiering:ConnectionString — the same account as the blob tier.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>Redis: the StackExchange.Redis configuration string (e.g. "127.0.0.1:6379").</summary>
    public string? RedisConnectionString { get; set; }

    /// <summary>Activations idle this long are deactivated (Orleans' activation collection). Default 15 minutes.</summary>
    public int GrainCollectionAgeMinutes { get; set; } = 15;

    /// <summary>
    /// How long a silo-to-silo liveness probe may take (Orleans ProbeTimeout). With
    /// <see cref="MissedProbesLimit"/> it sets how soon a dead silo is declared dead, and so how soon
    /// its partitions get new leaders: about ProbeTimeout × MissedProbesLimit plus a vote. Default
    /// 2000 (Orleans: 5000); lower risks declaring a busy silo dead.
    /// </summary>
    public int ProbeTimeoutMs { get; set; } = 2000;

    /// <summary>Missed probes before a silo votes another dead (Orleans NumMissedProbesLimit). Default 2 (Orleans: 3).</summary>
    public int MissedProbesLimit { get; set; } = 2;

    public bool IsSingleSilo => Mode == ClusterMode.Localhost;

    /// <summary>Checks every setting; the message names the one that is wrong (and never echoes a connection string).</summary>
    public void Validate(string? tieringConnectionString)
    {
        if (!Enum.IsDefined(Mode))
        {
            throw new ArgumentException($"OrleansMQ:Cluster:Mode must be Localhost, AzureTable or Redis; got {Mode}.");
        }

        if (string.IsNullOrWhiteSpace(ClusterId))
        {
            throw new ArgumentException("OrleansMQ:Cluster:ClusterId must not be empty.");
        }

        if (string.IsNullOrWhiteSpace(ServiceId))
        {
            throw new ArgumentException("OrleansMQ:Cluster:ServiceId must not be empty.");
        }

        if (SiloPort is < 0 or > 65535)
        {
            throw new ArgumentException($"OrleansMQ:Cluster:SiloPort must be 0-65535 (0: a free port); got {SiloPort}.");
        }

        if (GatewayPort is < 0 or > 65535)
        {
            throw new ArgumentException($"OrleansMQ:Cluster:GatewayPort must be 0-65535 (0: no gateway); got {GatewayPort}.");
        }

        if (GatewayPort == SiloPort && SiloPort != 0)
        {
            throw new ArgumentException($"OrleansMQ:Cluster:GatewayPort must differ from OrleansMQ:Cluster:SiloPort; both are {SiloPort}.");
        }

        if (AdvertisedAddress is { } a && !IPAddress.TryParse(a, out _))
        {
            throw new ArgumentException($"OrleansMQ:Cluster:AdvertisedAddress must be an IP address; got '{a}'.");
        }

        if (ProbeTimeoutMs < 100 || MissedProbesLimit < 1)
        {
            throw new ArgumentException($"OrleansMQ:Cluster:ProbeTimeoutMs must be >= 100 and MissedProbesLimit >= 1; got {ProbeTimeoutMs} and {MissedProbesLimit}.");
        }

        if (GrainCollectionAgeMinutes < 1)
        {
            throw new ArgumentException($"OrleansMQ:Cluster:GrainCollectionAgeMinutes must be >= 1; got {GrainCollectionAgeMinutes}.");
        }

        switch (Mode)
        {
            case ClusterMode.AzureTable:
                ConnectionString = string.IsNullOrWhiteSpace(ConnectionString) ? tieringConnectionString : ConnectionString;
                if (string.IsNullOrWhiteSpace(ConnectionString))
                {
                    throw new ArgumentException("OrleansMQ:Cluster:ConnectionString must be set when OrleansMQ:Cluster:Mode is AzureTable (or set OrleansMQ:Storage:Tiering:ConnectionString: the same account serves both).");
                }

                if (!ConnectionString.Contains("UseDevelopmentStorage=true", StringComparison.OrdinalIgnoreCase) && !ConnectionString.Contains("AccountName=", StringComparison.OrdinalIgnoreCase) && !ConnectionString.Contains("TableEndpoint=", StringComparison.OrdinalIgnoreCase))
                {
                    throw new ArgumentException("OrleansMQ:Cluster:ConnectionString is not an Azure Storage connection string (expected UseDevelopmentStorage=true, or AccountName=...;AccountKey=... or TableEndpoint=...).");
                }

                break;
            case ClusterMode.Redis when string.IsNullOrWhiteSpace(RedisConnectionString):
                throw new ArgumentException("OrleansMQ:Cluster:RedisConnectionString must be set when OrleansMQ:Cluster:Mode is Redis.");
        }
    }

    /// <summary>The advertised address: loopback for one silo; for a cluster the setting, or the machine's first IPv4 address that is not loopback.</summary>
    public IPAddress EffectiveAdvertisedAddress()
    {
        if (AdvertisedAddress is { } a)
        {
            return IPAddress.Parse(a);
        }

        if (IsSingleSilo)
        {
            return IPAddress.Loopback;
        }

        foreach (var nic in System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces())
        {
            if (nic.OperationalStatus != System.Net.NetworkInformation.OperationalStatus.Up)
            {
                continue;
            }

            foreach (var u in nic.GetIPProperties().UnicastAddresses)
            {
                if (u.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && !IPAddress.IsLoopback(u.Address))
                {
                    return u.Address;
                }
            }
        }

        return IPAddress.Loopback;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"mode={Mode} cluster={ClusterId} service={ServiceId} siloPort={SiloPort} gatewayPort={GatewayPort}");
}
