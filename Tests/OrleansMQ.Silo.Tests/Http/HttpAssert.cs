using System.Net;
using System.Text.Json;
using Xunit;

namespace OrleansMQ.Silo.Tests.Http;

/// <summary>What every gateway test checks of an answer: its status, its JSON, its problem document.</summary>
internal static class HttpAssert
{
    /// <summary>The body as JSON after checking the status (the body is in the failure message).</summary>
    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response, HttpStatusCode expected = HttpStatusCode.OK)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"expected {(int)expected}, got {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>
    /// An RFC 9457 problem document with <paramref name="status"/> (type, title, status and detail
    /// present) and, for REST Proxy paths, its <c>error_code</c> and <c>message</c>.
    /// </summary>
    public static async Task ProblemAsync(HttpResponseMessage response, HttpStatusCode status, int? errorCode = null)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var json = JsonDocument.Parse(text).RootElement;
        Assert.Equal((int)status, json.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(json.GetProperty("title").GetString()));
        Assert.False(string.IsNullOrEmpty(json.GetProperty("detail").GetString()));
        Assert.True(json.TryGetProperty("type", out _));
        if (errorCode is { } code)
        {
            Assert.Equal(code, json.GetProperty("error_code").GetInt32());
            Assert.False(string.IsNullOrEmpty(json.GetProperty("message").GetString()));
        }
    }
}
