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

        for (int i = 0; i < ApiKeys.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(ApiKeys[i]) || ApiKeys[i].Trim().Length != ApiKeys[i].Length)
            {
                throw new ArgumentException($"OrleansMQ:Http:ApiKeys:{i} must be a non-empty key without surrounding whitespace.");
            }
        }
    }
}
