using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace OrleansMQ.Silo.Http.Metrics;

/// <summary><c>GET /metrics</c>: the Prometheus scrape target.</summary>
internal sealed class MetricsEndpoints
{
    internal const string Tag = "Metrics";
    private readonly PrometheusText _text;

    public MetricsEndpoints(PrometheusText text) => _text = text;

    public void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/metrics", async (CancellationToken ct) => Results.Text(await _text.PrometheusTextAsync(ct).ConfigureAwait(false), "text/plain; version=0.0.4; charset=utf-8"))
            .WithTags(Tag).WithName("Metrics").WithSummary("Prometheus metrics, text format 0.0.4.")
            .Produces<string>(200, "text/plain; version=0.0.4");
}
