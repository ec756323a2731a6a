using System.Net;

namespace OrleansMQ.Silo.Http;

/// <summary>The bindable <c>OrleansMQ:Http</c> section: the HTTP gateway (health, metrics, REST Proxy v2 produce, browse).</summary>
public sealed class HttpSettings
{
    /// <summary>Run the HTTP gateway. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Address the HTTP listener binds. Default 0.0.0.0.</summary>
    public string ListenAddress { get; set; } = "0.0.0.0";

    /// <summary>HTTP port. Default 8080; 0 picks a free port (tests).</summary>
    public int Port { get; set; } = 8080;

    /// <summary>Largest request body accepted, bytes (413 above). Default 10 MiB.</summary>
    public long MaxRequestBodyBytes { get; set; } = 10L << 20;

    /// <summary>
    /// API keys accepted as <c>Authorization: Bearer &lt;key&gt;</c> or <c>X-API-Key: &lt;key&gt;</c>. Empty (the
    /// default) turns authentication off; otherwise every endpoint except <c>/healthz</c> and
    /// <c>/readyz</c> needs one of them (401 without).
    /// </summary>
    public IList<string> ApiKeys { get; } = new List<string>();

    /// <summary>
    /// Keys that may only read (GET and HEAD): dashboards, Prometheus, the console for viewers.
    /// Any other method with one gets 403. Configuring any key (either list) turns authentication on.
    /// </summary>
    public IList<string> ReadOnlyApiKeys { get; } = new List<string>();

    /// <summary>REST Proxy consumer instances idle longer than this are closed, ms (REST Proxy's <c>consumer.instance.timeout.ms</c>). Default 300000.</summary>
    public long ConsumerInstanceTimeoutMs { get; set; } = 300_000;

    /// <summary>Most REST Proxy consumer instances at a time (each is a group member with its own connection); 429 above. Default 100.</summary>
    public int MaxConsumerInstances { get; set; } = 100;

    /// <summary>How long a records request waits for records, ms, for instances created without <c>consumer.request.timeout.ms</c> (REST Proxy's default 1000).</summary>
    public int ConsumerRequestTimeoutMs { get; set; } = 1000;

    /// <summary>Most key plus value bytes in one records answer (REST Proxy's <c>consumer.request.max.bytes</c>). Default 64 MiB.</summary>
    public long ConsumerRequestMaxBytes { get; set; } = 64L << 20;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (Port is < 0 or > 65535)
        {
            throw new ArgumentException($"OrleansMQ:Http:Port must be 0-65535; got {Port}.");
        }

        if (!IPAddress.TryParse(ListenAddress, out _))
        {
            throw new ArgumentException($"OrleansMQ:Http:ListenAddress must be an IP address; got '{ListenAddress}'.");
        }

        if (MaxRequestBodyBytes < 1)
        {
            throw new ArgumentException($"OrleansMQ:Http:MaxRequestBodyBytes must be >= 1; got {MaxRequestBodyBytes}.");
        }

        if (ConsumerInstanceTimeoutMs < 1)
        {
            throw new ArgumentException($"OrleansMQ:Http:ConsumerInstanceTimeoutMs must be >= 1; got {ConsumerInstanceTimeoutMs}.");
        }

        if (MaxConsumerInstances < 0)
        {
            throw new ArgumentException($"OrleansMQ:Http:MaxConsumerInstances must be >= 0; got {MaxConsumerInstances}.");
        }

        if (ConsumerRequestTimeoutMs < 0)
        {
            throw new ArgumentException($"OrleansMQ:Http:ConsumerRequestTimeoutMs must be >= 0; got {ConsumerRequestTimeoutMs}.");
        }

        if (ConsumerRequestMaxBytes < 1)
        {
            throw new ArgumentException($"OrleansMQ:Http:ConsumerRequestMaxBytes must be >= 1; got {ConsumerRequestMaxBytes}.");
        }

        foreach (var (name, keys) in new[] { ("ApiKeys", ApiKeys), ("ReadOnlyApiKeys", ReadOnlyApiKeys) })
        {
            for (int i = 0; i < keys.Count; i++)
            {
                if (string.IsNullOrWhiteSpace(keys[i]) || keys[i].Trim().Length != keys[i].Length)
                {
                    throw new ArgumentException($"OrleansMQ:Http:{name}:{i} must be a non-empty key without surrounding whitespace.");
                }
            }
        }

        if (ReadOnlyApiKeys.Intersect(ApiKeys, StringComparer.Ordinal).Any())
        {
            throw new ArgumentException("OrleansMQ:Http:ReadOnlyApiKeys and OrleansMQ:Http:ApiKeys must not share a key.");
        }
    }
}
