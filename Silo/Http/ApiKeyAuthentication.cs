using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using OrleansMQ.Silo.Http.Console;

namespace OrleansMQ.Silo.Http;

/// <summary>
/// Optional API-key authentication for the HTTP gateway. With no keys configured it lets everything
/// through. Otherwise a request needs <c>Authorization: Bearer &lt;key&gt;</c> or <c>X-API-Key: &lt;key&gt;</c>
/// naming a configured key, except the probes (<c>/healthz</c>, <c>/readyz</c>); a missing or unknown key
/// gets 401 with <c>WWW-Authenticate: Bearer</c>. Read-only keys (dashboards, scrapers, the console
/// for viewers) may GET and HEAD; anything else with one gets 403. Keys are compared in constant time.
/// </summary>
internal sealed partial class ApiKeyAuthentication
{
    internal const string ApiKeyHeader = "X-API-Key";
    private readonly byte[][] _keys;
    private readonly byte[][] _readOnlyKeys;
    private readonly ILogger _logger;

    public ApiKeyAuthentication(IEnumerable<string> keys, IEnumerable<string> readOnlyKeys, ILogger logger)
    {
        _keys = keys.Select(Encoding.UTF8.GetBytes).ToArray();
        _readOnlyKeys = readOnlyKeys.Select(Encoding.UTF8.GetBytes).ToArray();
        _logger = logger;
    }

    /// <summary>What a presented key may do.</summary>
    internal enum Access
    {
        None,
        ReadOnly,
        Full,
    }

    /// <summary>True when at least one key is configured.</summary>
    public bool Enabled => _keys.Length + _readOnlyKeys.Length > 0;

    /// <summary>Paths open without a key: the liveness and readiness probes.</summary>
    internal static bool IsOpen(PathString path) =>
        path.Equals("/healthz", StringComparison.OrdinalIgnoreCase) || path.Equals("/readyz", StringComparison.OrdinalIgnoreCase);

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        // The console's static files hold no data; the page asks for a key when the API answers 401.
        if (!Enabled || IsOpen(context.Request.Path) || (HttpMethods.IsGet(context.Request.Method) && ConsoleAssets.IsAssetPath(context.Request.Path)))
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        string? presented = PresentedKey(context.Request);
        if (presented is null)
        {
            await ChallengeAsync(context, "An API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'.").ConfigureAwait(false);
            return;
        }

        var access = AccessOf(presented);
        if (access == Access.None)
        {
            LogRejected(_logger, context.Request.Method, context.Request.Path.Value ?? "", context.Connection.RemoteIpAddress?.ToString() ?? "?");
            await ChallengeAsync(context, "The API key is not valid.").ConfigureAwait(false);
            return;
        }

        if (access == Access.ReadOnly && !(HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method)))
        {
            await GatewayResults.Problem(StatusCodes.Status403Forbidden, "Forbidden", $"The API key is read-only; {context.Request.Method} needs a key from OrleansMQ:Http:ApiKeys.")
                .ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        await next(context).ConfigureAwait(false);
    }

    private static string? PresentedKey(HttpRequest request)
    {
        string? authorization = request.Headers.Authorization;
        if (!string.IsNullOrEmpty(authorization) && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            string token = authorization["Bearer ".Length..].Trim();
            if (token.Length > 0)
            {
                return token;
            }
        }

        string? apiKey = request.Headers[ApiKeyHeader];
        return string.IsNullOrWhiteSpace(apiKey) ? null : apiKey.Trim();
    }

    /// <summary>Constant-time per key (no early exit on the first match, so timing does not say which key or how much matched).</summary>
    internal Access AccessOf(string presented)
    {
        byte[] candidate = Encoding.UTF8.GetBytes(presented);
        bool full = false, readOnly = false;
        foreach (byte[] key in _keys)
        {
            // FixedTimeEquals returns at once on a length mismatch; that reveals only the key length.
            full |= CryptographicOperations.FixedTimeEquals(candidate, key);
        }

        foreach (byte[] key in _readOnlyKeys)
        {
            readOnly |= CryptographicOperations.FixedTimeEquals(candidate, key);
        }

        return full ? Access.Full : readOnly ? Access.ReadOnly : Access.None;
    }

    private static Task ChallengeAsync(HttpContext context, string detail)
    {
        context.Response.Headers.WWWAuthenticate = "Bearer";
        return GatewayResults.Problem(StatusCodes.Status401Unauthorized, "Unauthorized", detail).ExecuteAsync(context);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "HTTP {Method} {Path} from {Remote}: unknown API key")]
    private static partial void LogRejected(ILogger logger, string method, string path, string remote);
}
