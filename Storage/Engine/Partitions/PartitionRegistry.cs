using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace OrleansMQ.Storage.Engine.Partitions;

/// <summary>
/// Maps (topic, partition) to the small integer id written into every CommitLog entry header.
/// Stored as JSON in <c>&lt;data&gt;/partitions</c>, replaced atomically (write temp, fsync, rename)
/// before the first append to a new partition can happen, so recovery never meets an id it
/// cannot name. Partition creation is rare; this is not a hot path.
/// </summary>
internal sealed partial class PartitionRegistry
{
    private readonly string _path;
    private readonly ILogger _logger;
    private readonly List<Record> _records = new();

    private PartitionRegistry(string path, ILogger logger)
    {
        _path = path;
        _logger = logger;
    }

    public IReadOnlyList<Record> Records => _records;

    public static PartitionRegistry Load(string path, ILogger logger)
    {
        var registry = new PartitionRegistry(path, logger);
        if (!File.Exists(path))
        {
            return registry;
        }

        try
        {
            var records = JsonSerializer.Deserialize<List<Record>>(File.ReadAllBytes(path)) ?? new List<Record>();
            var seen = new HashSet<int>();
            foreach (var r in records)
            {
                if (r.Id < 0 || string.IsNullOrEmpty(r.Topic) || r.Partition < 0 || !seen.Add(r.Id))
                {
                    LogInvalidRecord(logger, path, r);
                    continue;
                }

                registry._records.Add(r);
            }
        }
        catch (JsonException ex)
        {
            // The registry is written atomically, so this means outside damage. Keep the file for
            // inspection and start without it rather than refusing to start.
            var aside = path + ".corrupt-" + DateTime.UtcNow.ToString("yyyyMMddHHmmss", System.Globalization.CultureInfo.InvariantCulture);
            File.Copy(path, aside, overwrite: true);
            LogUnreadable(logger, ex, path, aside);
        }

        return registry;
    }

    public Record Add(string topic, int partition, PartitionOptions options)
    {
        int id = _records.Count == 0 ? 0 : _records.Max(r => r.Id) + 1;
        var record = new Record(id, topic, partition, options.IndexKeys, options.MaxBatchBytes);
        _records.Add(record);
        Save();
        return record;
    }

    public void Update(Record record)
    {
        int i = _records.FindIndex(r => r.Id == record.Id);
        _records[i] = record;
        Save();
    }

    private void Save()
    {
        var tmp = _path + ".tmp";
        using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(fs, _records);
            fs.Flush(flushToDisk: true);
        }

        File.Move(tmp, _path, overwrite: true);
        LogSaved(_logger, _records.Count);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Partition registry {Path}: skipping invalid record {Record}")]
    private static partial void LogInvalidRecord(ILogger logger, string path, Record record);

    [LoggerMessage(Level = LogLevel.Error, Message = "Partition registry {Path} is unreadable; copied to {Aside} and starting with no partitions")]
    private static partial void LogUnreadable(ILogger logger, Exception ex, string path, string aside);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Partition registry saved with {Count} partitions")]
    private static partial void LogSaved(ILogger logger, int count);

    /// <summary>Marks a partition deleted. The record stays so its id is never reused: entries still in the CommitLog keep naming it.</summary>
    public void MarkDeleted(int id)
    {
        int i = _records.FindIndex(r => r.Id == id);
        if (i >= 0)
        {
            _records[i] = _records[i] with { Deleted = true };
            Save();
        }
    }

    /// <param name="LogStartOffset">The log start DeleteRecords moved the partition to (0 when never): reads below it are
    /// out of range, and it is the partition's next offset when its ConsumeQueue holds no entry at open.</param>
    internal sealed record Record(int Id, string Topic, int Partition, bool IndexKeys, int? MaxBatchBytes, bool Deleted = false, long LogStartOffset = 0);
}
