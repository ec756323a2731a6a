using System.Collections.Concurrent;
using System.Globalization;
using OrleansMQ.Storage.Engine;

namespace OrleansMQ.Silo.Replication;

/// <summary>Every partition's <see cref="LeaderEpochCache"/> on this silo, loaded on first use from <c>data/replication/epochs/&lt;partition id&gt;</c>.</summary>
public sealed class LeaderEpochs
{
    private readonly string _directory;
    private readonly ConcurrentDictionary<int, LeaderEpochCache> _caches = new();

    public LeaderEpochs(string dataDirectory) => _directory = Path.Combine(dataDirectory, "replication", "epochs");

    public LeaderEpochCache For(PartitionLog log) =>
        _caches.GetOrAdd(log.Id, static (id, dir) => LeaderEpochCache.Load(Path.Combine(dir, id.ToString(CultureInfo.InvariantCulture))), _directory);
}
