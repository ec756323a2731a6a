using System.Collections.Frozen;
using System.Globalization;

namespace OrleansMQ.Silo.Topics;

/// <summary>
/// A topic's configs: the raw name → value map as the user set it, validated against the known
/// Kafka topic configs, plus typed views of those the broker acts on.
/// </summary>
public sealed class TopicConfig
{
    /// <summary>Our own switch for RocketMQ-style lookup by key (IndexFile). Off by default.</summary>
    public const string IndexKeysName = "orleansmq.index.keys";

    /// <summary>Every config the broker accepts, with its default as DescribeConfigs reports it.</summary>
    public static readonly FrozenDictionary<string, string> Defaults = new Dictionary<string, string>
    {
        ["cleanup.policy"] = "delete",
        ["compression.type"] = "producer",
        ["delete.retention.ms"] = "86400000",
        ["file.delete.delay.ms"] = "60000",
        ["flush.messages"] = "9223372036854775807",
        ["flush.ms"] = "9223372036854775807",
        ["index.interval.bytes"] = "4096",
        ["max.compaction.lag.ms"] = "9223372036854775807",
        ["max.message.bytes"] = "1048588",
        ["message.downconversion.enable"] = "true",
        ["message.timestamp.difference.max.ms"] = "9223372036854775807",
        ["message.timestamp.type"] = "CreateTime",
        ["min.cleanable.dirty.ratio"] = "0.5",
        ["min.compaction.lag.ms"] = "0",
        ["min.insync.replicas"] = "1",
        ["preallocate"] = "false",
        ["retention.bytes"] = "-1",
        ["retention.ms"] = "604800000",
        ["segment.bytes"] = "1073741824",
        ["segment.index.bytes"] = "10485760",
        ["segment.jitter.ms"] = "0",
        ["segment.ms"] = "604800000",
        ["unclean.leader.election.enable"] = "false",
        [IndexKeysName] = "false",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private TopicConfig(IReadOnlyDictionary<string, string> values)
    {
        Values = values;
        RetentionMs = long.Parse(Get("retention.ms"), CultureInfo.InvariantCulture);
        RetentionBytes = long.Parse(Get("retention.bytes"), CultureInfo.InvariantCulture);
        MaxMessageBytes = int.Parse(Get("max.message.bytes"), CultureInfo.InvariantCulture);
        LogAppendTime = Get("message.timestamp.type") == "LogAppendTime";
        IndexKeys = bool.Parse(Get(IndexKeysName));
        MinInsyncReplicas = int.Parse(Get("min.insync.replicas"), CultureInfo.InvariantCulture);
    }

    /// <summary>min.insync.replicas as set on the topic (the broker's default applies when it is not set).</summary>
    public int MinInsyncReplicas { get; }

    /// <summary>The topic's min.insync.replicas when set on it, else <paramref name="brokerDefault"/>.</summary>
    public int MinInsyncOr(int brokerDefault) => Values.ContainsKey("min.insync.replicas") ? MinInsyncReplicas : brokerDefault;

    /// <summary>The configs set explicitly on the topic.</summary>
    public IReadOnlyDictionary<string, string> Values { get; }

    public long RetentionMs { get; }

    public long RetentionBytes { get; }

    public int MaxMessageBytes { get; }

    /// <summary>message.timestamp.type=LogAppendTime: the broker stamps batch timestamps.</summary>
    public bool LogAppendTime { get; }

    public bool IndexKeys { get; }

    public static TopicConfig Empty { get; } = new(new Dictionary<string, string>());

    /// <summary>The effective value: set explicitly, or the default.</summary>
    public string Get(string name) => Values.TryGetValue(name, out var v) ? v : Defaults[name];

    /// <summary>Validates and builds; on error returns null and the reason (Kafka INVALID_CONFIG).</summary>
    public static TopicConfig? TryCreate(IEnumerable<KeyValuePair<string, string?>> configs, out string? error)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in configs)
        {
            error = ValidateOne(name, value);
            if (error is not null)
            {
                return null;
            }

            values[name] = value!;
        }

        error = null;
        return new TopicConfig(values);
    }

    /// <summary>This config with <paramref name="changes"/> applied (a null value resets to the default).</summary>
    public TopicConfig? TryWith(IEnumerable<KeyValuePair<string, string?>> changes, out string? error)
    {
        var merged = new Dictionary<string, string?>(Values.Select(kv => new KeyValuePair<string, string?>(kv.Key, kv.Value)), StringComparer.Ordinal);
        foreach (var (name, value) in changes)
        {
            if (value is null)
            {
                if (!Defaults.ContainsKey(name))
                {
                    error = $"Unknown topic config name: {name}";
                    return null;
                }

                merged.Remove(name);
            }
            else
            {
                merged[name] = value;
            }
        }

        return TryCreate(merged, out error);
    }

    private static string? ValidateOne(string name, string? value)
    {
        if (!Defaults.ContainsKey(name))
        {
            return $"Unknown topic config name: {name}";
        }

        if (value is null)
        {
            return $"Config {name} needs a value.";
        }

        static bool Long(string v, long min) => long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long x) && x >= min;

        return name switch
        {
            "retention.ms" or "retention.bytes" when !Long(value, -1) => $"Invalid value {value} for configuration {name}: must be a number >= -1.",
            "max.message.bytes" when !(int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int m) && m >= 0) => $"Invalid value {value} for configuration {name}: must be a non-negative 32-bit number.",
            "message.timestamp.type" when value is not ("CreateTime" or "LogAppendTime") => $"Invalid value {value} for configuration {name}: must be CreateTime or LogAppendTime.",
            "cleanup.policy" when value != "delete" => $"Invalid value {value} for configuration {name}: only 'delete' is supported (log compaction is not).",
            "min.insync.replicas" when !(int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int i) && i >= 1) => $"Invalid value {value} for configuration {name}: must be at least 1.",
            "unclean.leader.election.enable" when value is not ("true" or "false") => $"Invalid value {value} for configuration {name}: must be true or false.",
            IndexKeysName when value is not ("true" or "false") => $"Invalid value {value} for configuration {name}: must be true or false.",
            "segment.bytes" or "segment.ms" or "delete.retention.ms" or "file.delete.delay.ms" or "flush.messages" or "flush.ms"
                or "index.interval.bytes" or "max.compaction.lag.ms" or "min.compaction.lag.ms" or "segment.index.bytes" or "segment.jitter.ms"
                or "message.timestamp.difference.max.ms" when !Long(value, 0) => $"Invalid value {value} for configuration {name}: must be a non-negative number.",
            _ => null,
        };
    }
}
