using System.Globalization;
using OrleansMQ.Silo.Tests.Interop;
using Xunit;

namespace OrleansMQ.Silo.Tests.Cluster;

/// <summary>
/// A private network for silo processes: one network namespace per silo, each joined by a veth
/// pair to a bridge in the test's own namespace (which holds Azurite and the test's clients), on a
/// /24 of addresses private to this test. <see cref="Isolate"/> cuts one namespace off from the
/// others with blackhole routes in both directions (packets vanish, as in a real partition) while
/// the test itself still reaches every silo. Needs root (the CI runs as root).
/// </summary>
public sealed class NetworkNamespaces : IAsyncDisposable
{
    private readonly string _tag = Guid.NewGuid().ToString("N")[..5];
    private readonly string _prefix;
    private readonly int _count;
    private readonly List<(int From, int To)> _cuts = [];

    private NetworkNamespaces(int count)
    {
        _count = count;
        _prefix = string.Create(CultureInfo.InvariantCulture, $"10.{100 + Random.Shared.Next(100)}.{Random.Shared.Next(250)}");
    }

    /// <summary>The bridge's address in the test's namespace (Azurite listens here).</summary>
    public string HostAddress => _prefix + ".1";

    public string Address(int i) => string.Create(CultureInfo.InvariantCulture, $"{_prefix}.{10 + i}");

    public string Namespace(int i) => string.Create(CultureInfo.InvariantCulture, $"omq{_tag}{i}");

    private string Bridge => "omqb" + _tag;

    private string HostVeth(int i) => string.Create(CultureInfo.InvariantCulture, $"omqv{_tag}{i}");

    /// <summary>The command a silo runs under to live in namespace <paramref name="i"/>.</summary>
    public string[] Launcher(int i) => ["/usr/sbin/ip", "netns", "exec", Namespace(i)];

    public static async Task<NetworkNamespaces> CreateAsync(int count)
    {
        Assert.True(Environment.UserName == "root" || Environment.GetEnvironmentVariable("USER") == "root", "the network-partition test needs root for ip netns (the CI runs as root)");
        var net = new NetworkNamespaces(count);
        try
        {
            await IpAsync($"link add {net.Bridge} type bridge");
            await IpAsync($"addr add {net.HostAddress}/24 dev {net.Bridge}");
            await IpAsync($"link set {net.Bridge} up");
            for (int i = 0; i < count; i++)
            {
                await IpAsync($"netns add {net.Namespace(i)}");
                await IpAsync($"link add {net.HostVeth(i)} type veth peer name omqn{net._tag}{i}");
                await IpAsync($"link set omqn{net._tag}{i} netns {net.Namespace(i)}");
                await IpAsync($"link set {net.HostVeth(i)} master {net.Bridge} up");
                await IpAsync($"-n {net.Namespace(i)} addr add {net.Address(i)}/24 dev omqn{net._tag}{i}");
                await IpAsync($"-n {net.Namespace(i)} link set omqn{net._tag}{i} up");
                await IpAsync($"-n {net.Namespace(i)} link set lo up");
            }
        }
        catch
        {
            await net.DisposeAsync();
            throw;
        }

        return net;
    }

    /// <summary>Cuts namespace <paramref name="i"/> off from every other silo namespace (both directions); the test's namespace still reaches it.</summary>
    public async Task IsolateAsync(int i)
    {
        for (int j = 0; j < _count; j++)
        {
            if (j != i)
            {
                await IpAsync($"-n {Namespace(i)} route add blackhole {Address(j)}/32");
                await IpAsync($"-n {Namespace(j)} route add blackhole {Address(i)}/32");
                _cuts.Add((i, j));
            }
        }
    }

    /// <summary>Removes every cut.</summary>
    public async Task HealAsync()
    {
        foreach (var (i, j) in _cuts)
        {
            await IpAsync($"-n {Namespace(i)} route del blackhole {Address(j)}/32");
            await IpAsync($"-n {Namespace(j)} route del blackhole {Address(i)}/32");
        }

        _cuts.Clear();
    }

    private static async Task IpAsync(string args, bool check = true)
    {
        var r = await ExternalTool.RunAsync("/usr/sbin/ip", args.Split(' '), timeout: TimeSpan.FromSeconds(10));
        Assert.True(!check || r.ExitCode == 0, $"ip {args}: {r.Stderr}");
    }

    public async ValueTask DisposeAsync()
    {
        for (int i = 0; i < _count; i++)
        {
            await IpAsync($"netns del {Namespace(i)}", check: false);
            await IpAsync($"link del {HostVeth(i)}", check: false);
        }

        await IpAsync($"link del {Bridge}", check: false);
    }
}
