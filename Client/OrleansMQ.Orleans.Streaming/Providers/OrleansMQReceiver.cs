using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Streams;
using OrleansMQ.Client;
using OrleansMQ.Client.Consumer;
using OrleansMQ.Protocol;

namespace OrleansMQ.Streaming.Providers;

/// <summary>
/// Reads one queue, i.e. one topic partition, for the pulling agent that owns it. A managed consumer
/// is assigned that single partition (no group membership: Orleans' queue balancer, not Kafka's, decides
/// who reads what) and starts at the consumer group's committed offset, else at the configured start.
/// A background loop moves fetched records into a bounded channel, which
/// <see cref="GetQueueMessagesAsync(int)"/> drains without waiting. Checkpoints: when the queue cache
/// releases batches every cursor has passed, the offset after the newest is committed for the group
/// (at-least-once: after a crash, events since the last checkpoint are delivered again).
/// </summary>
internal sealed partial class OrleansMQReceiver : IQueueAdapterReceiver, IDisposable
{
    private static readonly TimeSpan CommitTimeout = TimeSpan.FromSeconds(10);

    private readonly string _providerName;
    private readonly OrleansMQStreamOptions _options;
    private readonly TopicPartition _partition;
    private readonly Serializer _serializer;
    private readonly Func<Task<IStreamFailureHandler>> _failureHandlerFactory;
    private readonly ILogger _logger;
    private readonly Channel<ConsumeResult> _fetched;
    private readonly CancellationTokenSource _stop = new();
    private KafkaConsumer? _consumer;
    private IStreamFailureHandler? _failureHandler;
    private Task _pump = Task.CompletedTask;
    private Task _commit = Task.CompletedTask; // the last checkpoint commit, awaited before the consumer closes
    private long _committed = -1;

    public OrleansMQReceiver(string providerName, OrleansMQStreamOptions options, TopicPartition partition, Serializer serializer, Func<Task<IStreamFailureHandler>> failureHandlerFactory, ILogger logger)
    {
        _providerName = providerName;
        _options = options;
        _partition = partition;
        _serializer = serializer;
        _failureHandlerFactory = failureHandlerFactory;
        _logger = logger;
        _fetched = Channel.CreateBounded<ConsumeResult>(new BoundedChannelOptions(options.ReceiveBufferSize) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
    }

    public async Task Initialize(TimeSpan timeout)
    {
        _failureHandler = await _failureHandlerFactory().ConfigureAwait(false);
        _consumer = CreateConsumer();
        _consumer.Assign([_partition]);
        _pump = Task.Run(() => PumpAsync(_stop.Token));
    }

    [Obsolete("Use the overload which accepts a CancellationToken.")]
    public Task<IList<IBatchContainer>> GetQueueMessagesAsync(int maxCount) => GetQueueMessagesAsync(maxCount, CancellationToken.None);

    public async Task<IList<IBatchContainer>> GetQueueMessagesAsync(int maxCount, CancellationToken cancellationToken)
    {
        if (maxCount < 0)
        {
            maxCount = _options.ReceiveBufferSize; // QueueAdapterConstants.UNLIMITED_GET_QUEUE_MSG
        }

        List<IBatchContainer>? batches = null;
        while (maxCount > 0 && _fetched.Reader.TryRead(out var record))
        {
            var batch = await DecodeAsync(record).ConfigureAwait(false);
            if (batch is not null)
            {
                (batches ??= new List<IBatchContainer>(Math.Min(maxCount, _fetched.Reader.Count + 1))).Add(batch);
                maxCount--;
            }
        }

        return batches ?? (IList<IBatchContainer>)[];
    }

    [Obsolete("Use the overload which accepts a CancellationToken.")]
    public Task MessagesDeliveredAsync(IList<IBatchContainer> messages) => MessagesDeliveredAsync(messages, CancellationToken.None);

    public async Task MessagesDeliveredAsync(IList<IBatchContainer> messages, CancellationToken cancellationToken)
    {
        // The cache releases the oldest batches first, so everything below the newest released one has
        // been released too: committing the offset after it is a correct checkpoint.
        long newest = -1;
        foreach (var message in messages)
        {
            if (message is OrleansMQBatchContainer batch && batch.Offset > newest)
            {
                newest = batch.Offset;
            }
        }

        if (newest < 0 || newest + 1 <= Volatile.Read(ref _committed) || _consumer is null)
        {
            return;
        }

        try
        {
            // Not the agent's token: a stop cancels it, and a checkpoint cut off then is lost (the
            // restart redelivers more). A commit is small; a bound keeps a dead broker from holding the stop.
            using var bounded = new CancellationTokenSource(CommitTimeout);
            var commit = _consumer.CommitAsync([new KeyValuePair<TopicPartition, long>(_partition, newest + 1)], bounded.Token);
            _commit = commit;
            await commit.ConfigureAwait(false);
            Volatile.Write(ref _committed, newest + 1);
        }
        catch (Exception ex) when (ex is KafkaException or OperationCanceledException or ObjectDisposedException)
        {
            // Not fatal: the next release commits a higher offset; meanwhile a restart redelivers more.
            LogCommitFailed(_logger, ex, _providerName, _partition.Topic, _partition.Partition, newest + 1);
        }
    }

    public async Task Shutdown(TimeSpan timeout)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _pump.WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
        {
        }

        // A checkpoint still in flight finishes before the consumer closes under it (else the
        // last checkpoint of a clean stop was lost, and a restart redelivered more).
        try
        {
            await _commit.WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is KafkaException or OperationCanceledException or ObjectDisposedException or TimeoutException)
        {
        }

        if (_consumer is { } consumer)
        {
            using var cts = new CancellationTokenSource(timeout);
            try
            {
                await consumer.CloseAsync(cts.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is KafkaException or OperationCanceledException)
            {
                LogCloseFailed(_logger, ex, _providerName, _partition.Topic, _partition.Partition);
            }
        }

        Dispose();
    }

    // Shutdown ends with this; the pulling agent never uses a receiver after shutting it down.
    public void Dispose() => _stop.Dispose();

    private KafkaConsumer CreateConsumer() => new(new ConsumerOptions
    {
        Client = new ClientOptions { BootstrapServers = _options.BootstrapServers, ClientId = _options.ClientId },
        GroupId = _options.ConsumerGroup,
        EnableAutoCommit = false, // checkpoints follow delivery, not fetching
        AutoOffsetReset = _options.StartPosition == StreamStartPosition.Earliest ? AutoOffsetReset.Earliest : AutoOffsetReset.Latest,
    });

    private async Task PumpAsync(CancellationToken cancellationToken)
    {
        long next = -1; // the offset after the last record handed to the channel
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await foreach (var record in _consumer!.ConsumeAsync(cancellationToken).ConfigureAwait(false))
                {
                    await _fetched.Writer.WriteAsync(record, cancellationToken).ConfigureAwait(false);
                    next = record.Offset + 1;
                }

                return; // the consumer was closed
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // A consumer that failed for good (e.g. the partition cannot be read) is replaced by a new
                // one that goes on after the last record already handed out, after a pause.
                LogConsumerFailed(_logger, ex, _providerName, _partition.Topic, _partition.Partition);
                var old = _consumer!;
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
                    await old.DisposeAsync().ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (KafkaException)
                {
                }

                var fresh = CreateConsumer();
                fresh.Assign([_partition]);
                if (next >= 0)
                {
                    fresh.Seek(_partition, next);
                }

                _consumer = fresh;
            }
        }
    }

    private async ValueTask<IBatchContainer?> DecodeAsync(ConsumeResult record)
    {
        byte[]? ns = null;
        byte[]? key = null;
        foreach (var header in record.Headers)
        {
            if (header.Key == StreamKeys.KeyHeader)
            {
                key = header.Value;
            }
            else if (header.Key == StreamKeys.NamespaceHeader)
            {
                ns = header.Value;
            }
        }

        if (key is null)
        {
            // Not written by a stream producer: no stream to deliver it to, or to report it against.
            LogNoStreamId(_logger, _providerName, record.Topic, record.Partition, record.Offset);
            return null;
        }

        var streamId = StreamId.Create(ns ?? [], key);
        try
        {
            var payload = _serializer.Deserialize<OrleansMQEventPayload>(record.Value ?? []);
            if (payload?.Events is null)
            {
                throw new InvalidDataException("The record's value holds no events.");
            }

            return new OrleansMQBatchContainer(streamId, payload.Events, payload.RequestContext, record.Offset);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // One bad record must not stop its partition: report it and go on with the next one.
            LogUndeserializable(_logger, ex, _providerName, streamId, record.Topic, record.Partition, record.Offset);
            if (_failureHandler is { } handler)
            {
                await handler.OnDeliveryFailure(GuidId.GetGuidId(Guid.Empty), _providerName, streamId, new OrleansMQSequenceToken(record.Offset, 0)).ConfigureAwait(false);
            }

            return null;
        }
    }

    [LoggerMessage(1, LogLevel.Warning, "Stream provider {Provider}: committing offset {Offset} of {Topic}-{Partition} failed; a later delivery commits again")]
    private static partial void LogCommitFailed(ILogger logger, Exception ex, string provider, string topic, int partition, long offset);

    [LoggerMessage(2, LogLevel.Warning, "Stream provider {Provider}: closing the consumer of {Topic}-{Partition} failed")]
    private static partial void LogCloseFailed(ILogger logger, Exception ex, string provider, string topic, int partition);

    [LoggerMessage(3, LogLevel.Error, "Stream provider {Provider}: the consumer of {Topic}-{Partition} failed; starting a new one")]
    private static partial void LogConsumerFailed(ILogger logger, Exception ex, string provider, string topic, int partition);

    [LoggerMessage(4, LogLevel.Warning, "Stream provider {Provider}: record {Topic}-{Partition}@{Offset} has no stream id header; skipped")]
    private static partial void LogNoStreamId(ILogger logger, string provider, string topic, int partition, long offset);

    [LoggerMessage(5, LogLevel.Error, "Stream provider {Provider}: record {Topic}-{Partition}@{Offset} of stream {StreamId} cannot be deserialized; handed to the failure handler and skipped")]
    private static partial void LogUndeserializable(ILogger logger, Exception ex, string provider, StreamId streamId, string topic, int partition, long offset);
}
