using System.Collections.Concurrent;
using OrleansMQ.Client.Cluster;
using OrleansMQ.Protocol.Batches;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Client.Producer;

/// <summary>
/// Kafka producer. <c>Produce</c> encodes the record straight into its partition's open batch (a
/// pooled buffer) and returns: no allocation per record. One I/O loop closes batches when full or
/// after <see cref="ProducerOptions.Linger"/>, sends them (one batch per partition per request, at
/// most <see cref="ProducerOptions.MaxInFlightRequestsPerConnection"/> requests per broker),
/// retries failures with the same sequence numbers (idempotence) after
/// <see cref="ProducerOptions.RetryBackoff"/>, refreshes metadata when a leader moved or a broker
/// restarted, and reports every record to its handler in order per partition. Memory is bounded
/// by <see cref="ProducerOptions.BufferMemory"/>: when it is used up, <c>Produce</c> blocks up to
/// <see cref="ProducerOptions.MaxBlock"/>, then throws <see cref="KafkaTimeoutException"/>.
/// Thread-safe.
/// </summary>
public sealed class KafkaProducer : IAsyncDisposable
{
    private static readonly TimeSpan IdlePoll = TimeSpan.FromMilliseconds(100);

    private readonly KafkaCluster _cluster;
    private readonly bool _ownsCluster;
    private readonly ProducerOptions _options;
    private readonly BufferPool _pool;
    private readonly ConcurrentDictionary<string, TopicState> _topics = new(StringComparer.Ordinal);
    private readonly Lock _topicsLock = new();
    private readonly Lock _batchPoolLock = new();
    private readonly Stack<ProducerBatch> _batchPool = new();
    private readonly Lock _nodesLock = new();
    private readonly Dictionary<int, int> _nodeInFlight = [];
    private readonly Dictionary<int, Task> _sendOrder = []; // touched by the I/O loop only
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private readonly CancellationTokenSource _stop = new();
    private readonly long _lingerMs;
    private readonly long _retryBackoffMs;
    private readonly long _deliveryTimeoutMs;
    private readonly Task _loop;
    private TopicState[] _topicList = [];
    private long _batchSerial;
    private int _wakePending;
    private int _flushing;
    private int _inFlightRequests;

    // Batches taken out of their partition's queues whose reports and release have not finished:
    // a flush is not over until they are (their handlers have run, their memory is free).
    private int _finishing;
    private volatile bool _closing;
    private volatile bool _stopped;
    private int _disposed;
    private long _producerId = -1;
    private short _producerEpoch = -1;
    private volatile bool _pidResetRequested;
    private long _batchesSent;
    private long _recordsSent;
    private long _retries;

    /// <summary>A producer with its own connections to the cluster.</summary>
    public KafkaProducer(ClientOptions clientOptions, ProducerOptions? options = null)
        : this(new KafkaCluster(clientOptions ?? throw new ArgumentNullException(nameof(clientOptions))), options, ownsCluster: true)
    {
    }

    /// <summary>A producer on a shared <see cref="KafkaCluster"/> (not disposed with the producer).</summary>
    public KafkaProducer(KafkaCluster cluster, ProducerOptions? options = null)
        : this(cluster ?? throw new ArgumentNullException(nameof(cluster)), options, ownsCluster: false)
    {
    }

    private KafkaProducer(KafkaCluster cluster, ProducerOptions? options, bool ownsCluster)
    {
        options ??= new ProducerOptions();
        options.Validate();
        _cluster = cluster;
        _ownsCluster = ownsCluster;
        _options = options;
        _pool = new BufferPool(options.BufferMemory, options.BatchSize);
        _lingerMs = (long)options.Linger.TotalMilliseconds;
        _retryBackoffMs = (long)options.RetryBackoff.TotalMilliseconds;
        _deliveryTimeoutMs = (long)Math.Min(options.DeliveryTimeout.TotalMilliseconds, long.MaxValue / 4);
        _loop = Task.Run(SendLoopAsync);
    }

    public ProducerOptions Options => _options;

    /// <summary>Bytes held in batches not yet acknowledged (at most <see cref="ProducerOptions.BufferMemory"/>).</summary>
    public long BufferedBytes => _pool.Used;

    /// <summary>Batches acknowledged (or written, with acks 0) so far.</summary>
    public long BatchesSent => Interlocked.Read(ref _batchesSent);

    /// <summary>Records acknowledged (or written, with acks 0) so far.</summary>
    public long RecordsSent => Interlocked.Read(ref _recordsSent);

    /// <summary>Batch sends that failed and were retried.</summary>
    public long Retries => Interlocked.Read(ref _retries);

    /// <summary>The idempotent producer id from InitProducerId, -1 before it or without idempotence.</summary>
    public long ProducerId => Interlocked.Read(ref _producerId);

    /// <summary>
    /// Appends a keyed record to its partition's batch (Java's murmur2 partitioner). Allocation
    /// free; blocks only while buffer memory is used up or the topic's metadata is not known yet.
    /// The outcome goes to <paramref name="onDelivery"/> (with <paramref name="state"/>).
    /// </summary>
    /// <exception cref="KafkaTimeoutException">No buffer memory or metadata within <see cref="ProducerOptions.MaxBlock"/>.</exception>
    /// <exception cref="KafkaException">MESSAGE_TOO_LARGE, or the topic cannot be produced to.</exception>
    public void Produce(string topic, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, IReadOnlyList<KeyValuePair<string, byte[]?>>? headers = null, IDeliveryHandler? onDelivery = null, object? state = null) =>
        Append(GetTopic(topic), -1, key, keyIsNull: false, value, valueIsNull: false, headers, Now(), onDelivery, state);

    /// <summary>Appends a record without a key (sticky partitioner). See the keyed overload.</summary>
    public void Produce(string topic, ReadOnlySpan<byte> value, IReadOnlyList<KeyValuePair<string, byte[]?>>? headers = null, IDeliveryHandler? onDelivery = null, object? state = null) =>
        Append(GetTopic(topic), -1, default, keyIsNull: true, value, valueIsNull: false, headers, Now(), onDelivery, state);

    /// <summary>
    /// The general form: null <paramref name="key"/> for none, null <paramref name="value"/> for a
    /// tombstone, <paramref name="partition"/> -1 to let the partitioner choose,
    /// <paramref name="timestamp"/> null for now (Unix ms).
    /// </summary>
    public void Produce(string topic, int partition, byte[]? key, byte[]? value, IReadOnlyList<KeyValuePair<string, byte[]?>>? headers, long? timestamp, IDeliveryHandler? onDelivery, object? state) =>
        Append(GetTopic(topic), partition, key, key is null, value, value is null, headers, timestamp ?? Now(), onDelivery, state);

    /// <summary>
    /// Produces one record and completes with its partition, offset and timestamp once
    /// acknowledged (allocates a task per record; use <c>Produce</c> with a handler on hot paths).
    /// Like Kafka's <c>send()</c>, the call itself blocks (at most <see cref="ProducerOptions.MaxBlock"/>)
    /// for a new topic's metadata or for buffer memory, so records keep the order of the calls.
    /// Fails with a <see cref="KafkaException"/> carrying the Kafka error code.
    /// </summary>
    public async Task<DeliveryResult> ProduceAsync(string topic, byte[]? key, byte[]? value, IReadOnlyList<KeyValuePair<string, byte[]?>>? headers = null, int partition = -1, long? timestamp = null, CancellationToken cancellationToken = default)
    {
        // Like Kafka's send(): the topic's first metadata is awaited in the call (at most MaxBlock),
        // so records keep the order of the calls even when the topic is new.
        var state = GetTopic(topic);
        var completion = new TaskCompletionSource<DeliveryResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        Append(state, partition, key, key is null, value, value is null, headers, timestamp ?? Now(), TaskDeliveryHandler.Instance, completion);
        return await completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Sends every record produced before the call without waiting for linger and completes when
    /// each has been acknowledged or has failed (failures go to their handlers).
    /// </summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        long upTo = Interlocked.Read(ref _batchSerial);
        Interlocked.Increment(ref _flushing);
        Wake();
        try
        {
            while (HasIncompleteBatches(upTo))
            {
                await Task.Delay(1, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _flushing);
        }
    }

    /// <summary>
    /// Flushes (up to <see cref="ProducerOptions.CloseTimeout"/>), fails whatever is still not
    /// delivered with <see cref="KafkaTimeoutException"/>, and closes the connections it owns.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _closing = true;
        using (var timeout = new CancellationTokenSource(_options.CloseTimeout))
        {
            try
            {
                await FlushAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Close timeout: the rest fails below.
            }
        }

        _stopped = true;
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        var closed = new KafkaTimeoutException($"The producer was closed before the record was delivered (CloseTimeout {_options.CloseTimeout.TotalMilliseconds:F0} ms).");
        FailAllQueued(closed);
        if (_ownsCluster)
        {
            await _cluster.DisposeAsync().ConfigureAwait(false); // fails the requests in flight
        }

        long deadline = Environment.TickCount64 + (long)_cluster.Options.RequestTimeout.TotalMilliseconds;
        while (Volatile.Read(ref _inFlightRequests) > 0 && Environment.TickCount64 < deadline)
        {
            await Task.Delay(5).ConfigureAwait(false);
        }

        FailAllQueued(closed);
        _stop.Dispose();
        _wake.Dispose();
    }

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private TopicState GetTopic(string topic)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return _topics.TryGetValue(topic, out var state) ? state : LoadTopicAsync(topic, CancellationToken.None).GetAwaiter().GetResult();
    }

    private async Task<TopicState> LoadTopicAsync(string topic, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        long deadline = Environment.TickCount64 + (long)_options.MaxBlock.TotalMilliseconds;
        KafkaException? last = null;
        while (true)
        {
            try
            {
                var info = await _cluster.GetTopicAsync(topic, _options.AllowAutoCreateTopics, cancellationToken).ConfigureAwait(false);
                if (info.Partitions.Count > 0)
                {
                    var state = new TopicState(topic);
                    ApplyMetadata(state, info);
                    lock (_topicsLock)
                    {
                        if (_topics.TryGetValue(topic, out var existing))
                        {
                            return existing;
                        }

                        _topics[topic] = state;
                        _topicList = [.. _topicList, state];
                        return state;
                    }
                }

                last = new KafkaException(ErrorCode.LeaderNotAvailable, $"Topic '{topic}' has no partitions yet.");
            }
            catch (KafkaException ex) when (ex.IsRetriable)
            {
                last = ex;
            }

            if (Environment.TickCount64 >= deadline)
            {
                throw new KafkaTimeoutException($"Topic '{topic}' not present in metadata after {_options.MaxBlock.TotalMilliseconds:F0} ms: {last?.Message}", last!);
            }

            await Task.Delay(TimeSpan.FromMilliseconds(Math.Max(10, _retryBackoffMs)), cancellationToken).ConfigureAwait(false);
        }
    }

    private static void ApplyMetadata(TopicState state, TopicInfo info)
    {
        int count = info.Partitions.Count;
        var leaders = new int[Math.Max(count, state.Partitions.Length)];
        Array.Fill(leaders, -1);
        foreach (var p in info.Partitions)
        {
            if (p.Partition >= 0 && p.Partition < leaders.Length)
            {
                leaders[p.Partition] = p.Error == ErrorCode.None || p.Leader >= 0 ? p.Leader : -1;
            }
        }

        if (count > state.Partitions.Length)
        {
            var partitions = new PartitionState[count];
            state.Partitions.CopyTo(partitions, 0);
            for (int i = state.Partitions.Length; i < count; i++)
            {
                partitions[i] = new PartitionState(state, i);
            }

            state.Leaders = leaders;
            state.Partitions = partitions;
        }
        else
        {
            state.Leaders = leaders;
        }

        state.MetadataAt = Environment.TickCount64;
    }

    private void Append(TopicState topic, int partition, ReadOnlySpan<byte> key, bool keyIsNull, ReadOnlySpan<byte> value, bool valueIsNull, IReadOnlyList<KeyValuePair<string, byte[]?>>? headers, long timestamp, IDeliveryHandler? onDelivery, object? state)
    {
        if (_closing)
        {
            ObjectDisposedException.ThrowIf(true, this);
        }

        var partitions = topic.Partitions;
        int count = partitions.Length;
        bool sticky = false;
        if (partition >= 0)
        {
            if (partition >= count)
            {
                throw new KafkaException(ErrorCode.UnknownTopicOrPartition, $"Topic '{topic.Name}' has {count} partitions; there is no partition {partition}.");
            }
        }
        else if (!keyIsNull)
        {
            partition = Murmur2.Partition(key, count);
        }
        else if (_options.Partitioner == PartitionerKind.RoundRobinForNullKeys)
        {
            partition = (int)((uint)Interlocked.Increment(ref topic.RoundRobin) % (uint)count);
        }
        else
        {
            sticky = true;
            partition = Volatile.Read(ref topic.Sticky);
            if (partition < 0 || partition >= count)
            {
                partition = NextSticky(topic, partition, count);
            }
        }

        int recordSize = RecordBatch.HeaderSize + ProducerBatch.RecordSize(key.Length, keyIsNull, value.Length, valueIsNull, headers, 0, 0) + 16;
        if (recordSize > _options.MaxRequestSize || recordSize > _options.BufferMemory)
        {
            throw new KafkaException(ErrorCode.MessageTooLarge, $"The record is {recordSize} bytes with the batch header, more than MaxRequestSize ({_options.MaxRequestSize}) or BufferMemory ({_options.BufferMemory}).");
        }

        byte[]? rented = null;
        bool switched = false;
        try
        {
            while (true)
            {
                var p = partitions[partition];
                bool wake = false;
                lock (p.Lock)
                {
                    var open = p.Open;
                    if (open is not null && open.TryAppend(key, keyIsNull, value, valueIsNull, headers, timestamp, onDelivery, state))
                    {
                        return;
                    }

                    if (open is not null)
                    {
                        // Full: it is ready to go.
                        open.Sealed = true;
                        p.Ready.Add(open);
                        p.Open = null;
                        wake = true;
                    }

                    if (sticky && !switched)
                    {
                        // KIP-480: the sticky partition's batch is closed (or was sent); move on.
                        switched = true;
                        partition = NextSticky(topic, partition, count);
                    }
                    else if (rented is not null)
                    {
                        var batch = RentBatch(p, rented);
                        rented = null;
                        if (!batch.TryAppend(key, keyIsNull, value, valueIsNull, headers, timestamp, onDelivery, state))
                        {
                            throw new InvalidOperationException("A record did not fit an empty batch sized for it.");
                        }

                        p.Open = batch;
                        wake = true;
                        partition = -1; // done
                    }
                }

                if (wake)
                {
                    Wake();
                }

                if (partition < 0)
                {
                    return;
                }

                if (rented is null && !(sticky && switched && partitions[partition].Open is not null))
                {
                    rented = _pool.Rent(recordSize, _options.MaxBlock)
                        ?? throw new KafkaTimeoutException($"Failed to allocate {recordSize} bytes within {_options.MaxBlock.TotalMilliseconds:F0} ms (MaxBlock): the producer's {_options.BufferMemory} bytes of BufferMemory are in batches not yet acknowledged.");
                }
            }
        }
        finally
        {
            if (rented is not null)
            {
                _pool.Return(rented);
            }
        }
    }

    private static int NextSticky(TopicState topic, int current, int count)
    {
        int next = count == 1 ? 0 : Random.Shared.Next(count - 1);
        if (count > 1 && next >= current && current >= 0)
        {
            next++;
        }

        int seen = Interlocked.CompareExchange(ref topic.Sticky, next, current);
        return seen == current ? next : (seen >= 0 && seen < count ? seen : next);
    }

    private ProducerBatch RentBatch(PartitionState partition, byte[] buffer)
    {
        ProducerBatch? batch;
        lock (_batchPoolLock)
        {
            _batchPool.TryPop(out batch);
        }

        batch ??= new ProducerBatch();
        batch.Reset(partition, buffer, Interlocked.Increment(ref _batchSerial), Environment.TickCount64);
        return batch;
    }

    private void Wake()
    {
        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            try
            {
                _wake.Release();
            }
            catch (ObjectDisposedException)
            {
                // Closed: a late answer or metadata refresh has nobody left to wake.
            }
        }
    }

    private bool HasIncompleteBatches(long upTo)
    {
        if (Volatile.Read(ref _finishing) > 0)
        {
            return true;
        }

        foreach (var topic in Volatile.Read(ref _topicList))
        {
            foreach (var p in topic.Partitions)
            {
                lock (p.Lock)
                {
                    if (p.Open is { Count: > 0 } open && open.Serial <= upTo)
                    {
                        return true;
                    }

                    foreach (var b in p.Ready)
                    {
                        if (b.Serial <= upTo)
                        {
                            return true;
                        }
                    }

                    foreach (var b in p.InFlight)
                    {
                        if (b.Serial <= upTo)
                        {
                            return true;
                        }
                    }
                }
            }
        }

        return false;
    }

    // ---------------------------------------------------------------- the I/O loop

    private async Task SendLoopAsync()
    {
        var perNode = new Dictionary<int, List<ProducerBatch>>();
        var expired = new List<ProducerBatch>();
        while (!_stopped)
        {
            Volatile.Write(ref _wakePending, 0);
            long now = Environment.TickCount64;
            long nextWake = now + (long)IdlePoll.TotalMilliseconds;
            bool sent = false;
            try
            {
                if (_options.IsIdempotent && (Interlocked.Read(ref _producerId) < 0 || _pidResetRequested) && Volatile.Read(ref _inFlightRequests) == 0)
                {
                    if (!await InitProducerIdAsync().ConfigureAwait(false))
                    {
                        nextWake = Math.Min(nextWake, now + Math.Max(10, _retryBackoffMs));
                    }
                }

                bool canSend = !_options.IsIdempotent || (Interlocked.Read(ref _producerId) >= 0 && !_pidResetRequested);
                bool drainAll = Volatile.Read(ref _flushing) > 0 || _closing;
                foreach (var topic in Volatile.Read(ref _topicList))
                {
                    if (((topic.NeedsMetadata && now - topic.MetadataAt >= _retryBackoffMs) || now - topic.MetadataAt >= (long)_cluster.Options.MetadataMaxAge.TotalMilliseconds)
                        && Interlocked.CompareExchange(ref topic.Refreshing, 1, 0) == 0)
                    {
                        // In the background: an unreachable broker must not hold up the other partitions.
                        topic.MetadataAt = now;
                        _ = RefreshTopicAsync(topic);
                    }

                    var leaders = topic.Leaders;
                    foreach (var p in topic.Partitions)
                    {
                        lock (p.Lock)
                        {
                            CollectExpired(p, now, expired);
                            if (p.Open is { } open)
                            {
                                if (open.Count > 0 && (drainAll || now - open.CreatedAt >= _lingerMs))
                                {
                                    open.Sealed = true;
                                    p.Ready.Add(open);
                                    p.Open = null;
                                }
                                else if (open.Count > 0)
                                {
                                    nextWake = Math.Min(nextWake, open.CreatedAt + _lingerMs);
                                }
                            }

                            if (p.Ready.Count == 0 || !canSend)
                            {
                                continue;
                            }

                            var batch = p.Ready[0];
                            if (batch.RetryAt > now)
                            {
                                nextWake = Math.Min(nextWake, batch.RetryAt);
                                continue;
                            }

                            if (p.Blocked ? p.InFlight.Count > 0 : p.InFlight.Count >= _options.MaxInFlightRequestsPerConnection)
                            {
                                continue;
                            }

                            int leader = p.Index < leaders.Length ? leaders[p.Index] : -1;
                            if (leader < 0)
                            {
                                topic.NeedsMetadata = true;
                                nextWake = Math.Min(nextWake, now + Math.Max(10, _retryBackoffMs));
                                continue;
                            }

                            if (!perNode.TryGetValue(leader, out var list))
                            {
                                list = [];
                                perNode[leader] = list;
                            }

                            if (list.Count == 0 && NodeInFlight(leader) >= _options.MaxInFlightRequestsPerConnection)
                            {
                                continue; // woken again when an answer comes
                            }

                            if (_options.IsIdempotent && (batch.Sequence < 0 || batch.ProducerId != Interlocked.Read(ref _producerId)))
                            {
                                batch.ProducerId = Interlocked.Read(ref _producerId);
                                batch.ProducerEpoch = _producerEpoch;
                                batch.Sequence = p.NextSequence;
                                p.NextSequence += batch.Count;
                            }

                            p.Ready.RemoveAt(0);
                            p.InFlight.Add(batch);
                            list.Add(batch);
                        }
                    }
                }

                foreach (var (node, list) in perNode)
                {
                    if (list.Count > 0)
                    {
                        var batches = list.ToArray();
                        list.Clear();
                        AddNodeInFlight(node, 1);
                        Interlocked.Increment(ref _inFlightRequests);
                        // Requests to a broker must reach its socket in the order they were made
                        // (a partition's batches are in that order and, without idempotence, the
                        // broker appends them as they arrive): each send waits until the previous
                        // one to that broker has queued its write.
                        var previous = _sendOrder.GetValueOrDefault(node) ?? Task.CompletedTask;
                        var issued = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                        _sendOrder[node] = issued.Task;
                        _ = SendAsync(node, batches, previous, issued);
                        sent = true;
                    }
                }
            }
#pragma warning disable CA1031 // The loop must survive anything; batches keep their own deadlines.
            catch (Exception)
#pragma warning restore CA1031
            {
                nextWake = Math.Min(nextWake, now + Math.Max(10, _retryBackoffMs));
            }

            foreach (var batch in expired)
            {
                FailBatch(batch, new KafkaTimeoutException($"Expiring {batch.Count} record(s) for {batch.Partition.Topic.Name}-{batch.Partition.Index}: {_options.DeliveryTimeout.TotalMilliseconds:F0} ms (DeliveryTimeout) passed since the batch was created.{(batch.LastError is null ? "" : " Last error: " + batch.LastError.Message)}", batch.LastError ?? new KafkaTimeoutException()));
            }

            expired.Clear();
            if (sent)
            {
                continue;
            }

            long delay = nextWake - Environment.TickCount64;
            if (delay > 0)
            {
                try
                {
                    await _wake.WaitAsync((int)Math.Min(delay, int.MaxValue), _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    private void CollectExpired(PartitionState p, long now, List<ProducerBatch> expired)
    {
        for (int i = 0; i < p.Ready.Count; i++)
        {
            var batch = p.Ready[i];
            if (now - batch.CreatedAt >= _deliveryTimeoutMs)
            {
                p.Ready.RemoveAt(i--);
                Interlocked.Increment(ref _finishing);
                expired.Add(batch);
            }
        }

        if (p.Open is { Count: > 0 } open && now - open.CreatedAt >= _deliveryTimeoutMs)
        {
            p.Open = null;
            Interlocked.Increment(ref _finishing);
            expired.Add(open);
        }
    }

    private async Task RefreshTopicAsync(TopicState topic)
    {
        try
        {
            _cluster.InvalidateTopic(topic.Name);
            var info = await _cluster.GetTopicAsync(topic.Name, _options.AllowAutoCreateTopics).ConfigureAwait(false);
            ApplyMetadata(topic, info);
            topic.NeedsMetadata = false;
        }
        catch (Exception ex) when (ex is KafkaException or ObjectDisposedException)
        {
            topic.NeedsMetadata = true; // tried again after RetryBackoff
        }
        finally
        {
            topic.MetadataAt = Environment.TickCount64;
            Volatile.Write(ref topic.Refreshing, 0);
            Wake();
        }
    }

    private async Task<bool> InitProducerIdAsync()
    {
        try
        {
            var response = await _cluster.SendToAnyAsync<InitProducerIdRequest, InitProducerIdResponse>(
                new InitProducerIdRequest { TransactionalId = null, TransactionTimeoutMs = int.MaxValue }).ConfigureAwait(false);
            if (response.ErrorCode != ErrorCode.None)
            {
                return false;
            }

            _producerEpoch = response.ProducerEpoch;
            Interlocked.Exchange(ref _producerId, response.ProducerId);
            foreach (var topic in Volatile.Read(ref _topicList))
            {
                foreach (var p in topic.Partitions)
                {
                    lock (p.Lock)
                    {
                        p.NextSequence = 0;
                        p.AckedSequenceEnd = 0;
                        p.Blocked = false;
                        foreach (var b in p.Ready)
                        {
                            b.Sequence = -1;
                        }
                    }
                }
            }

            _pidResetRequested = false;
            return true;
        }
        catch (KafkaException)
        {
            return false;
        }
    }

    private int NodeInFlight(int node)
    {
        lock (_nodesLock)
        {
            return _nodeInFlight.GetValueOrDefault(node);
        }
    }

    private void AddNodeInFlight(int node, int delta)
    {
        lock (_nodesLock)
        {
            _nodeInFlight[node] = _nodeInFlight.GetValueOrDefault(node) + delta;
        }
    }

    private async Task SendAsync(int node, ProducerBatch[] batches, Task previous, TaskCompletionSource issued)
    {
        KafkaException? failure = null;
        ProduceResponse? response = null;
        try
        {
            var request = new ProduceRequest
            {
                Acks = (short)_options.Acks,
                TimeoutMs = (int)Math.Min(_cluster.Options.RequestTimeout.TotalMilliseconds, int.MaxValue),
            };
            foreach (var batch in batches)
            {
                batch.Attempts++;
                batch.Compress(_options.Compression);
                var records = batch.Prepare(_options.Compression);
                string name = batch.Partition.Topic.Name;
                var topic = request.Topics.Find(t => t.Name == name);
                if (topic is null)
                {
                    topic = new ProduceRequest.Topic { Name = name };
                    request.Topics.Add(topic);
                }

                topic.Partitions.Add(new ProduceRequest.Partition { Index = batch.Partition.Index, Records = records });
            }

            await previous.ConfigureAwait(false);
            var connection = await _cluster.GetConnectionAsync(node).ConfigureAwait(false);
            // The connection queues the write synchronously (its write lock is FIFO), so once the
            // call returns the next send may go.
            if (_options.Acks == Acks.None)
            {
                var written = connection.SendWithoutResponseAsync(request);
                issued.TrySetResult();
                await written.ConfigureAwait(false);
            }
            else
            {
                var answered = connection.SendAsync<ProduceRequest, ProduceResponse>(request);
                issued.TrySetResult();
                response = await answered.ConfigureAwait(false);
            }
        }
        catch (KafkaException ex)
        {
            failure = ex;
        }
        catch (Exception ex) when (ex is ObjectDisposedException or IOException or OperationCanceledException)
        {
            failure = new KafkaConnectionException($"Sending to broker {node} failed: {ex.Message}", ex);
        }
        finally
        {
            issued.TrySetResult();
            AddNodeInFlight(node, -1);
        }

        try
        {
            foreach (var batch in batches)
            {
                if (failure is not null)
                {
                    OnBatchError(batch, failure);
                    continue;
                }

                if (response is null)
                {
                    OnBatchSuccess(batch, -1, -1);
                    continue;
                }

                var answer = Find(response, batch.Partition.Topic.Name, batch.Partition.Index);
                if (answer is null)
                {
                    OnBatchError(batch, new KafkaException(ErrorCode.NetworkException, $"Broker {node} did not answer for {batch.Partition.Topic.Name}-{batch.Partition.Index}."));
                }
                else if (answer.ErrorCode is ErrorCode.None or ErrorCode.DuplicateSequenceNumber)
                {
                    OnBatchSuccess(batch, answer.BaseOffset, answer.LogAppendTimeMs);
                }
                else
                {
                    string detail = answer.ErrorMessage ?? (answer.RecordErrors.Count > 0 ? answer.RecordErrors[0].BatchIndexErrorMessage : null) ?? "";
                    OnBatchError(batch, new KafkaException(answer.ErrorCode, $"Produce to {batch.Partition.Topic.Name}-{batch.Partition.Index} failed: {answer.ErrorCode}{(detail.Length > 0 ? " - " + detail : "")}"));
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref _inFlightRequests);
            Wake();
        }
    }

    private static ProduceResponse.Partition? Find(ProduceResponse response, string topic, int partition)
    {
        foreach (var t in response.Topics)
        {
            if (t.Name == topic)
            {
                foreach (var p in t.Partitions)
                {
                    if (p.Index == partition)
                    {
                        return p;
                    }
                }
            }
        }

        return null;
    }

    private void OnBatchSuccess(ProducerBatch batch, long baseOffset, long logAppendTime)
    {
        var p = batch.Partition;
        lock (p.Lock)
        {
            p.InFlight.Remove(batch);
            Interlocked.Increment(ref _finishing);
            if (_options.IsIdempotent && batch.ProducerId == Interlocked.Read(ref _producerId) && batch.Sequence >= 0)
            {
                p.AckedSequenceEnd = Math.Max(p.AckedSequenceEnd, batch.Sequence + batch.Count);
            }

            if (p.Blocked && p.InFlight.Count == 0)
            {
                p.Blocked = false;
            }
        }

        Interlocked.Increment(ref _batchesSent);
        Interlocked.Add(ref _recordsSent, batch.Count);
        Finish(batch, baseOffset, logAppendTime, null);
    }

    private void OnBatchError(ProducerBatch batch, KafkaException error)
    {
        var p = batch.Partition;
        long now = Environment.TickCount64;
        var code = error.ErrorCode;
        bool sequenceError = code is ErrorCode.OutOfOrderSequenceNumber or ErrorCode.UnknownProducerId or ErrorCode.InvalidProducerEpoch;
        bool retriable = error.IsRetriable || (_options.IsIdempotent && sequenceError);
        if (error is KafkaConnectionException or KafkaTimeoutException || code is ErrorCode.NotLeaderOrFollower or ErrorCode.UnknownTopicOrPartition
            or ErrorCode.LeaderNotAvailable or ErrorCode.FencedLeaderEpoch or ErrorCode.UnknownLeaderEpoch or ErrorCode.NetworkException)
        {
            p.Topic.NeedsMetadata = true;
        }

        bool expired = now + _retryBackoffMs - batch.CreatedAt >= _deliveryTimeoutMs;
        if (retriable && !expired && !_stopped && batch.Attempts <= _options.Retries)
        {
            lock (p.Lock)
            {
                if (sequenceError && batch.ProducerId == Interlocked.Read(ref _producerId) && batch.Sequence == p.AckedSequenceEnd)
                {
                    // The first unacknowledged batch itself is refused: the broker lost (or fenced)
                    // our producer state. Start over with a new producer id, as Kafka does.
                    _pidResetRequested = true;
                }

                p.InFlight.Remove(batch);
                batch.LastError = error;
                batch.RetryAt = now + _retryBackoffMs;
                p.Requeue(batch);
                p.Blocked = true;
            }

            Interlocked.Increment(ref _retries);
            return;
        }

        if (_stopped)
        {
            error = new KafkaTimeoutException($"The producer was closed before {batch.Count} record(s) for {p.Topic.Name}-{p.Index} were delivered. Last error: {error.Message}", error);
        }
        else if (expired && retriable)
        {
            error = new KafkaTimeoutException($"Expiring {batch.Count} record(s) for {p.Topic.Name}-{p.Index}: {_options.DeliveryTimeout.TotalMilliseconds:F0} ms (DeliveryTimeout) passed since the batch was created. Last error: {error.Message}", error);
        }

        lock (p.Lock)
        {
            p.InFlight.Remove(batch);
            Interlocked.Increment(ref _finishing);
            if (p.InFlight.Count == 0)
            {
                p.Blocked = false;
            }
        }

        FailBatch(batch, error);
    }

    private void FailBatch(ProducerBatch batch, KafkaException error)
    {
        var p = batch.Partition;
        if (_options.IsIdempotent && batch.Sequence >= 0 && batch.ProducerId == Interlocked.Read(ref _producerId))
        {
            // Its sequence numbers will never be appended: later batches would be out of order.
            _pidResetRequested = true;
        }

        Finish(batch, -1, -1, error);
    }

    /// <summary>
    /// Reports and releases a batch its caller took out of the partition's queues (counting it in
    /// <see cref="_finishing"/> under the partition lock). The buffer memory is freed first, so
    /// code woken by a report sees it free; a flush ends only after this returns.
    /// </summary>
    private void Finish(ProducerBatch batch, long baseOffset, long logAppendTime, KafkaException? error)
    {
        var p = batch.Partition; // TakeBuffer forgets it
        _pool.Return(batch.TakeBuffer());
        try
        {
            batch.Complete(p.Topic.Name, p.Index, baseOffset, logAppendTime, error);
        }
        finally
        {
            lock (_batchPoolLock)
            {
                _batchPool.Push(batch);
            }

            Interlocked.Decrement(ref _finishing);
        }
    }

    private void FailAllQueued(KafkaException error)
    {
        var failed = new List<ProducerBatch>();
        foreach (var topic in Volatile.Read(ref _topicList))
        {
            foreach (var p in topic.Partitions)
            {
                lock (p.Lock)
                {
                    if (p.Open is { } open)
                    {
                        p.Open = null;
                        failed.Add(open);
                        Interlocked.Increment(ref _finishing);
                    }

                    Interlocked.Add(ref _finishing, p.Ready.Count);
                    failed.AddRange(p.Ready);
                    p.Ready.Clear();
                }
            }
        }

        foreach (var batch in failed)
        {
            FailBatch(batch, error);
        }
    }

    private sealed class TaskDeliveryHandler : IDeliveryHandler
    {
        public static readonly TaskDeliveryHandler Instance = new();

        public void OnDelivery(in DeliveryReport report)
        {
            var completion = (TaskCompletionSource<DeliveryResult>)report.State!;
            if (report.Error is null)
            {
                completion.TrySetResult(report.Result);
            }
            else
            {
                completion.TrySetException(report.Error);
            }
        }
    }
}
