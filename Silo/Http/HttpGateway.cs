using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OrleansMQ.Silo.Http.Browse;
using OrleansMQ.Silo.Http.Console;
using OrleansMQ.Silo.Http.Consumers;
using OrleansMQ.Silo.Http.Health;
using OrleansMQ.Silo.Http.Metrics;
using OrleansMQ.Silo.Http.OpenApi;
using OrleansMQ.Silo.Http.RestV2;
using OrleansMQ.Silo.Http.RestV3;

namespace OrleansMQ.Silo.Http;

/// <summary>
/// The HTTP gateway: one module per API, each in its own folder with its endpoints, its types and
/// only the services it needs — <see cref="HealthEndpoints"/>, <see cref="MetricsEndpoints"/>,
/// <see cref="RestV2Endpoints"/> (REST Proxy v2), <see cref="ConsumerInstanceEndpoints"/> (its
/// consumer instances), <see cref="RestV3Endpoints"/> (REST Proxy v3), <see cref="BrowseEndpoints"/>
/// (OrleansMQ's browse API) and <see cref="ConsoleEndpoints"/> (the web console) — plus the OpenAPI
/// document generated from them (<see cref="GatewayOpenApi"/>). Produce from REST goes through the
/// silo's one produce path (<c>Silo/Produce</c>), as Kafka produce does.
/// </summary>
internal sealed class HttpGateway
{
    private readonly IServiceProvider _services;

    public HttpGateway(IServiceProvider services) => _services = services;

    /// <summary>Registers the modules and the OpenAPI generator.</summary>
    public static void AddServices(IServiceCollection services)
    {
        services.AddSingleton<HealthEndpoints>();
        services.AddSingleton<RestV2Produce>();
        services.AddSingleton<RestV2Endpoints>();
        services.AddSingleton<ConsumerInstanceEndpoints>();
        services.AddSingleton<RestV3Resources>();
        services.AddSingleton<RestV3Produce>();
        services.AddSingleton<RestV3Endpoints>();
        services.AddSingleton<BrowseEndpoints>();
        services.AddSingleton<ConsoleEndpoints>();
        services.AddSingleton<HttpGateway>();
        GatewayOpenApi.AddServices(services);
    }

    public void Map(IEndpointRouteBuilder app)
    {
        _services.GetRequiredService<HealthEndpoints>().Map(app);
        MetricsEndpoints.Map(app);
        GatewayOpenApi.Map(app);
        _services.GetRequiredService<RestV2Endpoints>().Map(app);
        _services.GetRequiredService<ConsumerInstanceEndpoints>().Map(app);
        _services.GetRequiredService<RestV3Endpoints>().Map(app);
        _services.GetRequiredService<BrowseEndpoints>().Map(app);
        _services.GetRequiredService<ConsoleEndpoints>().Map(app);
    }
}
