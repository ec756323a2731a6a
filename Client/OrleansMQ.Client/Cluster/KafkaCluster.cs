using System.Collections.Concurrent;
using OrleansMQ.Client.Network;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Client.Cluster;

/// <summary>A partition as metadata describes it.</summary>
public sealed record PartitionInfo(int Partition, int Leader, ErrorCode Error);

/// <summary>A topic as metadata describes it.</summary>
public sealed record TopicInfo(string Name, bool IsInternal, IReadOnlyList<PartitionInfo> Partitions);

/// <summary>One metadata answer: brokers and topics, and when it was fetched.</summary>
public sealed record ClusterMetadata(string? ClusterId, int ControllerId, IReadOnlyDictionary<int, BrokerAddress> Brokers, IReadOnlyDictionary<string, TopicInfo> Topics, DateTimeOffset FetchedAt);

/// <summary>
/// What the producer, consumer and admin client share: one connection per broker (opened on
/// demand, reopened with exponential backoff after a failure), the bootstrap list, cached topic
/// metadata (refreshed when stale, unknown or reported wrong by a broker) and group coordinators.
/// Broker restarts are survived by reconnecting on the next request.
/// </summary>
public sealed class KafkaCluster : IAsyncDisposable
{
    private readonly IReadOnlyList<BrokerAddress> _bootstrap;
    private readonly ConcurrentDictionary<int, Node> _nodes = new();
    private readonly ConcurrentDictionary<string, TopicInfo> _topics = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _coordinators = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _metadataLock = new(1, 1);
    private readonly TimeProvider _time;
    private ClusterMetadata? _metadata;
    private Dictionary<string, ErrorCode> _lastTopicErrors = new(StringComparer.Ordinal);
    private int _nextBootstrap;
    private int _disposed;

    public KafkaCluster(ClientOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        _time = time ?? TimeProvider.System;
        _bootstrap = BrokerAddress.ParseList(options.BootstrapServers);
    }

    public ClientOptions Options { get; }

    /// <summary>The last metadata answer, or null before the first.</summary>
    public ClusterMetadata? Metadata => _metadata;

    /// <summary>The connection to broker <paramref name="nodeId"/> (opened if needed).</summary>
    public Task<KafkaConnection> GetConnectionAsync(int nodeId, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (!_nodes.TryGetValue(nodeId, out var node))
        {
            var address = _metadata?.Brokers.GetValueOrDefault(nodeId)
                ?? throw new KafkaException(ErrorCode.LeaderNotAvailable, $"Broker {nodeId} is not in the metadata.");
            node = _nodes.GetOrAdd(nodeId, id => new Node(id, address));
        }

        return node.GetAsync(this, cancellationToken);
    }

    /// <summary>A connection to any broker: a live one if there is one, else the bootstrap list in turn.</summary>
    public async Task<KafkaConnection> GetAnyConnectionAsync(CancellationToken cancellationToken = default)
    {
        foreach (var node in _nodes.Values)
        {
            if (node.TryGetLive(out var live))
            {
                return live;
            }
        }

        Exception? last = null;
        int known = _metadata?.Brokers.Count ?? 0;
        for (int attempt = 0; attempt < _bootstrap.Count + known; attempt++)
        {
            try
            {
                if (attempt < known)
                {
                    return await GetConnectionAsync(_metadata!.Brokers.Keys.ElementAt(attempt), cancellationToken).ConfigureAwait(false);
                }

                int index = (int)((uint)Interlocked.Increment(ref _nextBootstrap) % (uint)_bootstrap.Count);
                // Bootstrap connections get ids below -1 so they never collide with broker ids.
                var node = _nodes.GetOrAdd(-2 - index, id => new Node(id, _bootstrap[index]));
                return await node.GetAsync(this, cancellationToken).ConfigureAwait(false);
            }
            catch (KafkaException ex) when (ex.IsRetriable)
            {
                last = ex;
            }
        }

        throw new KafkaConnectionException($"No broker reachable (bootstrap {Options.BootstrapServers}): {last?.Message}", last!);
    }

    /// <summary>Sends to any broker, retrying once on another connection when the first one is broken.</summary>
    public async Task<TResponse> SendToAnyAsync<TRequest, TResponse>(TRequest request, CancellationToken cancellationToken = default)
        where TRequest : IKafkaMessage<TRequest>
        where TResponse : IKafkaMessage<TResponse>
    {
        for (int attempt = 0; ; attempt++)
        {
            var connection = await GetAnyConnectionAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                return await connection.SendAsync<TRequest, TResponse>(request, cancellationToken).ConfigureAwait(false);
            }
            catch (KafkaConnectionException) when (attempt == 0)
            {
                // A connection that broke (broker restart): the next attempt opens a new one.
            }
        }
    }

    /// <summary>A broker address as answered by the cluster, through <see cref="ClientOptions.BrokerAddressMap"/>.</summary>
    private BrokerAddress Advertised(string host, int port) =>
        Options.BrokerAddressMap is { } map ? map(new BrokerAddress(host, port)) : new BrokerAddress(host, port);

    /// <summary>Fetches metadata for <paramref name="topics"/> (all topics when null) and caches it.</summary>
    public async Task<ClusterMetadata> RefreshMetadataAsync(IReadOnlyCollection<string>? topics, bool allowAutoCreate = false, CancellationToken cancellationToken = default)
    {
        var request = new MetadataRequest { Topics = topics?.ToList(), AllowAutoTopicCreation = allowAutoCreate };
        var response = await SendToAnyAsync<MetadataRequest, MetadataResponse>(request, cancellationToken).ConfigureAwait(false);
        var brokers = response.Brokers.ToDictionary(b => b.NodeId, b => Advertised(b.Host, b.Port));
        var topicInfos = new Dictionary<string, TopicInfo>(StringComparer.Ordinal);
        foreach (var t in response.Topics)
        {
            if (t.ErrorCode != ErrorCode.None)
            {
                _topics.TryRemove(t.Name, out _);
                continue;
            }

            var info = new TopicInfo(t.Name, t.IsInternal, t.Partitions.OrderBy(p => p.PartitionIndex).Select(p => new PartitionInfo(p.PartitionIndex, p.LeaderId, p.ErrorCode)).ToList());
            topicInfos[t.Name] = info;
            _topics[t.Name] = info;
        }

        await _metadataLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var (id, address) in brokers)
            {
                if (_nodes.TryGetValue(id, out var node) && node.Address != address)
                {
                    // The broker moved: drop the old connection.
                    _nodes.TryRemove(id, out _);
                    await node.DisposeAsync().ConfigureAwait(false);
                }
            }

            _metadata = new ClusterMetadata(response.ClusterId, response.ControllerId, brokers, topicInfos, _time.GetUtcNow());
        }
        finally
        {
            _metadataLock.Release();
        }

        // Topics errors are reported to the caller through the answer.
        _lastTopicErrors = response.Topics.Where(t => t.ErrorCode != ErrorCode.None).ToDictionary(t => t.Name, t => t.ErrorCode, StringComparer.Ordinal);
        return _metadata;
    }

    /// <summary>
    /// The topic's partitions and leaders from the cache, or from a metadata request when unknown
    /// or older than <see cref="ClientOptions.MetadataMaxAge"/>. Throws with the broker's error
    /// (UNKNOWN_TOPIC_OR_PARTITION, INVALID_TOPIC_EXCEPTION ...) when the topic is not there.
    /// </summary>
    public async Task<TopicInfo> GetTopicAsync(string topic, bool allowAutoCreate = false, CancellationToken cancellationToken = default)
    {
        bool fresh = _metadata is { } m && _time.GetUtcNow() - m.FetchedAt < Options.MetadataMaxAge;
        if (fresh && _topics.TryGetValue(topic, out var cached))
        {
            return cached;
        }

        await RefreshMetadataAsync([topic], allowAutoCreate, cancellationToken).ConfigureAwait(false);
        if (_topics.TryGetValue(topic, out var info))
        {
            return info;
        }

        var error = _lastTopicErrors.GetValueOrDefault(topic, ErrorCode.UnknownTopicOrPartition);
        throw new KafkaException(error, $"Topic '{topic}': {error}.");
    }

    /// <summary>Forgets a topic's cached metadata (after NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION ...).</summary>
    public void InvalidateTopic(string topic) => _topics.TryRemove(topic, out _);

    /// <summary>The group's coordinator (FindCoordinator, cached until <see cref="InvalidateCoordinator"/>).</summary>
    public async Task<KafkaConnection> GetCoordinatorAsync(string groupId, CancellationToken cancellationToken = default)
    {
        if (!_coordinators.TryGetValue(groupId, out int nodeId))
        {
            var response = await SendToAnyAsync<FindCoordinatorRequest, FindCoordinatorResponse>(new FindCoordinatorRequest { Key = groupId }, cancellationToken).ConfigureAwait(false);
            KafkaException.ThrowIfError(response.ErrorCode, response.ErrorMessage, $"FindCoordinator for group '{groupId}'");
            nodeId = response.NodeId;
            var address = Advertised(response.Host, response.Port);
            if (!_nodes.TryGetValue(nodeId, out var node) || node.Address != address)
            {
                _nodes[nodeId] = new Node(nodeId, address);
            }

            _coordinators[groupId] = nodeId;
        }

        return await GetConnectionAsync(nodeId, cancellationToken).ConfigureAwait(false);
    }

    public void InvalidateCoordinator(string groupId) => _coordinators.TryRemove(groupId, out _);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (var node in _nodes.Values)
        {
            await node.DisposeAsync().ConfigureAwait(false);
        }

        _nodes.Clear();
        _metadataLock.Dispose();
    }

    /// <summary>One broker: its current connection (or the attempt to open one) and its reconnect backoff.</summary>
    private sealed class Node(int id, BrokerAddress address) : IAsyncDisposable
    {
        private readonly Lock _lock = new();
        private Task<KafkaConnection>? _connecting;
        private int _failures;
        private long _retryAtTicks;

        public int Id { get; } = id;

        public BrokerAddress Address { get; } = address;

        public bool TryGetLive(out KafkaConnection connection)
        {
            var task = _connecting;
            if (task is { IsCompletedSuccessfully: true } && task.Result.IsAlive)
            {
                connection = task.Result;
                return true;
            }

            connection = null!;
            return false;
        }

        public Task<KafkaConnection> GetAsync(KafkaCluster cluster, CancellationToken cancellationToken)
        {
            lock (_lock)
            {
                var current = _connecting;
                if (current is not null && (!current.IsCompleted || (current.IsCompletedSuccessfully && current.Result.IsAlive)))
                {
                    return current;
                }

                if (current is { IsCompletedSuccessfully: true })
                {
                    _ = current.Result.DisposeAsync().AsTask();
                }

                _connecting = ConnectAsync(cluster, cancellationToken);
                return _connecting;
            }
        }

        private async Task<KafkaConnection> ConnectAsync(KafkaCluster cluster, CancellationToken cancellationToken)
        {
            long wait = Volatile.Read(ref _retryAtTicks) - cluster._time.GetTimestamp();
            if (wait > 0)
            {
                await Task.Delay(TimeSpan.FromTicks(Math.Min(wait * TimeSpan.TicksPerSecond / cluster._time.TimestampFrequency, cluster.Options.ReconnectBackoffMax.Ticks)), cluster._time, cancellationToken).ConfigureAwait(false);
            }

            try
            {
                var connection = await KafkaConnection.ConnectAsync(Address, Id, cluster.Options, cancellationToken).ConfigureAwait(false);
                Volatile.Write(ref _failures, 0);
                return connection;
            }
            catch (KafkaException)
            {
                int failures = Interlocked.Increment(ref _failures);
                double backoffMs = Math.Min(cluster.Options.ReconnectBackoff.TotalMilliseconds * Math.Pow(2, failures - 1), cluster.Options.ReconnectBackoffMax.TotalMilliseconds);
                Volatile.Write(ref _retryAtTicks, cluster._time.GetTimestamp() + (long)(backoffMs / 1000 * cluster._time.TimestampFrequency));
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            Task<KafkaConnection>? task;
            lock (_lock)
            {
                task = _connecting;
                _connecting = null;
            }

            if (task is { IsCompletedSuccessfully: true })
            {
                await task.Result.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
