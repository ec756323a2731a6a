using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using OrleansMQ.Client;
using OrleansMQ.Client.Consumer;
using OrleansMQ.Protocol;
using OrleansMQ.Silo.Topics;

namespace OrleansMQ.Silo.Http.Consumers;

/// <summary>
/// One REST Proxy v2 consumer instance: a real Kafka group member (our managed <see cref="KafkaConsumer"/>
/// connected to this silo's own Kafka listener), so it shares partitions with kcat, kafkajs or any other member
/// of its group. Requests are serialized (<see cref="RunAsync{T}"/>), as REST Proxy does per instance.
/// <para>
/// Records come from one long-lived <see cref="KafkaConsumer.ConsumeAsync"/> enumeration. A records request that
/// ends while a <c>MoveNextAsync</c> is pending leaves it pending: the record it brings later is "held" and is the
/// first of the next answer. Breaking off the enumeration instead would drop the rest of the fetched chunk.
/// A held record was handed out by the consumer (its position is past it) but not to the user, so commits of
/// "everything returned so far" use the held record's offset for its partition.
/// </para>
/// </summary>
internal sealed partial class RestConsumerInstance : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ConsumerOptions _options;
    private readonly TopicCatalog _catalog;
    private readonly ILogger _logger;
    private KafkaConsumer? _consumer;
    private bool _subscribed;
    private bool _assigned;
    private Regex? _pattern;
    private IReadOnlyList<string> _topics = [];
    private IAsyncEnumerator<ConsumeResult>? _records;
    private Task<bool>? _next;
    private Exception? _pendingError;
    private long _lastUsed = Environment.TickCount64;
    private int _busy;
    private bool _closed;

    public RestConsumerInstance(string group, RestConsumerConfig config, ConsumerOptions options, TopicCatalog catalog, ILogger logger)
    {
        Group = group;
        Config = config;
        _options = options;
        _catalog = catalog;
        _logger = logger;
    }

    public string Group { get; }

    public string Name => Config.Name;

    public RestConsumerConfig Config { get; }

    /// <summary>No request running or waiting, and none for longer than <paramref name="timeoutMs"/>.</summary>
    public bool IsIdle(long now, long timeoutMs) => Volatile.Read(ref _busy) == 0 && now - Volatile.Read(ref _lastUsed) > timeoutMs;

    /// <summary>Runs <paramref name="action"/> alone on this instance; 404 (40403) once it is closed.</summary>
    public async Task<T> RunAsync<T>(Func<RestConsumerInstance, CancellationToken, Task<T>> action, CancellationToken cancellationToken)
    {
        // Counted before waiting: a request queued behind another keeps the instance from expiring.
        Interlocked.Increment(ref _busy);
        try
        {
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (_closed)
                {
                    throw RestConsumerException.NotFound();
                }

                return await action(this, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _gate.Release();
            }
        }
        finally
        {
            Volatile.Write(ref _lastUsed, Environment.TickCount64);
            Interlocked.Decrement(ref _busy);
        }
    }

    // ---- subscription and assignment ----

    public async Task SubscribeAsync(IReadOnlyList<string>? topics, Regex? pattern)
    {
        if (_assigned)
        {
            throw RestConsumerException.IllegalState("Subscription to topics, partitions and pattern are mutually exclusive.");
        }

        // KafkaConsumer subscribes once; a new subscription is a new member (a rebalance, as Kafka's resubscribe).
        await ResetAsync().ConfigureAwait(false);
        _subscribed = true;
        _pattern = pattern;
        _topics = topics ?? [];
        await RefreshPatternAsync().ConfigureAwait(false);
        if (_pattern is null)
        {
            StartSubscription(_topics);
        }
    }

    public IReadOnlyList<string> Subscription => _subscribed ? _topics : [];

    public Task UnsubscribeAsync() => ResetAsync();

    public async Task AssignAsync(IReadOnlyList<TopicPartition> partitions)
    {
        if (_subscribed)
        {
            throw RestConsumerException.IllegalState("Subscription to topics, partitions and pattern are mutually exclusive.");
        }

        if (partitions.Count == 0)
        {
            // Kafka's assign([]) is unsubscribe().
            await ResetAsync().ConfigureAwait(false);
            return;
        }

        var consumer = Consumer();
        consumer.Assign(partitions);
        _assigned = true;
        DropHeldUnless(tp => partitions.Contains(tp));
    }

    public IReadOnlyList<TopicPartition> Assignment => _consumer?.Assignment ?? [];

    // ---- positions and offsets ----

    public void Seek(IReadOnlyList<(TopicPartition Partition, long Offset)> targets)
    {
        var consumer = _consumer;
        var assigned = consumer?.Assignment.ToHashSet() ?? [];
        foreach (var (tp, _) in targets)
        {
            if (!assigned.Contains(tp))
            {
                throw RestConsumerException.IllegalState($"No current assignment for partition {tp}.");
            }
        }

        foreach (var (tp, offset) in targets)
        {
            consumer!.Seek(tp, offset);
        }

        // A held record fetched before the seek is stale. One brought after it starts at the target and is the
        // consumer's last hand-out (its position is just past it); anything else was overtaken by the seek.
        if (HeldRecord() is { } held && targets.FirstOrDefault(t => t.Partition == held.TopicPartition) is { Partition: not null } target
            && (held.Offset < target.Offset || SafePosition(consumer!, held.TopicPartition) != held.Offset + 1))
        {
            DropHeld();
        }
    }

    /// <summary>Log start (beginning) or log end (end) offsets, read from storage in process.</summary>
    public (TopicPartition Partition, long Offset)[] Boundaries(IReadOnlyList<TopicPartition> partitions, bool end)
    {
        var result = new (TopicPartition, long)[partitions.Count];
        for (int i = 0; i < partitions.Count; i++)
        {
            var log = Log(partitions[i]);
            result[i] = (partitions[i], end ? log.HighWatermark : log.LogStartOffset);
        }

        return result;
    }

    /// <summary>Throws 404 (40401/40402) for a topic or partition this broker does not have.</summary>
    public Storage.Engine.PartitionLog Log(TopicPartition tp)
    {
        if (!_catalog.TryGet(tp.Topic, out var meta))
        {
            throw new RestConsumerException(404, 40401, "Topic not found", $"Topic '{tp.Topic}' not found.");
        }

        if (tp.Partition < 0 || tp.Partition >= meta.Partitions.Length)
        {
            throw new RestConsumerException(404, 40402, "Partition not found", $"Partition {tp.Partition} of topic '{tp.Topic}' not found.");
        }

        return meta.Partitions[tp.Partition];
    }

    /// <summary>Commits the given offsets (the next offset to read) or, with null, everything returned so far.</summary>
    public async Task CommitAsync(IReadOnlyList<(TopicPartition Partition, long Offset)>? offsets, CancellationToken cancellationToken)
    {
        var consumer = Consumer();
        Dictionary<TopicPartition, long> commit = [];
        if (offsets is not null)
        {
            foreach (var (tp, offset) in offsets)
            {
                commit[tp] = offset;
            }
        }
        else
        {
            var held = HeldRecord();
            foreach (var tp in consumer.Assignment)
            {
                long? position = held is not null && held.TopicPartition == tp ? held.Offset : SafePosition(consumer, tp);
                if (position is { } p)
                {
                    commit[tp] = p;
                }
            }
        }

        await consumer.CommitAsync(commit, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyDictionary<TopicPartition, long>> CommittedAsync(IReadOnlyList<TopicPartition> partitions, CancellationToken cancellationToken) =>
        partitions.Count == 0 ? new Dictionary<TopicPartition, long>() : await Consumer().CommittedAsync(partitions, cancellationToken).ConfigureAwait(false);

    // ---- records ----

    /// <summary>
    /// Records in offset order per partition: waits up to <paramref name="timeout"/> for the first, then takes what is
    /// already there until <paramref name="maxBytes"/> (keys plus values; the first record always fits, else a large
    /// record would block the instance forever) or <see cref="RestConsumerConfig.ResponseMinBytes"/> is reached.
    /// <paramref name="accept"/> decides per record whether it can be rendered; a refused one stays held (an error
    /// when it is first, as REST Proxy fails on a record its deserializer cannot read).
    /// </summary>
    public async Task<List<ConsumeResult>> ReadAsync(TimeSpan timeout, long maxBytes, Func<ConsumeResult, string?> accept, CancellationToken cancellationToken)
    {
        if (!_subscribed && !_assigned)
        {
            throw RestConsumerException.IllegalState("Consumer is not subscribed to any topics or assigned any partitions.");
        }

        if (_pendingError is { } pending)
        {
            _pendingError = null;
            throw Failed(pending);
        }

        var records = new List<ConsumeResult>();
        await RefreshPatternAsync().ConfigureAwait(false);
        if (_consumer is null)
        {
            // A pattern matching no topic yet: wait as an empty poll would.
            await Task.Delay(timeout, cancellationToken).ConfigureAwait(false);
            return records;
        }

        long bytes = 0;
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (true)
        {
            long remaining = deadline - Environment.TickCount64;
            bool satisfied = records.Count > 0 && (Config.ResponseMinBytes <= 0 || bytes >= Config.ResponseMinBytes);
            ConsumeResult? record;
            try
            {
                record = await NextAsync(satisfied ? TimeSpan.Zero : TimeSpan.FromMilliseconds(Math.Max(0, remaining)), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is KafkaException or InvalidOperationException)
            {
                if (records.Count == 0)
                {
                    throw Failed(ex);
                }

                _pendingError = ex;
                return records;
            }

            if (record is null)
            {
                return records; // the wait ran out, or nothing more is there right now
            }

            long size = (record.Key?.Length ?? 0) + (record.Value?.Length ?? 0);
            if (records.Count > 0 && bytes + size > maxBytes)
            {
                return records; // stays held for the next request
            }

            if (accept(record) is { } refusal)
            {
                if (records.Count == 0)
                {
                    throw new RestConsumerException(500, 50002, "Deserialization failed", refusal);
                }

                return records;
            }

            TakeHeld();
            records.Add(record);
            bytes += size;
            if (bytes >= maxBytes)
            {
                return records;
            }
        }
    }

    /// <summary>The held record, else the next one within <paramref name="wait"/> (null: none in time). It stays held until <see cref="TakeHeld"/>.</summary>
    private async Task<ConsumeResult?> NextAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        if (HeldRecord() is { } held)
        {
            // One held since an earlier request: still ours only if the consumer's position is just past it.
            if (SafePosition(_consumer!, held.TopicPartition) == held.Offset + 1)
            {
                return held;
            }

            DropHeld();
        }

        if (_next is null)
        {
            _records ??= _consumer!.ConsumeAsync(CancellationToken.None).GetAsyncEnumerator(CancellationToken.None);
            _next = _records.MoveNextAsync().AsTask();
        }

        if (!_next.IsCompleted)
        {
            if (wait <= TimeSpan.Zero)
            {
                return null;
            }

            try
            {
                await _next.WaitAsync(wait, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return null;
            }
        }

        bool more;
        try
        {
            more = await _next.ConfigureAwait(false);
        }
        catch
        {
            // The enumeration ended with the error; a new one starts on the next request.
            await EndEnumerationAsync().ConfigureAwait(false);
            throw;
        }

        if (!more)
        {
            await EndEnumerationAsync().ConfigureAwait(false);
            throw new InvalidOperationException("The consumer stopped.");
        }

        return _records!.Current;
    }

    private ConsumeResult? HeldRecord() => _next is { IsCompletedSuccessfully: true, Result: true } ? _records!.Current : null;

    /// <summary>The held record was handed to the user: the next <c>MoveNextAsync</c> may run.</summary>
    private void TakeHeld() => _next = null;

    /// <summary>
    /// Forgets the held record. Its offset is already behind the consumer's position, so this is only for records
    /// the position moved away from (seek, revoke): the consumer hands out the right one again.
    /// </summary>
    private void DropHeld() => _next = null;

    private void DropHeldUnless(Func<TopicPartition, bool> keep)
    {
        if (HeldRecord() is { } held && !keep(held.TopicPartition))
        {
            DropHeld();
        }
    }

    private static long? SafePosition(KafkaConsumer consumer, TopicPartition tp)
    {
        try
        {
            return consumer.Position(tp);
        }
        catch (InvalidOperationException)
        {
            return null; // revoked meanwhile
        }
    }

    private static RestConsumerException Failed(Exception ex) => ex is KafkaException { IsRetriable: true }
        ? new RestConsumerException(500, 50003, "Retriable Kafka error", ex.Message, ex)
        : new RestConsumerException(500, 50002, "Kafka error", ex.Message, ex);

    /// <summary>Pattern subscriptions follow the topics: re-matched on every records request, a changed set rejoins.</summary>
    private async Task RefreshPatternAsync()
    {
        if (_pattern is null)
        {
            return;
        }

        var matched = _catalog.All.Where(t => !t.IsInternal && _pattern.IsMatch(t.Name)).Select(t => t.Name).ToList();
        if (_consumer is not null && matched.SequenceEqual(_topics, StringComparer.Ordinal))
        {
            return;
        }

        if (_consumer is not null)
        {
            await CloseConsumerAsync().ConfigureAwait(false);
        }

        _topics = matched;
        if (matched.Count > 0)
        {
            StartSubscription(matched);
        }
    }

    private void StartSubscription(IReadOnlyList<string> topics) => Consumer().Subscribe(topics);

    private KafkaConsumer Consumer() => _consumer ??= new KafkaConsumer(_options);

    /// <summary>Back to a fresh instance: the member leaves its group (auto commit commits on the way out).</summary>
    private async Task ResetAsync()
    {
        await CloseConsumerAsync().ConfigureAwait(false);
        _subscribed = false;
        _assigned = false;
        _pattern = null;
        _topics = [];
        _pendingError = null;
    }

    private async Task CloseConsumerAsync()
    {
        var consumer = _consumer;
        _consumer = null;
        if (consumer is null)
        {
            return;
        }

        try
        {
            // Ends the pending MoveNextAsync, if any; the enumerator can be disposed after it.
            await consumer.CloseAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is KafkaException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            LogCloseFailed(_logger, Group, Name, ex.Message);
        }

        await EndEnumerationAsync().ConfigureAwait(false);
    }

    private async Task EndEnumerationAsync()
    {
        var next = _next;
        var records = _records;
        _next = null;
        _records = null;
        if (next is not null)
        {
            try
            {
                await next.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is KafkaException or InvalidOperationException or ObjectDisposedException or OperationCanceledException)
            {
            }
        }

        if (records is not null)
        {
            try
            {
                await records.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is KafkaException or InvalidOperationException or ObjectDisposedException or OperationCanceledException)
            {
            }
        }
    }

    /// <summary>Closes the member (leaving its group) once the request in progress, if any, is done.</summary>
    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            await ResetAsync().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "REST consumer {Group}/{Instance}: close failed: {Reason}")]
    private static partial void LogCloseFailed(ILogger logger, string group, string instance, string reason);
}
