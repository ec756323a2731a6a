using System.Security.Cryptography;
using System.Text;

namespace OrleansMQ.Storage.Tiering;

/// <summary>
/// Shared Key authorization for the Blob service, version 2015-02-21 and later, as documented in
/// "Authorize with Shared Key": HMAC-SHA256 with the decoded account key over the string-to-sign
/// built from the verb, twelve standard headers, the canonicalized x-ms-* headers and the
/// canonicalized resource. Kept separate and pure so the string-to-sign can be tested on its own.
/// </summary>
internal static class SharedKeySigner
{
    /// <summary>
    /// The string-to-sign. <paramref name="standardHeaders"/> looks up Content-Encoding,
    /// Content-Language, Content-Length, Content-MD5, Content-Type, Date, If-Modified-Since,
    /// If-Match, If-None-Match, If-Unmodified-Since and Range; missing ones are empty lines.
    /// </summary>
    /// <param name="verb">GET, PUT, HEAD, DELETE.</param>
    /// <param name="standardHeaders">Header name (as listed above) to value, or null when absent.</param>
    /// <param name="msHeaders">Every x-ms-* header sent (x-ms-date and x-ms-version included).</param>
    /// <param name="account">The account name.</param>
    /// <param name="encodedPath">The request URI's path exactly as sent (percent-encoded), starting with '/'.</param>
    /// <param name="query">The query parameters, names and values decoded.</param>
    public static string StringToSign(
        string verb,
        Func<string, string?> standardHeaders,
        IEnumerable<KeyValuePair<string, string>> msHeaders,
        string account,
        string encodedPath,
        IEnumerable<KeyValuePair<string, string>> query)
    {
        var sb = new StringBuilder(256);
        sb.Append(verb.ToUpperInvariant()).Append('\n');
        foreach (var name in SignedHeaders)
        {
            var value = standardHeaders(name) ?? "";

            // Since 2015-02-21 a zero Content-Length is signed as an empty string, so requests
            // without a body sign the same whether or not the stack sent "Content-Length: 0".
            if (name == "Content-Length" && value == "0")
            {
                value = "";
            }

            sb.Append(value).Append('\n');
        }

        // CanonicalizedHeaders: x-ms-* names lowercased, sorted by name, whitespace folded,
        // each "name:value\n".
        foreach (var h in msHeaders
            .Select(h => new KeyValuePair<string, string>(h.Key.Trim().ToLowerInvariant(), h.Value))
            .Where(h => h.Key.StartsWith("x-ms-", StringComparison.Ordinal))
            .OrderBy(h => h.Key, StringComparer.Ordinal))
        {
            sb.Append(h.Key).Append(':').Append(FoldWhitespace(h.Value)).Append('\n');
        }

        // CanonicalizedResource: "/account" + encoded path, then one "name:v1,v2" line per query
        // parameter, names lowercased and sorted, values decoded and sorted.
        sb.Append('/').Append(account).Append(encodedPath);
        foreach (var group in query
            .GroupBy(q => q.Key.ToLowerInvariant(), StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            sb.Append('\n').Append(group.Key).Append(':')
              .Append(string.Join(',', group.Select(q => q.Value).OrderBy(v => v, StringComparer.Ordinal)));
        }

        return sb.ToString();
    }

    /// <summary>The Authorization header value: <c>SharedKey account:base64(HMAC-SHA256(key, UTF-8 string-to-sign))</c>.</summary>
    public static string Authorization(string account, ReadOnlySpan<byte> key, string stringToSign)
    {
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(stringToSign), mac);
        return "SharedKey " + account + ":" + Convert.ToBase64String(mac);
    }

    /// <summary>The standard headers in the order the string-to-sign lists them.</summary>
    public static readonly string[] SignedHeaders =
    [
        "Content-Encoding", "Content-Language", "Content-Length", "Content-MD5", "Content-Type", "Date",
        "If-Modified-Since", "If-Match", "If-None-Match", "If-Unmodified-Since", "Range",
    ];

    private static string FoldWhitespace(string value)
    {
        var trimmed = value.Trim();
        if (!trimmed.Contains("  ", StringComparison.Ordinal) && !trimmed.Contains('\t', StringComparison.Ordinal) && !trimmed.Contains('\n', StringComparison.Ordinal))
        {
            return trimmed;
        }

        var sb = new StringBuilder(trimmed.Length);
        bool space = false;
        foreach (var c in trimmed)
        {
            if (c is ' ' or '\t' or '\r' or '\n')
            {
                if (!space)
                {
                    sb.Append(' ');
                }

                space = true;
            }
            else
            {
                sb.Append(c);
                space = false;
            }
        }

        return sb.ToString();
    }
}
