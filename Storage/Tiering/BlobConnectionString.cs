namespace OrleansMQ.Storage.Tiering;

/// <summary>
/// An Azure Storage connection string reduced to what the blob client needs: account name, key
/// and blob endpoint. Accepts <c>UseDevelopmentStorage=true</c> (Azurite's well-known account) and
/// the <c>DefaultEndpointsProtocol=…;AccountName=…;AccountKey=…;BlobEndpoint=…;EndpointSuffix=…</c>
/// form. Error messages name the offending setting but never repeat a value, so a key pasted in the
/// wrong place does not end up in logs; <see cref="ToString"/> redacts the key too.
/// </summary>
public sealed class BlobConnectionString
{
    /// <summary>The emulator's account name (Azurite, the old Storage Emulator).</summary>
    public const string DevelopmentAccountName = "devstoreaccount1";

    // The emulator's key is public and the same on every machine (documented with Azurite);
    // it is not a secret, which is why it may live in source.
    public const string DevelopmentAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly byte[] _key;

    private BlobConnectionString(string accountName, byte[] key, Uri blobEndpoint)
    {
        AccountName = accountName;
        _key = key;
        BlobEndpoint = blobEndpoint;
    }

    /// <summary>The storage account; signs every request and starts every canonicalized resource.</summary>
    public string AccountName { get; }

    /// <summary>
    /// Where blob requests go, without a trailing slash: <c>https://acct.blob.core.windows.net</c>
    /// (host-style) or <c>http://127.0.0.1:10000/devstoreaccount1</c> (path-style, Azurite).
    /// </summary>
    public Uri BlobEndpoint { get; }

    /// <summary>The decoded account key; internal so it only reaches the signer.</summary>
    internal ReadOnlySpan<byte> Key => _key;

    /// <summary>Parses <paramref name="connectionString"/>; throws <see cref="FormatException"/> saying what is wrong.</summary>
    public static BlobConnectionString Parse(string connectionString)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        var settings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var rawPart in connectionString.Split(';'))
        {
            var part = rawPart.Trim();
            if (part.Length == 0)
            {
                continue; // a trailing ';' is common and harmless
            }

            // Split at the first '=' only: base64 keys end in '=' padding.
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new FormatException($"Blob connection string is malformed: segment {settings.Count + 1} is not 'Name=Value'. Expected e.g. 'UseDevelopmentStorage=true' or 'DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…'.");
            }

            var name = part[..eq].Trim();
            var value = part[(eq + 1)..].Trim();
            if (!settings.TryAdd(name, value))
            {
                throw new FormatException($"Blob connection string is malformed: setting '{name}' appears more than once.");
            }
        }

        if (settings.Count == 0)
        {
            throw new FormatException("Blob connection string is empty. Expected e.g. 'UseDevelopmentStorage=true' or 'DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…'.");
        }

        if (settings.ContainsKey("SharedAccessSignature"))
        {
            throw new FormatException("Blob connection string uses SharedAccessSignature, which this client does not support; give AccountName and AccountKey (Shared Key) instead.");
        }

        if (settings.TryGetValue("UseDevelopmentStorage", out var dev))
        {
            if (!string.Equals(dev, "true", StringComparison.OrdinalIgnoreCase))
            {
                throw new FormatException("Blob connection string: UseDevelopmentStorage must be 'true' when present.");
            }

            if (settings.ContainsKey("DevelopmentStorageProxyUri"))
            {
                throw new FormatException("Blob connection string: DevelopmentStorageProxyUri is not supported; give BlobEndpoint with AccountName and AccountKey instead.");
            }

            // The emulator listens on 10000 for blobs and uses path-style URLs under the account name.
            return new BlobConnectionString(DevelopmentAccountName, Convert.FromBase64String(DevelopmentAccountKey), new Uri("http://127.0.0.1:10000/" + DevelopmentAccountName));
        }

        if (!settings.TryGetValue("AccountName", out var account) || account.Length == 0)
        {
            throw new FormatException("Blob connection string has no AccountName.");
        }

        if (!settings.TryGetValue("AccountKey", out var keyText) || keyText.Length == 0)
        {
            throw new FormatException($"Blob connection string for account '{account}' has no AccountKey (Shared Key authentication needs it).");
        }

        byte[] key;
        try
        {
            key = Convert.FromBase64String(keyText);
        }
        catch (FormatException)
        {
            // The inner exception is dropped on purpose: only the fact, never the value.
            throw new FormatException($"Blob connection string for account '{account}': AccountKey is not valid base64; copy the key again from the storage account's access keys.");
        }

        if (key.Length == 0)
        {
            throw new FormatException($"Blob connection string for account '{account}': AccountKey is empty.");
        }

        Uri endpoint;
        if (settings.TryGetValue("BlobEndpoint", out var blobEndpoint) && blobEndpoint.Length > 0)
        {
            if (!Uri.TryCreate(blobEndpoint, UriKind.Absolute, out var parsed) || (parsed.Scheme != Uri.UriSchemeHttp && parsed.Scheme != Uri.UriSchemeHttps))
            {
                throw new FormatException($"Blob connection string for account '{account}': BlobEndpoint is not an absolute http or https URL.");
            }

            if (!string.IsNullOrEmpty(parsed.Query) || !string.IsNullOrEmpty(parsed.Fragment))
            {
                throw new FormatException($"Blob connection string for account '{account}': BlobEndpoint must not have a query or fragment (a SAS token is not supported).");
            }

            endpoint = new Uri(parsed.GetLeftPart(UriPartial.Path).TrimEnd('/'));
        }
        else
        {
            var protocol = settings.TryGetValue("DefaultEndpointsProtocol", out var p) && p.Length > 0 ? p.ToLowerInvariant() : "https";
            if (protocol != "http" && protocol != "https")
            {
                throw new FormatException($"Blob connection string for account '{account}': DefaultEndpointsProtocol must be 'http' or 'https'.");
            }

            var suffix = settings.TryGetValue("EndpointSuffix", out var s) && s.Length > 0 ? s.Trim('.') : "core.windows.net";
            if (!Uri.TryCreate($"{protocol}://{account}.blob.{suffix}", UriKind.Absolute, out var built))
            {
                throw new FormatException($"Blob connection string for account '{account}': AccountName and EndpointSuffix do not form a valid host name.");
            }

            endpoint = built;
        }

        return new BlobConnectionString(account, key, endpoint);
    }

    /// <summary>Account and endpoint only; the key is never printed.</summary>
    public override string ToString() => $"AccountName={AccountName};AccountKey=<redacted>;BlobEndpoint={BlobEndpoint}";
}
