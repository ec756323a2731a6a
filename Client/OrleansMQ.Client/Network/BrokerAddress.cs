using System.Globalization;

namespace OrleansMQ.Client;

/// <summary>A broker's host and port.</summary>
public readonly record struct BrokerAddress(string Host, int Port)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Host}:{Port}");

    /// <summary>Parses "host:port[,host:port...]" (IPv6 as [addr]:port).</summary>
    public static IReadOnlyList<BrokerAddress> ParseList(string servers)
    {
        var list = new List<BrokerAddress>();
        foreach (var part in servers.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int colon = part.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(part.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
            {
                throw new ArgumentException($"'{part}' is not host:port.");
            }

            list.Add(new BrokerAddress(part[..colon].Trim('[', ']'), port));
        }

        if (list.Count == 0)
        {
            throw new ArgumentException("No broker address given.");
        }

        return list;
    }
}
