using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OrleansMQ.Client.Cluster;
using OrleansMQ.Client.Consumer.Assignment;
using OrleansMQ.Protocol;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Client.Consumer;

/// <summary>
/// A Kafka consumer speaking the Kafka protocol directly. Two modes:
/// <list type="bullet">
/// <item><see cref="Subscribe"/>: joins <see cref="ConsumerOptions.GroupId"/> (classic group protocol, client-side
/// assignors, heartbeats in the background, rejoin and coordinator failover), partitions come and go through
/// the <see cref="PartitionsAssigned"/>, <see cref="PartitionsRevoked"/> and <see cref="PartitionsLost"/> callbacks.</item>
/// <item><see cref="Assign"/>: reads the given partitions without group membership (committed offsets are still
/// used and commits still work when a <see cref="ConsumerOptions.GroupId"/> is set).</item>
/// </list>
/// A background fetcher prefetches into a bounded queue that <see cref="ConsumeAsync"/> drains. Start positions
/// come from the group's committed offsets, else <see cref="ConsumerOptions.AutoOffsetReset"/>. Every failure is a
/// <see cref="KafkaException"/> carrying the Kafka error code. One <see cref="ConsumeAsync"/> enumeration at a time;
/// the other members are thread-safe. Callbacks run on the background group task, one at a time.
/// </summary>
public sealed partial class KafkaConsumer : IAsyncDisposable
{
    private readonly ConsumerOptions _options;
    private readonly KafkaCluster _cluster;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<TopicPartition, PartitionState> _partitions = [];
    private readonly Channel<FetchedChunk> _queue;
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _failed = new();
    private readonly SemaphoreSlim _fetchSignal = new(0, int.MaxValue);
    private readonly RebalanceProtocol _rebalanceProtocol;
    private IReadOnlyList<string>? _subscription;
    private bool _assignMode;
    private Task _fetchLoop = Task.CompletedTask;
    private Task _groupLoop = Task.CompletedTask;
    private Task _commitLoop = Task.CompletedTask;
    private Exception? _fatal;
    private Exception? _callbackError;
    private int _consuming;
    private int _closed;

    public KafkaConsumer(ConsumerOptions options, ILogger<KafkaConsumer>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _cluster = new KafkaCluster(options.Client);
        _queue = Channel.CreateBounded<FetchedChunk>(new BoundedChannelOptions(options.PrefetchLimit)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
        });
        _rebalanceProtocol = options.Assignors.All(a => a.Protocol == RebalanceProtocol.Cooperative) ? RebalanceProtocol.Cooperative : RebalanceProtocol.Eager;
    }

    public ConsumerOptions Options => _options;

    /// <summary>Called after partitions were assigned by a rebalance (cooperative: only the new ones; eager: all).</summary>
    public Func<IReadOnlyList<TopicPartition>, Task>? PartitionsAssigned { get; set; }

    /// <summary>
    /// Called before partitions are given up in an orderly way (rebalance, close). Positions are still valid and
    /// <see cref="CommitAsync(CancellationToken)"/> works here; no record of these partitions is handed out any more.
    /// With auto commit the processed positions are committed just before the call.
    /// </summary>
    public Func<IReadOnlyList<TopicPartition>, Task>? PartitionsRevoked { get; set; }

    /// <summary>
    /// Called when partitions were lost: the coordinator no longer knows this member (session expired, fenced
    /// generation), so other members may own them already and commits would be refused.
    /// </summary>
    public Func<IReadOnlyList<TopicPartition>, Task>? PartitionsLost { get; set; }

    /// <summary>The partitions currently assigned.</summary>
    public IReadOnlyList<TopicPartition> Assignment
    {
        get
        {
            lock (_lock)
            {
                return [.. _partitions.Keys.Order(TopicPartition.Ordinal)];
            }
        }
    }

    /// <summary>The subscribed topics (empty in assign mode).</summary>
    public IReadOnlyList<string> Subscription => _subscription ?? [];

    /// <summary>The group member id (empty until joined).</summary>
    public string MemberId
    {
        get
        {
            lock (_lock)
            {
                return _memberId;
            }
        }
    }

    /// <summary>The group generation (-1 until joined).</summary>
    public int Generation
    {
        get
        {
            lock (_lock)
            {
                return _generation;
            }
        }
    }

    /// <summary>Joins the group and consumes <paramref name="topics"/>; partitions arrive through rebalances.</summary>
    public void Subscribe(IEnumerable<string> topics)
    {
        ArgumentNullException.ThrowIfNull(topics);
        var list = topics.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (list.Count == 0 || list.Any(string.IsNullOrEmpty))
        {
            throw new ArgumentException("Subscribe needs at least one topic name.", nameof(topics));
        }

        if (_options.GroupId is null)
        {
            throw new InvalidOperationException("Subscribe needs ConsumerOptions.GroupId; use Assign to consume without a group.");
        }

        lock (_lock)
        {
            ThrowIfClosed();
            if (_assignMode || _subscription is not null)
            {
                throw new InvalidOperationException("This consumer already has an assignment or a subscription.");
            }

            _subscription = list;
        }

        _groupLoop = Task.Run(() => GroupLoopAsync(_stop.Token));
        StartBackground();
    }

    /// <summary>Consumes exactly <paramref name="partitions"/>, without group membership. Calling it again replaces the assignment.</summary>
    public void Assign(IEnumerable<TopicPartition> partitions)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        var wanted = partitions.ToHashSet();
        bool start;
        lock (_lock)
        {
            ThrowIfClosed();
            if (_subscription is not null)
            {
                throw new InvalidOperationException("This consumer is subscribed to a group; it cannot also assign partitions.");
            }

            start = !_assignMode;
            _assignMode = true;
            foreach (var tp in _partitions.Keys.Where(tp => !wanted.Contains(tp)).ToList())
            {
                _partitions[tp].Version++;
                _partitions.Remove(tp);
            }

            AddPartitionsLocked(wanted);
        }

        if (start)
        {
            StartBackground();
        }

        _fetchSignal.Release();
    }

    /// <summary>Moves the position of an assigned partition: the next record handed out is at <paramref name="offset"/>.</summary>
    public void Seek(TopicPartition partition, long offset)
    {
        ArgumentNullException.ThrowIfNull(partition);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        lock (_lock)
        {
            GetAssigned(partition).JumpTo(offset);
        }

        _fetchSignal.Release();
    }

    /// <summary>Stops handing out and fetching records of these partitions until <see cref="Resume"/>; positions are kept.</summary>
    public void Pause(IEnumerable<TopicPartition> partitions)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        lock (_lock)
        {
            foreach (var tp in partitions)
            {
                var state = GetAssigned(tp);
                if (!state.Paused)
                {
                    state.Paused = true;
                    state.Rewind();
                }
            }
        }
    }

    /// <summary>Undoes <see cref="Pause"/>.</summary>
    public void Resume(IEnumerable<TopicPartition> partitions)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        lock (_lock)
        {
            foreach (var tp in partitions)
            {
                GetAssigned(tp).Paused = false;
            }
        }

        _fetchSignal.Release();
    }

    /// <summary>The paused partitions.</summary>
    public IReadOnlyList<TopicPartition> Paused
    {
        get
        {
            lock (_lock)
            {
                return [.. _partitions.Values.Where(s => s.Paused).Select(s => s.TopicPartition).Order(TopicPartition.Ordinal)];
            }
        }
    }

    /// <summary>The offset of the next record <see cref="ConsumeAsync"/> hands out for this partition; null while it is still being looked up.</summary>
    public long? Position(TopicPartition partition)
    {
        ArgumentNullException.ThrowIfNull(partition);
        lock (_lock)
        {
            var state = GetAssigned(partition);
            return state.Init == PositionInit.Ready && state.Position >= 0 ? state.Position : null;
        }
    }

    /// <summary>
    /// The records of the assigned partitions, in offset order per partition, as the background fetcher brings them.
    /// Ends when the consumer is closed; throws the fatal error that stopped the consumer, a
    /// <see cref="KafkaConsumeException"/> for a partition that cannot be read, or an exception a callback threw.
    /// </summary>
    public async IAsyncEnumerable<ConsumeResult> ConsumeAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        if (_subscription is null && !_assignMode)
        {
            throw new InvalidOperationException("Call Subscribe or Assign before ConsumeAsync.");
        }

        if (Interlocked.Exchange(ref _consuming, 1) != 0)
        {
            throw new InvalidOperationException("Only one ConsumeAsync enumeration may run at a time.");
        }

        PartitionState? pendingState = null;
        long pendingNext = -1;
        try
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token, _failed.Token);
            while (true)
            {
                ThrowIfFailed();
                FetchedChunk chunk;
                try
                {
                    if (!_queue.Reader.TryRead(out chunk!))
                    {
                        MarkProcessed(ref pendingState, pendingNext);
                        chunk = await _queue.Reader.ReadAsync(wait.Token).ConfigureAwait(false);
                    }
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    ThrowIfFailed();
                    yield break; // closed
                }
                catch (ChannelClosedException)
                {
                    yield break;
                }

                if (chunk.Error is { } error)
                {
                    lock (_lock)
                    {
                        if (!IsCurrent(chunk))
                        {
                            continue;
                        }
                    }

                    throw error;
                }

                foreach (var record in chunk.Records)
                {
                    lock (_lock)
                    {
                        if (!IsCurrent(chunk))
                        {
                            break;
                        }

                        var state = chunk.State;
                        if (record.Offset < state.Position)
                        {
                            continue;
                        }

                        state.Position = record.Offset + 1;
                    }

                    MarkProcessed(ref pendingState, pendingNext);
                    pendingState = chunk.State;
                    pendingNext = record.Offset + 1;
                    yield return record;
                    cancellationToken.ThrowIfCancellationRequested();
                    ThrowIfFailed();
                }
            }
        }
        finally
        {
            MarkProcessed(ref pendingState, pendingNext);
            Volatile.Write(ref _consuming, 0);
        }
    }

    /// <summary>Commits the position of every assigned partition (everything <see cref="ConsumeAsync"/> handed out).</summary>
    public Task CommitAsync(CancellationToken cancellationToken = default)
    {
        Dictionary<TopicPartition, long> offsets;
        lock (_lock)
        {
            offsets = _partitions.Values.Where(s => s.Init == PositionInit.Ready && s.Position >= 0).ToDictionary(s => s.TopicPartition, s => s.Position);
        }

        return CommitCoreAsync(offsets, cancellationToken);
    }

    /// <summary>Commits the given offsets (the offset of the next record to read, as Kafka commits).</summary>
    public Task CommitAsync(IEnumerable<KeyValuePair<TopicPartition, long>> offsets, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(offsets);
        return CommitCoreAsync(offsets.ToDictionary(kv => kv.Key, kv => kv.Value), cancellationToken);
    }

    /// <summary>The group's committed offsets for <paramref name="partitions"/> (-1 when none).</summary>
    public async Task<IReadOnlyDictionary<TopicPartition, long>> CommittedAsync(IEnumerable<TopicPartition> partitions, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        return await FetchCommittedAsync(partitions.ToList(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Stops fetching, commits processed positions when auto commit is on, calls <see cref="PartitionsRevoked"/> and
    /// leaves the group (a static member does not leave: it keeps its partitions until its session times out).
    /// </summary>
    public async Task CloseAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        _queue.Writer.TryComplete();
        await AwaitQuietly(_groupLoop).ConfigureAwait(false);
        await AwaitQuietly(_fetchLoop).ConfigureAwait(false);
        await AwaitQuietly(_commitLoop).ConfigureAwait(false);
        try
        {
            if (_options.GroupId is not null)
            {
                await LeaveAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            await _cluster.DisposeAsync().ConfigureAwait(false);
            _stop.Dispose();
            _failed.Dispose();
        }
    }

    public async ValueTask DisposeAsync() => await CloseAsync().ConfigureAwait(false);

    private static async Task AwaitQuietly(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or KafkaException or ObjectDisposedException)
        {
        }
    }

    private void StartBackground()
    {
        _fetchLoop = Task.Run(() => FetchLoopAsync(_stop.Token));
        if (_options.GroupId is not null && _options.EnableAutoCommit)
        {
            _commitLoop = Task.Run(() => AutoCommitLoopAsync(_stop.Token));
        }
    }

    private void AddPartitionsLocked(IEnumerable<TopicPartition> partitions)
    {
        foreach (var tp in partitions)
        {
            if (!_partitions.ContainsKey(tp))
            {
                _partitions[tp] = new PartitionState(tp, _options.GroupId is null ? PositionInit.Reset : PositionInit.Committed);
            }
        }
    }

    private PartitionState GetAssigned(TopicPartition partition) =>
        _partitions.TryGetValue(partition, out var state) ? state : throw new InvalidOperationException($"Partition {partition} is not assigned to this consumer.");

    /// <summary>Whether a chunk still belongs to the current assignment and position (call under the lock).</summary>
    private bool IsCurrent(FetchedChunk chunk) =>
        _partitions.TryGetValue(chunk.State.TopicPartition, out var state) && ReferenceEquals(state, chunk.State)
        && state.Version == chunk.Version && !state.Paused && !state.Revoking;

    private void MarkProcessed(ref PartitionState? state, long next)
    {
        if (state is null)
        {
            return;
        }

        lock (_lock)
        {
            if (next > state.Processed && next <= state.Position)
            {
                state.Processed = next;
            }
        }

        state = null;
    }

    private void ThrowIfFailed()
    {
        if (Volatile.Read(ref _fatal) is { } fatal)
        {
            throw fatal as KafkaException ?? new KafkaException(ErrorCode.UnknownServerError, fatal.Message, fatal);
        }

        if (Interlocked.Exchange(ref _callbackError, null) is { } callbackError)
        {
            throw new KafkaException(ErrorCode.None, $"A rebalance callback failed: {callbackError.Message}", callbackError);
        }
    }

    private void ThrowIfClosed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _closed) != 0, this);

    private void SetFatal(Exception error)
    {
        if (Interlocked.CompareExchange(ref _fatal, error, null) is null)
        {
            ConsumerLog.Fatal(_logger, error, error.Message);
            try
            {
                _failed.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    private static string Show(IEnumerable<TopicPartition> partitions) => string.Join(", ", partitions.Order(TopicPartition.Ordinal));

    private static async Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
