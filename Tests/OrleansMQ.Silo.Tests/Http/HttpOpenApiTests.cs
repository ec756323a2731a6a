using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OrleansMQ.Silo.Http;
using OrleansMQ.Silo.Tests.Broker;
using Xunit;

namespace OrleansMQ.Silo.Tests.Http;

/// <summary>
/// The OpenAPI document (generated from the endpoints) lists every route the gateway maps, with
/// its methods, responses and path parameters; a route left out of it (e.g. by ExcludeFromDescription)
/// fails here. Only the document's own route is exempt.
/// </summary>
public sealed partial class HttpOpenApiTests
{
    [GeneratedRegex(@"\{(\w+)(:[^}]*)?\}")]
    private static partial Regex RouteParameter();

    [Fact]
    public async Task Every_mapped_route_and_method_is_in_the_document()
    {
        await using var silo = await TestSilo.StartAsync();
        using var http = new HttpClient { BaseAddress = silo.HttpBaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        using var response = await http.GetAsync(new Uri("/openapi/v1.json", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = document.RootElement;
        Assert.StartsWith("3.0", root.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        var paths = root.GetProperty("paths");

        var services = silo.Services.GetRequiredService<HttpGatewayHostedService>().AppServices;
        Assert.NotNull(services);
        var endpoints = services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();
        Assert.True(endpoints.Count >= 13, $"only {endpoints.Count} endpoints");
        var mapped = new HashSet<string>(StringComparer.Ordinal);
        foreach (var endpoint in endpoints)
        {
            if (endpoint.RoutePattern.RawText == "/openapi/{documentName}.json" || endpoint.RoutePattern.RawText == "/openapi/v1.json")
            {
                continue; // the document itself
            }

            string path = RouteParameter().Replace(endpoint.RoutePattern.RawText!, "{$1}");
            mapped.Add(path);
            Assert.True(paths.TryGetProperty(path, out var item), $"{path} is mapped but not in the OpenAPI document");
            var methods = endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? [];
            Assert.NotEmpty(methods);
            foreach (string method in methods)
            {
                Assert.True(item.TryGetProperty(method.ToLowerInvariant(), out var operation), $"{method} {path} is mapped but not in the OpenAPI document");
                Assert.True(operation.TryGetProperty("responses", out var responses) && responses.EnumerateObject().Any(), $"{method} {path} has no responses");
                foreach (var parameter in RouteParameter().Matches(path).Select(m => m.Groups[1].Value))
                {
                    Assert.True(
                        operation.TryGetProperty("parameters", out var parameters) && parameters.EnumerateArray().Any(p => p.GetProperty("name").GetString() == parameter && p.GetProperty("in").GetString() == "path"),
                        $"{method} {path}: path parameter {parameter} not documented");
                }
            }
        }

        // And nothing documented that is not served.
        foreach (var documented in paths.EnumerateObject())
        {
            Assert.True(mapped.Contains(documented.Name), $"{documented.Name} is documented but not mapped");
        }

        Assert.True(root.GetProperty("components").GetProperty("schemas").TryGetProperty("ProblemDetails", out _));
    }

    [Fact]
    public async Task The_document_references_only_defined_schemas()
    {
        await using var silo = await TestSilo.StartAsync();
        using var http = new HttpClient { BaseAddress = silo.HttpBaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        string text = await http.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative));
        using var document = JsonDocument.Parse(text);
        var schemas = document.RootElement.GetProperty("components").GetProperty("schemas");
        foreach (Match m in Regex.Matches(text, "\"#/components/schemas/(\\w+)\""))
        {
            Assert.True(schemas.TryGetProperty(m.Groups[1].Value, out _), m.Value);
        }
    }
}
