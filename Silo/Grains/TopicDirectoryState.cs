using Orleans;
using OrleansMQ.Silo.Topics;

namespace OrleansMQ.Silo.Grains;

/// <summary>Persisted state of the topic directory: every live topic and the last version handed out.</summary>
[GenerateSerializer]
public sealed class TopicDirectoryState
{
    [Id(0)]
    public long Version { get; set; }

    [Id(1)]
    public Dictionary<string, TopicSnapshot> Topics { get; set; } = new(StringComparer.Ordinal);
}
