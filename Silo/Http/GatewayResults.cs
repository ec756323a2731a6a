using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace OrleansMQ.Silo.Http;

/// <summary>
/// What every module of the gateway answers with: RFC 9457 problem documents
/// (<c>application/problem+json</c>; REST Proxy paths add its <c>error_code</c> and <c>message</c>)
/// and the JSON body reading that maps a parse failure or Kestrel's size cut to one.
/// </summary>
internal static class GatewayResults
{
    internal static IResult Problem(int status, string title, string detail, int? errorCode = null)
    {
        var body = new JsonObject
        {
            ["type"] = "about:blank",
            ["title"] = title,
            ["status"] = status,
            ["detail"] = detail,
        };
        if (errorCode is { } code)
        {
            body["error_code"] = code;
            body["message"] = detail;
        }

        return Results.Text(body.ToJsonString(), "application/problem+json", Encoding.UTF8, status);
    }

    internal static IResult RestProblem(int status, int errorCode, string title, string detail) => Problem(status, title, detail, errorCode);

    internal static IResult JsonResult(JsonNode node, string contentType = "application/json") =>
        Results.Text(node.ToJsonString(), contentType, Encoding.UTF8);

    /// <summary>The request's media type, lower case, without parameters ("" when none).</summary>
    internal static string MediaType(HttpRequest request) => (request.ContentType ?? "").Split(';')[0].Trim().ToLowerInvariant();

    /// <summary>
    /// The body parsed as one JSON document (the caller disposes it), or why not: 400 with the
    /// parser's message, or 413 when Kestrel's <see cref="HttpSettings.MaxRequestBodyBytes"/> cut it.
    /// Each API wraps the status in its own problem flavour.
    /// </summary>
    internal static async Task<(JsonDocument? Document, int Status, string? Detail)> ParseJsonBodyAsync(HttpContext context, HttpSettings settings)
    {
        try
        {
            return (await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted).ConfigureAwait(false), 200, null);
        }
        catch (JsonException ex)
        {
            return (null, 400, "The body is not valid JSON: " + ex.Message);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, 413, $"The body exceeds {settings.MaxRequestBodyBytes} bytes.");
        }
    }

    /// <summary>A query value as an integer; <paramref name="fallback"/> when absent or empty.</summary>
    internal static bool TryLong(Microsoft.Extensions.Primitives.StringValues values, long fallback, out long value)
    {
        if (values.Count == 0 || string.IsNullOrEmpty(values[0]))
        {
            value = fallback;
            return true;
        }

        return long.TryParse(values[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out value);
    }
}
