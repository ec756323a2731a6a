using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;

namespace OrleansMQ.Silo.Metrics;

/// <summary>
/// /metrics: the "OrleansMQ" meter's instruments exported by OpenTelemetry's Prometheus exporter.
/// Chosen over prometheus-net's meter adapter because the adapter publishes every .NET counter as a
/// Prometheus gauge (TYPE lines would change), prefixes names with the meter name and forgets a
/// series after minutes without a change; the OpenTelemetry exporter keeps counter and histogram
/// types, can leave names as given (no unit or <c>_total</c> suffixes), and can leave out its
/// scope labels and <c>target_info</c> — so the scraped names and labels stay as they were.
/// </summary>
public static class MetricsEndpoint
{
    /// <summary>The content type /metrics always answered with (Prometheus text format 0.0.4).</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>The meter, the silo's instruments and the exporter.</summary>
    public static IServiceCollection AddSiloMetrics(this IServiceCollection services)
    {
        services.AddSingleton<HttpMetrics>();
        services.AddSingleton<GroupLagSnapshot>();
        services.AddSingleton<SiloInstruments>();
        services.ConfigureOpenTelemetryMeterProvider((sp, builder) =>
        {
            var hostMeters = sp.GetRequiredService<IMeterFactory>();
            builder.AddView(instrument => SiloMeter.View(instrument, hostMeters));
        });
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(SiloMeter.Name)
            .AddPrometheusExporter(o =>
            {
                o.TranslationStrategy = PrometheusAspNetCoreTranslationStrategy.UnderscoreEscapingWithoutSuffixes;
                o.ScopeInfoEnabled = false; // no otel_scope_* label on every series
                o.TargetInfoEnabled = false; // no target_info family
                o.ScrapeResponseCacheDurationMilliseconds = 0; // every scrape reads the current figures
            }));
        return services;
    }

    /// <summary>Maps GET /metrics (the silo's instruments are created here, before the first scrape).</summary>
    public static IEndpointConventionBuilder MapMetrics(this IEndpointRouteBuilder app)
    {
        app.ServiceProvider.GetRequiredService<SiloInstruments>();
        var lag = app.ServiceProvider.GetRequiredService<GroupLagSnapshot>();
        return app.MapPrometheusScrapingEndpoint("/metrics", meterProvider: null, configureBranchedPipeline: branch => branch.Use(async (context, next) =>
        {
            await lag.RefreshAsync(context.RequestAborted).ConfigureAwait(false);

            // Always the Prometheus text format 0.0.4, as before: the exporter would otherwise
            // answer a scraper that prefers OpenMetrics (Prometheus does) in that format, whose
            // counter and histogram family names differ from the ones dashboards already use.
            context.Request.Headers.Accept = "text/plain; version=0.0.4";
            context.Response.OnStarting(static state =>
            {
                var response = (HttpResponse)state;
                if (response.StatusCode == StatusCodes.Status200OK)
                {
                    response.ContentType = ContentType;
                }

                return Task.CompletedTask;
            }, context.Response);
            await next(context).ConfigureAwait(false);
        }), optionsName: null)
            .WithMetadata(new HttpMethodMetadata([HttpMethods.Get])); // GET only, as before (the exporter maps every method)
    }
}
