using System.Collections.Frozen;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace OrleansMQ.Silo.Http.Console;

/// <summary>The console's embedded files, read once: bytes, content type and a strong ETag (content hash).</summary>
internal static class ConsoleAssets
{
    private const string ResourcePrefix = "OrleansMQ.Silo.Console.";

    private static readonly Lazy<FrozenDictionary<string, Asset>> All = new(Load);

    internal sealed record Asset(byte[] Content, string ContentType, string ETag)
    {
        public EntityTagHeaderValue Tag { get; } = new(ETag);
    }

    /// <summary>The asset names (<c>index.html</c>, <c>console.js</c>, …).</summary>
    public static IEnumerable<string> Names => All.Value.Keys;

    public static bool TryGet(string name, out Asset asset) => All.Value.TryGetValue(name, out asset!);

    /// <summary>
    /// The request paths that serve an asset. Only these are open without an API key: they are the
    /// same bytes for everyone and hold no broker data (the page asks for a key when the API says 401).
    /// </summary>
    public static bool IsAssetPath(PathString path)
    {
        string? value = path.Value;
        if (value == "/")
        {
            return true;
        }

        return value is not null && value.StartsWith(ConsoleEndpoints.ConsoleAssetPrefix, StringComparison.Ordinal)
            && All.Value.ContainsKey(value[ConsoleEndpoints.ConsoleAssetPrefix.Length..]);
    }

    private static FrozenDictionary<string, Asset> Load()
    {
        var assembly = typeof(ConsoleAssets).Assembly;
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (string resource in assembly.GetManifestResourceNames().Where(r => r.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            byte[] content = copy.ToArray();
            string name = resource[ResourcePrefix.Length..];
            string etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(content).AsSpan(0, 16)) + "\"";
            assets[name] = new Asset(content, ContentType(name), etag);
        }

        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static string ContentType(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".png" => "image/png",
        _ => "application/octet-stream",
    };
}
