using Microsoft.Extensions.Logging;
using OrleansMQ.Client;
using OrleansMQ.Client.Network;
using OrleansMQ.Protocol.Batches;
using OrleansMQ.Protocol.Kafka;
using OrleansMQ.Silo.Cluster;
using OrleansMQ.Silo.Topics;
using OrleansMQ.Storage;
using OrleansMQ.Storage.Engine;

namespace OrleansMQ.Silo.Replication;

/// <summary>
/// Copies one leader's partitions to this silo, as Kafka's replica fetcher thread: one connection
/// to the leader's Kafka port, Fetch requests with this broker's id as replica id (the leader
/// counts the fetch offset as this follower's log end and answers with its high watermark), and
/// the RecordBatch bytes appended as they came, at the offsets they carry. Before fetching a
/// partition under a new leader epoch it asks the leader where its own latest epoch ended
/// (OffsetForLeaderEpoch) and truncates a divergent tail.
/// </summary>
internal sealed partial class ReplicaFetcher : IAsyncDisposable
{
    private readonly int _leader;
    private readonly ReplicationSettings _settings;
    private readonly BrokerDirectory _brokers;
    private readonly StorageEngine _storage;
    private readonly ILogger _logger;
    private readonly Dictionary<PartitionReplica, FetchState> _partitions = [];
    private readonly SemaphoreSlim _signal = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private KafkaConnection? _connection;

    public ReplicaFetcher(int leader, ReplicationSettings settings, BrokerDirectory brokers, StorageEngine storage, ILogger logger)
    {
        _leader = leader;
        _settings = settings;
        _brokers = brokers;
        _storage = storage;
        _logger = logger;
        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    public int Leader => _leader;

    public int Count
    {
        get
        {
            lock (_partitions)
            {
                return _partitions.Count;
            }
        }
    }

    /// <summary>Starts (or restarts, after a new leader epoch) copying <paramref name="replica"/>: truncation first.</summary>
    public void Add(PartitionReplica replica)
    {
        lock (_partitions)
        {
            _partitions[replica] = new FetchState(replica.LeaderEpoch);
        }

        Wake();
    }

    public void Remove(PartitionReplica replica)
    {
        lock (_partitions)
        {
            _partitions.Remove(replica);
        }
    }

    /// <summary>The broker directory changed: a leader that could not be found may be now.</summary>
    public void Wake()
    {
        if (_signal.CurrentCount == 0)
        {
            try
            {
                _signal.Release();
            }
            catch (SemaphoreFullException)
            {
            }
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var backoff = TimeSpan.FromMilliseconds(100);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var work = Snapshot();
                if (work.Count == 0)
                {
                    await _signal.WaitAsync(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
                    continue;
                }

                var connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
                if (connection is null)
                {
                    await _signal.WaitAsync(backoff, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                await TruncateAsync(connection, work, cancellationToken).ConfigureAwait(false);
                if (!await FetchAsync(connection, work, cancellationToken).ConfigureAwait(false))
                {
                    // Nothing could be fetched (every partition waits for a newer state): do not spin.
                    await _signal.WaitAsync(backoff, cancellationToken).ConfigureAwait(false);
                }

                backoff = TimeSpan.FromMilliseconds(100);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is KafkaException or IOException or StorageException or InvalidOperationException or TimeoutException)
            {
                LogFetchFailed(_logger, _leader, ex.Message);
                await DropConnectionAsync().ConfigureAwait(false);
                try
                {
                    await _signal.WaitAsync(backoff, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                backoff = TimeSpan.FromMilliseconds(Math.Min(backoff.TotalMilliseconds * 2, 2000));
            }
        }
    }

    private List<(PartitionReplica Replica, FetchState State)> Snapshot()
    {
        lock (_partitions)
        {
            return [.. _partitions.Select(kv => (kv.Key, kv.Value))];
        }
    }

    private async Task<KafkaConnection?> ConnectAsync(CancellationToken cancellationToken)
    {
        if (_connection is { IsAlive: true } alive)
        {
            return alive;
        }

        await DropConnectionAsync().ConfigureAwait(false);
        if (_brokers.Find(_leader) is not { } broker)
        {
            return null;
        }

        var options = new ClientOptions { ClientId = "omq-replica-" + _settings.NodeId, RequestTimeout = TimeSpan.FromMilliseconds(_settings.ReplicaFetchWaitMaxMs + 10_000), ConnectTimeout = TimeSpan.FromSeconds(3) };
        _connection = await KafkaConnection.ConnectAsync(new BrokerAddress(broker.Host, broker.Port), _leader, options, cancellationToken).ConfigureAwait(false);
        return _connection;
    }

    private async Task DropConnectionAsync()
    {
        if (_connection is { } c)
        {
            _connection = null;
            await c.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// For partitions that start following (a new leader epoch): asks the leader where this
    /// replica's latest epoch ends and truncates everything past it, so a former leader drops the
    /// records it appended that the new leader never got (they were never acknowledged with acks=all).
    /// </summary>
    private async Task TruncateAsync(KafkaConnection connection, List<(PartitionReplica Replica, FetchState State)> work, CancellationToken cancellationToken)
    {
        var pending = work.Where(w => !w.State.Truncated && w.Replica.LeaderEpoch == w.State.LeaderEpoch).ToList();
        if (pending.Count == 0)
        {
            return;
        }

        var request = new OffsetForLeaderEpochRequest { ReplicaId = _settings.NodeId };
        foreach (var group in pending.GroupBy(w => w.Replica.Topic))
        {
            var topic = new OffsetForLeaderEpochRequest.Topic { Name = group.Key };
            foreach (var (replica, _) in group)
            {
                topic.Partitions.Add(new OffsetForLeaderEpochRequest.Partition
                {
                    PartitionIndex = replica.Partition,
                    CurrentLeaderEpoch = replica.LeaderEpoch,
                    LeaderEpoch = _storage.LatestLeaderEpoch(replica.Log),
                });
            }

            request.Topics.Add(topic);
        }

        var response = await connection.SendAsync<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>(request, cancellationToken).ConfigureAwait(false);
        foreach (var t in response.Topics)
        {
            foreach (var p in t.Partitions)
            {
                var match = pending.Find(w => w.Replica.Topic == t.Name && w.Replica.Partition == p.PartitionIndex);
                if (match.Replica is not { } replica)
                {
                    continue;
                }

                if (p.ErrorCode != ErrorCode.None)
                {
                    LogTruncationRefused(_logger, replica.Topic, replica.Partition, _leader, p.ErrorCode);
                    continue;
                }

                long end = replica.Log.LogEndOffset;
                // -1: the leader knows no epoch at or below ours (its history starts later): keep what we have.
                if (p.EndOffset >= 0 && p.EndOffset < end)
                {
                    LogTruncating(_logger, replica.Topic, replica.Partition, end, p.EndOffset, _storage.LatestLeaderEpoch(replica.Log), p.LeaderEpoch);
                    _storage.TruncateTo(replica.Log, p.EndOffset);
                }

                match.State.Truncated = true;
            }
        }
    }

    /// <summary>One Fetch for every truncated partition; appends what came. False when nothing was asked.</summary>
    private async Task<bool> FetchAsync(KafkaConnection connection, List<(PartitionReplica Replica, FetchState State)> work, CancellationToken cancellationToken)
    {
        var ready = work.Where(w => w.State.Truncated && w.Replica.Role == ReplicaRole.Follower && w.Replica.LeaderEpoch == w.State.LeaderEpoch).ToList();
        if (ready.Count == 0)
        {
            return false;
        }

        var request = new FetchRequest
        {
            ReplicaId = _settings.NodeId,
            MaxWaitMs = _settings.ReplicaFetchWaitMaxMs,
            MinBytes = 1,
            MaxBytes = _settings.ReplicaFetchMaxBytes,
            IsolationLevel = 0,
            SessionId = 0,
            SessionEpoch = -1,
        };
        foreach (var group in ready.GroupBy(w => w.Replica.Topic))
        {
            var topic = new FetchRequest.Topic { Name = group.Key };
            foreach (var (replica, _) in group)
            {
                topic.Partitions.Add(new FetchRequest.Partition
                {
                    PartitionIndex = replica.Partition,
                    CurrentLeaderEpoch = replica.LeaderEpoch,
                    FetchOffset = replica.Log.LogEndOffset,
                    LogStartOffset = replica.Log.LogStartOffset,
                    PartitionMaxBytes = _settings.ReplicaFetchMaxBytes,
                });
            }

            request.Topics.Add(topic);
        }

        var response = await connection.SendAsync<FetchRequest, FetchResponse>(request, cancellationToken).ConfigureAwait(false);
        bool progress = false;
        foreach (var t in response.Topics)
        {
            foreach (var p in t.Partitions)
            {
                var match = ready.Find(w => w.Replica.Topic == t.Name && w.Replica.Partition == p.PartitionIndex);
                if (match.Replica is { } replica)
                {
                    progress |= await ApplyAsync(replica, p).ConfigureAwait(false);
                }
            }
        }

        return progress;
    }

    /// <summary>Appends one partition's answer. False when the leader refused it (the loop backs off; a newer state or the leader catching up ends it).</summary>
    private async Task<bool> ApplyAsync(PartitionReplica replica, FetchResponse.Partition answer)
    {
        if (answer.ErrorCode != ErrorCode.None)
        {
            // NOT_LEADER_OR_FOLLOWER / FENCED_LEADER_EPOCH: this silo is behind on leadership;
            // UNKNOWN_LEADER_EPOCH: the leader is. Either way the next published state settles it.
            LogFetchRefused(_logger, replica.Topic, replica.Partition, _leader, answer.ErrorCode, replica.LeaderEpoch);
            return false;
        }

        if (answer.Records is { Length: > 0 } records)
        {
            // Only whole batches (a leader never sends a partial one, but a length is checked, not trusted).
            int whole = WholeBatches(records.Span);
            if (whole > 0)
            {
                await _storage.AppendReplicaAsync(replica.Log, records.Span[..whole]).ConfigureAwait(false);
            }
        }

        replica.OnLeaderHighWatermark(answer.HighWatermark);

        // The leader's DeleteRecords moved its log start: follow it (bounded by what this silo
        // holds), so a follower that becomes leader does not serve records the user deleted.
        if (answer.LogStartOffset > replica.Log.LogStartOffset)
        {
            long target = Math.Min(answer.LogStartOffset, replica.Log.HighWatermark);
            if (target > replica.Log.LogStartOffset)
            {
                _storage.DeleteRecordsBefore(replica.Log, target);
            }
        }

        return true;
    }

    /// <summary>The length of the whole RecordBatches at the start of <paramref name="records"/> (the epochs they carry are the log's epoch history).</summary>
    private static int WholeBatches(ReadOnlySpan<byte> records)
    {
        int length = 0;
        while (records.Length - length >= RecordBatch.HeaderSize)
        {
            long total = RecordBatch.ReadTotalLength(records[length..]);
            if (total < RecordBatch.HeaderSize || total > records.Length - length)
            {
                break;
            }

            length += (int)total;
        }

        return length;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _signal.Release();
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        await DropConnectionAsync().ConfigureAwait(false);
        _stop.Dispose();
        _signal.Dispose();
    }

    /// <summary>Per partition: the leader epoch it was added under and whether truncation ran.</summary>
    private sealed class FetchState(int leaderEpoch)
    {
        public int LeaderEpoch { get; } = leaderEpoch;

        public bool Truncated { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Replica fetch from leader {Leader} failed: {Reason}; retrying")]
    private static partial void LogFetchFailed(ILogger logger, int leader, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Topic}-{Partition}: leader {Leader} answered {Error} at our leader epoch {Epoch}; waiting for the next leadership state")]
    private static partial void LogFetchRefused(ILogger logger, string topic, int partition, int leader, ErrorCode error, int epoch);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Topic}-{Partition}: OffsetForLeaderEpoch to leader {Leader} refused: {Error}")]
    private static partial void LogTruncationRefused(ILogger logger, string topic, int partition, int leader, ErrorCode error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Topic}-{Partition}: truncating divergent tail {End} -> {To} (our latest epoch {OurEpoch}, leader's answer epoch {LeaderEpoch})")]
    private static partial void LogTruncating(ILogger logger, string topic, int partition, long end, long to, int ourEpoch, int leaderEpoch);
}
