using System.Text.Json;
using Microsoft.Extensions.Logging;
using Orleans;
using OrleansMQ.Silo.Cluster;
using OrleansMQ.Silo.Topics;

namespace OrleansMQ.Silo.Hosting;

/// <summary>
/// Carries a data folder written by the home-made grain host (before the Orleans control plane)
/// over, once, at start: its topics (<c>grains/k-TopicGrain/*.json</c>) are created again through
/// their grains with the same partition count and configs — so the partitions' data in the
/// CommitLog is served again, instead of auto-create making a one-partition topic over it — and
/// its Kafka cluster id and producer-id block are adopted by the cluster metadata grain. The old
/// folders are then renamed <c>*.imported</c>, so this runs once. A file that cannot be read is
/// logged and left where it is.
/// </summary>
public sealed partial class LegacyGrainStateImport
{
    private readonly string _root;
    private readonly TopicService _topics;
    private readonly IGrainFactory _grains;
    private readonly ILogger _logger;

    public LegacyGrainStateImport(string grainsDirectory, TopicService topics, IGrainFactory grains, ILogger<LegacyGrainStateImport> logger)
    {
        _root = grainsDirectory;
        _topics = topics;
        _grains = grains;
        _logger = logger;
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        string topicsDir = Path.Combine(_root, "k-TopicGrain");
        string clusterFile = Path.Combine(_root, "k-Cluster", "k-id.json");
        string blockFile = Path.Combine(_root, "k-ProducerIdBlock", "k-block.json");
        if (!Directory.Exists(topicsDir) && !File.Exists(clusterFile) && !File.Exists(blockFile))
        {
            return;
        }

        string? clusterId = Read(clusterFile)?.TryGetProperty("Id", out var id) == true ? id.GetString() : null;
        long nextProducerId = Read(blockFile)?.TryGetProperty("NextBlockStart", out var next) == true ? next.GetInt64() : 0;
        await _grains.GetGrain<IClusterMetadataGrain>(IClusterMetadataGrain.Key).AdoptAsync(clusterId, nextProducerId).WaitAsync(cancellationToken).ConfigureAwait(false);

        int imported = 0;
        if (Directory.Exists(topicsDir))
        {
            foreach (var file in Directory.EnumerateFiles(topicsDir, "*.json").Order(StringComparer.Ordinal))
            {
                imported += await ImportTopicAsync(file, cancellationToken).ConfigureAwait(false) ? 1 : 0;
            }
        }

        foreach (var dir in new[] { topicsDir, Path.GetDirectoryName(clusterFile)!, Path.GetDirectoryName(blockFile)! })
        {
            if (Directory.Exists(dir))
            {
                Directory.Move(dir, dir + ".imported");
            }
        }

        LogImported(_logger, imported, clusterId ?? "(new)", nextProducerId);
    }

    private async Task<bool> ImportTopicAsync(string file, CancellationToken cancellationToken)
    {
        var envelope = ReadEnvelope(file);
        if (envelope is not { } e || e.Key is not { } name || e.State is not { } state
            || !state.TryGetProperty("Exists", out var exists) || !exists.GetBoolean())
        {
            return false;
        }

        int partitions = state.GetProperty("Partitions").GetInt32();
        var configs = state.TryGetProperty("Configs", out var c) && c.ValueKind == JsonValueKind.Object
            ? c.EnumerateObject().Select(p => new KeyValuePair<string, string?>(p.Name, p.Value.GetString())).ToList()
            : [];
        var result = await _topics.CreateAsync(name, partitions, -1, configs, validateOnly: false, cancellationToken).ConfigureAwait(false);
        if (!result.IsOk && result.Error != TopicError.AlreadyExists)
        {
            LogTopicFailed(_logger, name, result.Message ?? result.Error.ToString());
            return false;
        }

        return result.IsOk;
    }

    private JsonElement? Read(string file) => File.Exists(file) ? ReadEnvelope(file)?.State : null;

    private (string? Key, JsonElement? State)? ReadEnvelope(string file)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
            var root = doc.RootElement;
            string? key = root.TryGetProperty("Key", out var k) ? k.GetString() : null;
            JsonElement? state = root.TryGetProperty("State", out var s) && s.ValueKind == JsonValueKind.Object ? s.Clone() : null;
            return (key, state);
        }
        catch (Exception ex) when (ex is JsonException or IOException or InvalidOperationException or FormatException or KeyNotFoundException)
        {
            LogUnreadable(_logger, ex, file);
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Imported {Topics} topics from the data folder's earlier grain state (cluster id {ClusterId}, producer ids from {NextProducerId}); the old folders are kept as *.imported")]
    private static partial void LogImported(ILogger logger, int topics, string clusterId, long nextProducerId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not import topic {Topic} from the earlier grain state: {Reason}")]
    private static partial void LogTopicFailed(ILogger logger, string topic, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Earlier grain state file {File} is unreadable; left in place")]
    private static partial void LogUnreadable(ILogger logger, Exception ex, string file);
}
