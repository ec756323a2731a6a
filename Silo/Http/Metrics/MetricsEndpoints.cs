using Microsoft.AspNetCore.Routing;
using Microsoft.OpenApi;
using OrleansMQ.Silo.Metrics;

namespace OrleansMQ.Silo.Http.Metrics;

/// <summary>
/// <c>GET /metrics</c>: the Prometheus scrape target — the silo's <c>System.Diagnostics.Metrics</c>
/// instruments through OpenTelemetry's exporter (<see cref="MetricsEndpoint"/>). The exporter's
/// endpoint is a middleware branch, not a route handler, so the OpenAPI generator (which reads
/// route handlers' metadata) cannot see it; <see cref="Describe"/> adds it to the document.
/// </summary>
internal static class MetricsEndpoints
{
    internal const string Path = "/metrics";

    public static void Map(IEndpointRouteBuilder app) => app.MapMetrics();

    /// <summary>Adds <c>GET /metrics</c> to the gateway's OpenAPI document.</summary>
    public static void Describe(OpenApiDocument document)
    {
        document.Paths ??= [];
        document.Paths[Path] = new OpenApiPathItem
        {
            Operations = new()
            {
                [HttpMethod.Get] = new OpenApiOperation
                {
                    OperationId = "Metrics",
                    Summary = "Prometheus metrics, text format 0.0.4.",
                    Responses = new OpenApiResponses
                    {
                        ["200"] = new OpenApiResponse
                        {
                            Description = "The silo's metrics.",
                            Content = new Dictionary<string, OpenApiMediaType>
                            {
                                ["text/plain; version=0.0.4"] = new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String } },
                            },
                        },
                    },
                },
            },
        };
    }
}
