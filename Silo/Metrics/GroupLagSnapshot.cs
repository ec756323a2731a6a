using OrleansMQ.Silo.Groups;

namespace OrleansMQ.Silo.Metrics;

/// <summary>
/// Consumer group lag for /metrics. Computing it calls each group's grain, which is asynchronous,
/// while the exporter reads instruments synchronously: the scrape first refreshes this snapshot
/// (<see cref="RefreshAsync"/>, awaited in the /metrics pipeline), then the gauge reads it.
/// </summary>
public sealed class GroupLagSnapshot(GroupService groups)
{
    private volatile IReadOnlyList<(string Group, string Topic, int Partition, long Lag)> _lags = [];

    /// <summary>The lag of every committed partition of every group, as of the last refresh.</summary>
    public IReadOnlyList<(string Group, string Topic, int Partition, long Lag)> Current => _lags;

    /// <summary>Recomputes the lag of every group (none while the coordinator is loading).</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var lags = new List<(string, string, int, long)>();
        if (groups.Availability == GroupError.None)
        {
            foreach (var (groupId, _, _) in groups.List())
            {
                var lag = await groups.DescribeLagAsync(groupId, cancellationToken).ConfigureAwait(false);
                foreach (var p in lag?.Partitions ?? [])
                {
                    if (p.Lag is { } l)
                    {
                        lags.Add((groupId, p.Topic, p.Partition, l));
                    }
                }
            }
        }

        _lags = lags;
    }
}
