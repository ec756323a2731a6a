using System.Globalization;
using Microsoft.Extensions.Logging;
using OrleansMQ.Storage.Queues;

namespace OrleansMQ.Storage.Engine.Partitions;

/// <summary>
/// The partitions one engine knows: by (topic, partition) for the API and by registry id for the
/// dispatcher, which reads the id array lock-free (copy-on-grow) once per entry. Creation,
/// deletion and option changes are rare and go through one lock and the durable registry.
/// </summary>
internal sealed class PartitionTable
{
    private readonly PartitionRegistry _registry;
    private readonly string _queueRoot;
    private readonly int _entriesPerFile;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Topic, int Partition), PartitionLog> _byName = new();
    private PartitionLog?[] _byId = new PartitionLog?[16];   // copy-on-grow; read lock-free by the dispatcher
    private HashSet<int> _deletedIds = new();                // copy-on-write; ids of deleted partitions

    public PartitionTable(PartitionRegistry registry, string queueRoot, int entriesPerFile, ILogger logger)
    {
        _registry = registry;
        _queueRoot = queueRoot;
        _entriesPerFile = entriesPerFile;
        _logger = logger;
    }

    /// <summary>Partitions by registry id (entries may be null); the array is replaced, never changed in place, so a reader's copy stays valid.</summary>
    public PartitionLog?[] ById => Volatile.Read(ref _byId);

    /// <summary>Every live partition, as a copy.</summary>
    public IReadOnlyList<PartitionLog> Snapshot()
    {
        lock (_lock)
        {
            return _byName.Values.ToList();
        }
    }

    /// <summary>Was <paramref name="id"/> deleted (its entries still lie in the CommitLog)?</summary>
    public bool IsDeletedId(int id) => Volatile.Read(ref _deletedIds).Contains(id);

    public string QueueDirectory(int id) => Path.Combine(_queueRoot, id.ToString(CultureInfo.InvariantCulture));

    public void Add(PartitionLog p)
    {
        lock (_lock)
        {
            _byName[(p.Topic, p.Partition)] = p;
            var arr = _byId;
            if (p.Id >= arr.Length)
            {
                Array.Resize(ref arr, Math.Max(arr.Length * 2, p.Id + 1));
            }

            arr[p.Id] = p;
            Volatile.Write(ref _byId, arr);
        }
    }

    public PartitionLog GetOrCreate(string topic, int partition, PartitionOptions? options)
    {
        lock (_lock)
        {
            if (_byName.TryGetValue((topic, partition), out var existing))
            {
                return existing;
            }

            var record = _registry.Add(topic, partition, options ?? PartitionOptions.Default);
            var queue = ConsumeQueue.Open(QueueDirectory(record.Id), _entriesPerFile, _logger);
            var p = new PartitionLog(record.Id, topic, partition, options ?? PartitionOptions.Default, queue);
            Add(p);
            return p;
        }
    }

    /// <summary>Marks the partition deleted; false when it already was.</summary>
    public bool Delete(PartitionLog partition)
    {
        lock (_lock)
        {
            if (partition.IsDeleted)
            {
                return false;
            }

            partition.IsDeleted = true;
            _registry.MarkDeleted(partition.Id);
            _byName.Remove((partition.Topic, partition.Partition));
            MarkDeletedId(partition.Id);
            return true;
        }
    }

    public void MarkDeletedId(int id)
    {
        lock (_lock)
        {
            var ids = new HashSet<int>(_deletedIds) { id };
            Volatile.Write(ref _deletedIds, ids);
        }
    }

    public void UpdateOptions(PartitionLog partition, PartitionOptions options)
    {
        lock (_lock)
        {
            _registry.Update(RecordOf(partition) with { IndexKeys = options.IndexKeys, MaxBatchBytes = options.MaxBatchBytes });
            partition.Options = options;
        }
    }

    /// <summary>
    /// Moves the partition's durable log start (registry file written and fsynced before the
    /// in-memory value changes, so nothing is answered from a start a restart would forget).
    /// </summary>
    public void SetLogStartFloor(PartitionLog partition, long offset)
    {
        lock (_lock)
        {
            if (partition.LogStartFloor == offset)
            {
                return;
            }

            _registry.Update(RecordOf(partition) with { LogStartOffset = offset });
            partition.LogStartFloor = offset;
        }
    }

    private PartitionRegistry.Record RecordOf(PartitionLog partition) =>
        _registry.Records.FirstOrDefault(r => r.Id == partition.Id)
        ?? new PartitionRegistry.Record(partition.Id, partition.Topic, partition.Partition, partition.Options.IndexKeys, partition.Options.MaxBatchBytes);

    public bool TryGet(string topic, int partition, out PartitionLog log)
    {
        lock (_lock)
        {
            return _byName.TryGetValue((topic, partition), out log!);
        }
    }
}
