using System.Text;
using OrleansMQ.Protocol;
using OrleansMQ.Protocol.Batches;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Client.Consumer;

/// <summary>The background fetcher: finds start positions, fetches from partition leaders, fills the bounded queue.</summary>
public sealed partial class KafkaConsumer
{
    private const long EarliestTimestamp = -2;
    private const long LatestTimestamp = -1;

    private async Task FetchLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested && Volatile.Read(ref _fatal) is null)
        {
            try
            {
                await ResolvePositionsAsync(cancellationToken).ConfigureAwait(false);
                var fetchable = new List<(PartitionState State, int Version, long Offset)>();
                long now = Environment.TickCount64;
                lock (_lock)
                {
                    foreach (var state in _partitions.Values)
                    {
                        if (state.Init == PositionInit.Ready && !state.Paused && !state.Stopped && !state.Revoking && state.FetchOffset >= 0 && state.RetryAt <= now)
                        {
                            fetchable.Add((state, state.Version, state.FetchOffset));
                        }
                    }
                }

                if (fetchable.Count == 0)
                {
                    await _fetchSignal.WaitAsync(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
                    continue;
                }

                var byLeader = await GroupByLeaderAsync(fetchable, item => item.State, cancellationToken).ConfigureAwait(false);

                if (byLeader.Count == 0)
                {
                    await DelayAsync(_options.RetryBackoff, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                await Task.WhenAll(byLeader.Select(kv => FetchFromAsync(kv.Key, kv.Value, cancellationToken))).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (System.Threading.Channels.ChannelClosedException)
            {
                return;
            }
            catch (Exception ex) when (ex is KafkaException or IOException or ObjectDisposedException or TimeoutException or OperationCanceledException)
            {
                // A connection torn down under a request (broker restart) and the like: the next round starts over.
                ConsumerLog.FetchRetry(_logger, -1, ex.Message);
                await DelayAsync(_options.RetryBackoff, cancellationToken).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // The fetcher must not die silently: anything else stops the consumer with the cause.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                SetFatal(new KafkaException(ErrorCode.UnknownServerError, $"The fetcher failed: {ex.Message}", ex));
                return;
            }
        }
    }

    /// <summary>The partition's leader from (possibly refreshed) metadata; -1 when unknown for now.</summary>
    private async Task<int> LeaderOfAsync(TopicPartition tp, CancellationToken cancellationToken)
    {
        try
        {
            var topic = await _cluster.GetTopicAsync(tp.Topic, cancellationToken: cancellationToken).ConfigureAwait(false);
            var partition = topic.Partitions.FirstOrDefault(p => p.Partition == tp.Partition);
            if (partition is null || partition.Leader < 0)
            {
                _cluster.InvalidateTopic(tp.Topic);
                return -1;
            }

            return partition.Leader;
        }
        catch (KafkaException ex) when (ex is not KafkaConsumeException)
        {
            ConsumerLog.PartitionRetry(_logger, tp.ToString(), ex.ErrorCode);
            return -1;
        }
    }

    private void Backoff(PartitionState state)
    {
        lock (_lock)
        {
            state.RetryAt = Environment.TickCount64 + (long)_options.RetryBackoff.TotalMilliseconds;
        }
    }

    private async Task FetchFromAsync(int nodeId, List<(PartitionState State, int Version, long Offset)> parts, CancellationToken cancellationToken)
    {
        var request = new FetchRequest
        {
            MaxWaitMs = (int)_options.FetchMaxWait.TotalMilliseconds,
            MinBytes = _options.FetchMinBytes,
            MaxBytes = _options.FetchMaxBytes,
            IsolationLevel = 0,
            SessionId = 0,
            SessionEpoch = -1,
            Topics = [.. parts.GroupBy(p => p.State.TopicPartition.Topic, StringComparer.Ordinal).Select(g => new FetchRequest.Topic
            {
                Name = g.Key,
                Partitions = [.. g.Select(p => new FetchRequest.Partition
                {
                    PartitionIndex = p.State.TopicPartition.Partition,
                    FetchOffset = p.Offset,
                    PartitionMaxBytes = _options.MaxPartitionFetchBytes,
                })],
            })],
        };

        FetchResponse response;
        try
        {
            var connection = await _cluster.GetConnectionAsync(nodeId, cancellationToken).ConfigureAwait(false);
            response = await connection.SendAsync<FetchRequest, FetchResponse>(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is KafkaException or IOException or ObjectDisposedException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // Broker gone or restarting: fresh metadata (and a new connection) on the next round.
            ConsumerLog.FetchRetry(_logger, nodeId, ex.Message);
            foreach (var topic in parts.Select(p => p.State.TopicPartition.Topic).Distinct(StringComparer.Ordinal))
            {
                _cluster.InvalidateTopic(topic);
            }

            foreach (var p in parts)
            {
                Backoff(p.State);
            }

            await DelayAsync(_options.RetryBackoff, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (response.ErrorCode != ErrorCode.None)
        {
            ConsumerLog.FetchRetry(_logger, nodeId, response.ErrorCode.ToString());
            await DelayAsync(_options.RetryBackoff, cancellationToken).ConfigureAwait(false);
            return;
        }

        var asked = parts.ToDictionary(p => p.State.TopicPartition);
        foreach (var topic in response.Topics)
        {
            foreach (var partition in topic.Partitions)
            {
                if (!asked.TryGetValue(new TopicPartition(topic.Name, partition.PartitionIndex), out var item))
                {
                    continue;
                }

                var chunk = HandleFetched(item.State, item.Version, item.Offset, partition);
                if (chunk is not null)
                {
                    await _queue.Writer.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>Turns one partition's fetch answer into a chunk for the queue (or a state change); null when there is nothing to queue.</summary>
    private FetchedChunk? HandleFetched(PartitionState state, int version, long fetchOffset, FetchResponse.Partition partition)
    {
        var tp = state.TopicPartition;
        switch (partition.ErrorCode)
        {
            case ErrorCode.None:
                break;
            case ErrorCode.OffsetOutOfRange:
                lock (_lock)
                {
                    if (state.Version != version)
                    {
                        return null;
                    }

                    if (_options.AutoOffsetReset == AutoOffsetReset.Error)
                    {
                        state.Stopped = true;
                        return new FetchedChunk(state, version, [], new KafkaConsumeException(ErrorCode.OffsetOutOfRange, $"{tp}: offset {fetchOffset} is out of range (log {partition.LogStartOffset}..{partition.HighWatermark}) and AutoOffsetReset is Error.", tp, fetchOffset));
                    }

                    ConsumerLog.Reset(_logger, tp.ToString(), -1, $"offset {fetchOffset} out of range");
                    state.Init = PositionInit.Reset;
                    state.Version++;
                    return null;
                }

            case ErrorCode.NotLeaderOrFollower or ErrorCode.UnknownTopicOrPartition or ErrorCode.LeaderNotAvailable
                or ErrorCode.FencedLeaderEpoch or ErrorCode.UnknownLeaderEpoch or ErrorCode.KafkaStorageError
                or ErrorCode.ReplicaNotAvailable or ErrorCode.OffsetNotAvailable or ErrorCode.BrokerNotAvailable
                or ErrorCode.NetworkException or ErrorCode.RequestTimedOut:
                ConsumerLog.PartitionRetry(_logger, tp.ToString(), partition.ErrorCode);
                _cluster.InvalidateTopic(tp.Topic);
                Backoff(state);
                return null;
            default:
                lock (_lock)
                {
                    if (state.Version != version)
                    {
                        return null;
                    }

                    state.Stopped = true;
                    return new FetchedChunk(state, version, [], new KafkaConsumeException(partition.ErrorCode, $"{tp}: fetch failed with {partition.ErrorCode}.", tp, fetchOffset));
                }
        }

        var records = new List<ConsumeResult>();
        var (next, error) = partition.Records is { } data
            ? DecodeRecords(tp, data, fetchOffset, _options.CheckCrcs, records)
            : (fetchOffset, null);
        lock (_lock)
        {
            if (state.Version != version || state.FetchOffset != fetchOffset)
            {
                return null;
            }

            state.HighWatermark = partition.HighWatermark;
            state.FetchOffset = next;
            if (error is not null)
            {
                state.Stopped = true;
            }
        }

        return records.Count > 0 || error is not null ? new FetchedChunk(state, version, records, error) : null;
    }

    /// <summary>
    /// Decodes the record batches of one partition from <paramref name="fetchOffset"/> on. Returns the next offset to
    /// fetch and, when a batch cannot be read, the error (records before it are still returned).
    /// </summary>
    internal static (long Next, KafkaConsumeException? Error) DecodeRecords(TopicPartition tp, ReadOnlyMemory<byte> data, long fetchOffset, bool checkCrcs, List<ConsumeResult> records)
    {
        long next = fetchOffset;
        var span = data.Span;
        while (span.Length > 0)
        {
            var batchError = checkCrcs ? RecordBatch.TryValidate(span, int.MaxValue, out var info) : RecordBatch.TryReadInfo(span, out info);
            if (batchError is BatchError.TooShort or BatchError.LengthMismatch)
            {
                break; // the answer was cut at the size limit inside a batch: fetch it next time
            }

            if (batchError != BatchError.None)
            {
                return records.Count > 0
                    ? (next, null)
                    : (next, new KafkaConsumeException(ErrorCode.CorruptMessage, $"{tp}: unreadable batch at offset {next}: {batchError}.", tp, next));
            }

            var batch = span[..info.TotalLength];
            span = span[info.TotalLength..];
            if (info.LastOffset < next)
            {
                continue;
            }

            if (info.IsControl)
            {
                next = info.LastOffset + 1;
                continue;
            }

            try
            {
                ReadBatch(tp, batch, info, next, records);
            }
            catch (InvalidDataException ex)
            {
                if (records.Count > 0)
                {
                    return (next, null);
                }

                return (next, new KafkaConsumeException(ErrorCode.CorruptMessage, $"{tp}: corrupt batch at offset {info.BaseOffset}: {ex.Message}", tp, next, ex)
                {
                    NextOffset = info.LastOffset + 1,
                });
            }

            next = info.LastOffset + 1;
        }

        return (next, null);
    }

    /// <summary>Groups partitions by their leader (one request per broker); partitions without a known leader back off.</summary>
    private async Task<Dictionary<int, List<T>>> GroupByLeaderAsync<T>(IEnumerable<T> items, Func<T, PartitionState> state, CancellationToken cancellationToken)
    {
        var byLeader = new Dictionary<int, List<T>>();
        foreach (var item in items)
        {
            int leader = await LeaderOfAsync(state(item).TopicPartition, cancellationToken).ConfigureAwait(false);
            if (leader < 0)
            {
                Backoff(state(item));
                continue;
            }

            if (!byLeader.TryGetValue(leader, out var list))
            {
                byLeader[leader] = list = [];
            }

            list.Add(item);
        }

        return byLeader;
    }

    /// <summary>
    /// Adds the records of one batch at or after <paramref name="from"/>, decompressing any Kafka
    /// codec into a pooled buffer; corrupt or oversized compressed data is an <see cref="InvalidDataException"/>.
    /// </summary>
    private static void ReadBatch(TopicPartition tp, ReadOnlySpan<byte> batch, in RecordBatchInfo info, long from, List<ConsumeResult> records)
    {
        using (var section = RecordBatchRecords.GetRecords(batch, info))
        {
            var reader = section.CreateReader();
            var type = info.IsLogAppendTime ? TimestampType.LogAppendTime : TimestampType.CreateTime;
            while (reader.TryReadNext(out var record))
            {
                long offset = info.BaseOffset + record.OffsetDelta;
                if (offset < from)
                {
                    continue;
                }

                List<ConsumeHeader>? headers = null;
                if (record.HeaderCount > 0)
                {
                    headers = new List<ConsumeHeader>(record.HeaderCount);
                    var headerReader = record.GetHeaders();
                    while (headerReader.TryReadNext(out var header))
                    {
                        headers.Add(new ConsumeHeader(Encoding.UTF8.GetString(header.Key), header.ValueIsNull ? null : header.Value.ToArray()));
                    }
                }

                long timestamp = info.IsLogAppendTime ? info.MaxTimestamp : info.FirstTimestamp + record.TimestampDelta;
                records.Add(new ConsumeResult
                {
                    Topic = tp.Topic,
                    Partition = tp.Partition,
                    Offset = offset,
                    Key = record.KeyIsNull ? null : record.Key.ToArray(),
                    Value = record.ValueIsNull ? null : record.Value.ToArray(),
                    Headers = (IReadOnlyList<ConsumeHeader>?)headers ?? [],
                    Timestamp = DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(timestamp, -62135596800000, 253402300799999)),
                    TimestampType = type,
                    LeaderEpoch = info.PartitionLeaderEpoch,
                });
            }
        }
    }

    /// <summary>Finds start positions: the group's committed offsets, else <see cref="ConsumerOptions.AutoOffsetReset"/>.</summary>
    private async Task ResolvePositionsAsync(CancellationToken cancellationToken)
    {
        List<(PartitionState State, int Version)> committed, reset;
        long now = Environment.TickCount64;
        lock (_lock)
        {
            committed = [.. _partitions.Values.Where(s => s.Init == PositionInit.Committed && !s.Revoking && s.RetryAt <= now).Select(s => (s, s.Version))];
            reset = [.. _partitions.Values.Where(s => s.Init == PositionInit.Reset && !s.Revoking && !s.Stopped && s.RetryAt <= now).Select(s => (s, s.Version))];
        }

        if (committed.Count > 0)
        {
            try
            {
                var offsets = await FetchCommittedAsync([.. committed.Select(c => c.State.TopicPartition)], cancellationToken).ConfigureAwait(false);
                lock (_lock)
                {
                    foreach (var (state, version) in committed)
                    {
                        if (state.Version != version || state.Init != PositionInit.Committed)
                        {
                            continue;
                        }

                        long offset = offsets.GetValueOrDefault(state.TopicPartition, -1);
                        if (offset >= 0)
                        {
                            state.JumpTo(offset);
                            state.Committed = offset;
                        }
                        else
                        {
                            state.Init = PositionInit.Reset;
                            reset.Add((state, state.Version));
                        }
                    }
                }
            }
            catch (KafkaException ex) when (ex.IsRetriable || ex.ErrorCode is ErrorCode.UnstableOffsetCommit)
            {
                ConsumerLog.LookupRetry(_logger, ex.Message);
                foreach (var (state, _) in committed)
                {
                    Backoff(state);
                }
            }
            catch (KafkaException ex)
            {
                SetFatal(ex);
                return;
            }
        }

        if (reset.Count == 0)
        {
            return;
        }

        if (_options.AutoOffsetReset == AutoOffsetReset.Error)
        {
            foreach (var (state, version) in reset)
            {
                FetchedChunk? chunk = null;
                lock (_lock)
                {
                    if (state.Version == version && !state.Stopped)
                    {
                        state.Stopped = true;
                        chunk = new FetchedChunk(state, version, [], new KafkaConsumeException(ErrorCode.OffsetOutOfRange, $"{state.TopicPartition}: no committed offset and AutoOffsetReset is Error.", state.TopicPartition, -1));
                    }
                }

                if (chunk is not null)
                {
                    await _queue.Writer.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
                }
            }

            return;
        }

        long timestamp = _options.AutoOffsetReset == AutoOffsetReset.Earliest ? EarliestTimestamp : LatestTimestamp;
        var byLeader = await GroupByLeaderAsync(reset, item => item.State, cancellationToken).ConfigureAwait(false);

        foreach (var (leader, items) in byLeader)
        {
            try
            {
                var offsets = await ListOffsetsAsync(leader, [.. items.Select(i => i.State.TopicPartition)], timestamp, cancellationToken).ConfigureAwait(false);
                lock (_lock)
                {
                    foreach (var (state, version) in items)
                    {
                        if (state.Version != version || state.Init != PositionInit.Reset)
                        {
                            continue;
                        }

                        if (offsets.TryGetValue(state.TopicPartition, out var answer) && answer.Error == ErrorCode.None && answer.Offset >= 0)
                        {
                            state.JumpTo(answer.Offset);
                            ConsumerLog.Reset(_logger, state.TopicPartition.ToString(), answer.Offset, _options.AutoOffsetReset.ToString());
                        }
                        else
                        {
                            _cluster.InvalidateTopic(state.TopicPartition.Topic);
                            state.RetryAt = Environment.TickCount64 + (long)_options.RetryBackoff.TotalMilliseconds;
                        }
                    }
                }
            }
            catch (KafkaException ex)
            {
                ConsumerLog.LookupRetry(_logger, ex.Message);
                foreach (var (state, _) in items)
                {
                    _cluster.InvalidateTopic(state.TopicPartition.Topic);
                    Backoff(state);
                }
            }
        }
    }

    private async Task<Dictionary<TopicPartition, (long Offset, ErrorCode Error)>> ListOffsetsAsync(int leader, List<TopicPartition> partitions, long timestamp, CancellationToken cancellationToken)
    {
        var request = new ListOffsetsRequest
        {
            Topics = [.. partitions.GroupBy(p => p.Topic, StringComparer.Ordinal).Select(g => new ListOffsetsRequest.Topic
            {
                Name = g.Key,
                Partitions = [.. g.Select(p => new ListOffsetsRequest.Partition { PartitionIndex = p.Partition, Timestamp = timestamp })],
            })],
        };
        var connection = await _cluster.GetConnectionAsync(leader, cancellationToken).ConfigureAwait(false);
        var response = await connection.SendAsync<ListOffsetsRequest, ListOffsetsResponse>(request, cancellationToken).ConfigureAwait(false);
        var result = new Dictionary<TopicPartition, (long, ErrorCode)>();
        foreach (var topic in response.Topics)
        {
            foreach (var p in topic.Partitions)
            {
                long offset = p.Offset >= 0 ? p.Offset : p.OldStyleOffsets.Count > 0 ? p.OldStyleOffsets[0] : -1;
                result[new TopicPartition(topic.Name, p.PartitionIndex)] = (offset, p.ErrorCode);
            }
        }

        return result;
    }
}
