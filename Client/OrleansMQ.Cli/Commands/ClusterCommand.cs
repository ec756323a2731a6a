using System.Globalization;
using OrleansMQ.Cli.Infrastructure;

namespace OrleansMQ.Cli.Commands;

/// <summary><c>omq cluster</c>: the cluster id, the controller and the live brokers (DescribeCluster; kafka-cluster cluster-id and kafka-broker-api-versions' broker list).</summary>
internal sealed class ClusterCommand : Command
{
    public override string Name => "cluster";

    public override string Summary => "Show the cluster id, the controller and the live brokers.";

    public override string Arguments => "";

    public override async Task<int> RunAsync(CommandContext context)
    {
        context.NoPositionals();
        var cluster = await context.Admin.DescribeClusterAsync(context.CancellationToken).ConfigureAwait(false);
        if (context.Format == OutputFormat.Json)
        {
            Output.Json(context.Out, cluster);
            return OmqCli.ExitOk;
        }

        await context.Out.WriteLineAsync($"Cluster {cluster.ClusterId}, controller {cluster.ControllerId.ToString(CultureInfo.InvariantCulture)}").ConfigureAwait(false);
        Output.Table(
            context.Out,
            ["BROKER", "HOST", "PORT", "RACK"],
            cluster.Brokers.Select(b => new[] { b.Id.ToString(CultureInfo.InvariantCulture) + (b.Id == cluster.ControllerId ? " *" : ""), b.Host, b.Port.ToString(CultureInfo.InvariantCulture), b.Rack ?? "-" }));
        return OmqCli.ExitOk;
    }
}
