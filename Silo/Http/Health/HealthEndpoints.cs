using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using OrleansMQ.Silo.Groups;

namespace OrleansMQ.Silo.Http.Health;

/// <summary>
/// The probes: <c>/healthz</c> (the process answers) and <c>/readyz</c> (storage recovered, broker
/// started, group coordinator loaded). Both are open without an API key (see
/// <see cref="ApiKeyAuthentication.IsOpen"/>) and plain text, as probes read them.
/// </summary>
internal sealed class HealthEndpoints
{
    internal const string Tag = "Health";
    private readonly GroupService _groups;

    public HealthEndpoints(GroupService groups) => _groups = groups;

    public void Map(IEndpointRouteBuilder app)
    {
        var health = app.MapGroup("").WithTags(Tag).WithMetadata(new OpenWithoutKey());
        health.MapGet("/healthz", () => Results.Text("ok\n", "text/plain"))
            .WithName("Liveness").WithSummary("Liveness probe (never needs a key).")
            .Produces<string>(200, "text/plain");
        health.MapGet("/readyz", Ready)
            .WithName("Readiness").WithSummary("Readiness probe (never needs a key): 503 with the reason until the group coordinator has loaded.")
            .Produces<string>(200, "text/plain").Produces<string>(503, "text/plain");
    }

    private IResult Ready()
    {
        string? reason = null;
        try
        {
            var availability = _groups.Availability;
            if (availability != GroupError.None)
            {
                reason = "group coordinator loading (" + availability + ")";
            }
        }
        catch (InvalidOperationException ex)
        {
            reason = ex.Message;
        }

        return reason is null ? Results.Text("ready\n", "text/plain") : Results.Text("not ready: " + reason + "\n", "text/plain", statusCode: 503);
    }
}
