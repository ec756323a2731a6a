using OrleansMQ.Client.Consumer.Assignment;
using OrleansMQ.Protocol;
using OrleansMQ.Protocol.Groups;
using OrleansMQ.Protocol.Kafka;

namespace OrleansMQ.Client.Consumer;

/// <summary>Group membership (JoinGroup / SyncGroup / Heartbeat / LeaveGroup) and offset commits.</summary>
public sealed partial class KafkaConsumer
{
    private static readonly TimeSpan MaxGroupBackoff = TimeSpan.FromSeconds(5);
    private readonly SemaphoreSlim _groupSignal = new(0, int.MaxValue);
    private string _memberId = "";
    private int _generation = -1;
    private string? _protocolName;
    private volatile bool _rejoinNeeded = true;
    private volatile bool _stable;
    private int _lostReason;
    private Exception? _pendingFatal;
    private (IReadOnlyList<string> Topics, Dictionary<string, int> Counts)? _leaderSnapshot;
    private long _nextMetadataCheck;

    private string GroupId => _options.GroupId!;

    private static bool IsCoordinatorError(ErrorCode code) =>
        code is ErrorCode.NotCoordinator or ErrorCode.CoordinatorNotAvailable or ErrorCode.CoordinatorLoadInProgress;

    private void RequestRejoin(string reason)
    {
        if (!_rejoinNeeded)
        {
            ConsumerLog.Rejoin(_logger, GroupId, reason);
        }

        _rejoinNeeded = true;
        _groupSignal.Release();
    }

    /// <summary>
    /// The group task: joins, syncs, applies assignments and runs the rebalance callbacks, one at a time. Heartbeats
    /// run on their own task (<see cref="HeartbeatLoopAsync"/>) so a slow callback does not let the session expire;
    /// that task only raises flags this one acts on.
    /// </summary>
    private async Task GroupLoopAsync(CancellationToken cancellationToken)
    {
        var heartbeats = Task.Run(() => HeartbeatLoopAsync(cancellationToken), CancellationToken.None);
        var backoff = _options.RetryBackoff;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    if (Interlocked.Exchange(ref _lostReason, 0) is var lost and not 0)
                    {
                        await LoseAllAsync((ErrorCode)lost, cancellationToken).ConfigureAwait(false);
                    }

                    if (Interlocked.Exchange(ref _pendingFatal, null) is { } fatal)
                    {
                        throw fatal;
                    }

                    if (_rejoinNeeded)
                    {
                        await RebalanceAsync(cancellationToken).ConfigureAwait(false);
                        backoff = _options.RetryBackoff;
                        continue;
                    }

                    await _groupSignal.WaitAsync(_options.HeartbeatInterval, cancellationToken).ConfigureAwait(false);
                    if (!_rejoinNeeded && Volatile.Read(ref _lostReason) == 0)
                    {
                        await CheckLeaderMetadataAsync(cancellationToken).ConfigureAwait(false);
                    }
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex) when (IsTransient(ex, cancellationToken))
                {
                    ConsumerLog.GroupRetry(_logger, GroupId, "join", ex.Message);
                    await DelayAsync(backoff, cancellationToken).ConfigureAwait(false);
                    backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxGroupBackoff.Ticks));
                }
#pragma warning disable CA1031 // The group task must not die silently: the cause stops the consumer and surfaces from ConsumeAsync.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    // FENCED_INSTANCE_ID, INVALID_SESSION_TIMEOUT, ...; an unreadable subscription or assignment; an assignor that broke its contract.
                    SetFatal(ex as KafkaException ?? new KafkaException(
                        ex is FormatException or InvalidOperationException ? ErrorCode.InconsistentGroupProtocol : ErrorCode.UnknownServerError,
                        $"Group {GroupId}: {ex.Message}",
                        ex));
                    return;
                }
            }
        }
        finally
        {
            _stable = false;
            await AwaitQuietly(heartbeats).ConfigureAwait(false);
        }
    }

    /// <summary>Errors after which the group task (or heartbeat task) just tries again: lost connections, moved coordinators, rebalances.</summary>
    private bool IsTransient(Exception ex, CancellationToken cancellationToken)
    {
        bool transient = (ex is KafkaException k && (k.IsRetriable || k.ErrorCode is ErrorCode.UnknownMemberId or ErrorCode.IllegalGeneration or ErrorCode.MemberIdRequired))
            || ex is IOException or ObjectDisposedException or TimeoutException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested);
        if (transient && ex is not KafkaException)
        {
            _cluster.InvalidateCoordinator(GroupId);
        }

        return transient;
    }

    /// <summary>Heartbeats while the member is stable (also while callbacks run), stopping when the group task stops.</summary>
    private async Task HeartbeatLoopAsync(CancellationToken cancellationToken)
    {
        var backoff = _options.RetryBackoff;
        while (!cancellationToken.IsCancellationRequested && Volatile.Read(ref _fatal) is null)
        {
            await DelayAsync(_stable ? _options.HeartbeatInterval : TimeSpan.FromMilliseconds(Math.Min(100, _options.HeartbeatInterval.TotalMilliseconds)), cancellationToken).ConfigureAwait(false);
            if (!_stable || cancellationToken.IsCancellationRequested)
            {
                continue;
            }

            try
            {
                await HeartbeatAsync(cancellationToken).ConfigureAwait(false);
                backoff = _options.RetryBackoff;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (IsTransient(ex, cancellationToken))
            {
                ConsumerLog.GroupRetry(_logger, GroupId, "heartbeat", ex.Message);
                await DelayAsync(backoff, cancellationToken).ConfigureAwait(false);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxGroupBackoff.Ticks));
            }
#pragma warning disable CA1031 // Handed to the group task, which stops the consumer with it.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Interlocked.CompareExchange(ref _pendingFatal, ex, null);
                _groupSignal.Release();
                return;
            }
        }
    }

    /// <summary>Sends to the group coordinator; a lost connection or a moved coordinator forgets it so the next call looks it up again.</summary>
    private async Task<TResponse> SendToCoordinatorAsync<TRequest, TResponse>(TRequest request, TimeSpan? timeout, CancellationToken cancellationToken)
        where TRequest : IKafkaMessage<TRequest>
        where TResponse : IKafkaMessage<TResponse>
    {
        try
        {
            var connection = await _cluster.GetCoordinatorAsync(GroupId, cancellationToken).ConfigureAwait(false);
            return timeout is { } t
                ? await connection.SendAsync<TRequest, TResponse>(request, t, cancellationToken).ConfigureAwait(false)
                : await connection.SendAsync<TRequest, TResponse>(request, cancellationToken).ConfigureAwait(false);
        }
        catch (KafkaException ex) when (ex.IsRetriable)
        {
            _cluster.InvalidateCoordinator(GroupId);
            throw;
        }
    }

    private KafkaException CoordinatorError(ErrorCode code, string operation)
    {
        _cluster.InvalidateCoordinator(GroupId);
        return new KafkaException(code, $"Group {GroupId}: {operation} answered {code}.");
    }

    private async Task RebalanceAsync(CancellationToken cancellationToken)
    {
        List<TopicPartition> owned;
        lock (_lock)
        {
            owned = [.. _partitions.Keys.Order(TopicPartition.Ordinal)];
        }

        if (_rebalanceProtocol == RebalanceProtocol.Eager && owned.Count > 0)
        {
            // Eager: give everything up before rejoining.
            await RevokeAsync(owned, cancellationToken).ConfigureAwait(false);
            owned = [];
        }

        string memberId;
        int generation;
        lock (_lock)
        {
            memberId = _memberId;
            generation = _generation;
        }

        _stable = false;
        var topics = _subscription!;
        var subscription = new ConsumerSubscription(topics) { OwnedPartitions = owned, GenerationId = generation };
        byte[] metadata = ConsumerProtocolCodec.EncodeSubscription(subscription);

        // Java's cooperative-sticky also carries the generation in its user data (older members read it there).
        byte[] stickyMetadata = ConsumerProtocolCodec.EncodeSubscription(subscription with { UserData = CooperativeStickyAssignor.EncodeGenerationUserData(generation) });
        var joinTimeout = _options.MaxPollInterval + TimeSpan.FromSeconds(5) > _options.Client.RequestTimeout
            ? _options.MaxPollInterval + TimeSpan.FromSeconds(5)
            : _options.Client.RequestTimeout;
        JoinGroupResponse join;
        while (true)
        {
            var request = new JoinGroupRequest
            {
                GroupId = GroupId,
                SessionTimeoutMs = (int)_options.SessionTimeout.TotalMilliseconds,
                RebalanceTimeoutMs = (int)_options.MaxPollInterval.TotalMilliseconds,
                MemberId = memberId,
                GroupInstanceId = _options.GroupInstanceId,
                ProtocolType = ConsumerProtocolCodec.ProtocolType,
                Protocols = [.. _options.Assignors.Select(a => new JoinGroupRequest.Protocol { Name = a.Name, Metadata = a is CooperativeStickyAssignor ? stickyMetadata : metadata })],
            };
            join = await SendToCoordinatorAsync<JoinGroupRequest, JoinGroupResponse>(request, joinTimeout, cancellationToken).ConfigureAwait(false);
            if (join.ErrorCode == ErrorCode.MemberIdRequired && !string.IsNullOrEmpty(join.MemberId) && memberId != join.MemberId)
            {
                memberId = join.MemberId; // KIP-394: join again with the id the coordinator gave us
                lock (_lock)
                {
                    _memberId = memberId;
                }

                continue;
            }

            break;
        }

        switch (join.ErrorCode)
        {
            case ErrorCode.None:
                break;
            case ErrorCode.UnknownMemberId:
                await LoseAllAsync(join.ErrorCode, cancellationToken).ConfigureAwait(false);
                ResetMember();
                throw new KafkaException(join.ErrorCode, $"Group {GroupId}: JoinGroup answered UNKNOWN_MEMBER_ID; joining as a new member.");
            case ErrorCode.IllegalGeneration:
                await LoseAllAsync(join.ErrorCode, cancellationToken).ConfigureAwait(false);
                ResetGeneration();
                throw new KafkaException(join.ErrorCode, $"Group {GroupId}: JoinGroup answered ILLEGAL_GENERATION.");
            case var code when IsCoordinatorError(code):
                throw CoordinatorError(code, "JoinGroup");
            case ErrorCode.RebalanceInProgress:
                throw new KafkaException(join.ErrorCode, $"Group {GroupId}: JoinGroup answered REBALANCE_IN_PROGRESS.");
            default:
                // FENCED_INSTANCE_ID, INCONSISTENT_GROUP_PROTOCOL, INVALID_SESSION_TIMEOUT, GROUP_AUTHORIZATION_FAILED, GROUP_MAX_SIZE_REACHED ...
                throw new KafkaException(join.ErrorCode, $"Group {GroupId}: JoinGroup failed with {join.ErrorCode}.");
        }

        lock (_lock)
        {
            _memberId = join.MemberId;
            _generation = join.GenerationId;
            _protocolName = join.ProtocolName;
        }

        bool isLeader = join.Leader == join.MemberId;
        _leaderSnapshot = null;
        var assignor = _options.Assignors.FirstOrDefault(a => a.Name == join.ProtocolName)
            ?? throw new KafkaException(ErrorCode.InconsistentGroupProtocol, $"Group {GroupId} chose protocol '{join.ProtocolName}', which this consumer did not offer.");
        List<SyncGroupRequest.Assignment> assignments = isLeader
            ? await LeaderAssignAsync(assignor, join.Members, cancellationToken).ConfigureAwait(false)
            : [];
        var sync = await SendToCoordinatorAsync<SyncGroupRequest, SyncGroupResponse>(
            new SyncGroupRequest
            {
                GroupId = GroupId,
                GenerationId = join.GenerationId,
                MemberId = join.MemberId,
                GroupInstanceId = _options.GroupInstanceId,
                ProtocolType = ConsumerProtocolCodec.ProtocolType,
                ProtocolName = join.ProtocolName,
                Assignments = assignments,
            },
            joinTimeout,
            cancellationToken).ConfigureAwait(false);
        switch (sync.ErrorCode)
        {
            case ErrorCode.None:
                break;
            case ErrorCode.UnknownMemberId:
                await LoseAllAsync(sync.ErrorCode, cancellationToken).ConfigureAwait(false);
                ResetMember();
                throw new KafkaException(sync.ErrorCode, $"Group {GroupId}: SyncGroup answered UNKNOWN_MEMBER_ID.");
            case ErrorCode.IllegalGeneration:
                await LoseAllAsync(sync.ErrorCode, cancellationToken).ConfigureAwait(false);
                ResetGeneration();
                throw new KafkaException(sync.ErrorCode, $"Group {GroupId}: SyncGroup answered ILLEGAL_GENERATION.");
            case ErrorCode.RebalanceInProgress:
                throw new KafkaException(sync.ErrorCode, $"Group {GroupId}: SyncGroup answered REBALANCE_IN_PROGRESS; rejoining.");
            case var code when IsCoordinatorError(code):
                throw CoordinatorError(code, "SyncGroup");
            default:
                throw new KafkaException(sync.ErrorCode, $"Group {GroupId}: SyncGroup failed with {sync.ErrorCode}.");
        }

        var assignment = sync.Assignment.Length == 0 ? new ConsumerAssignment([]) : ConsumerProtocolCodec.DecodeAssignment(sync.Assignment);
        var assigned = assignment.Partitions.Distinct().Order(TopicPartition.Ordinal).ToList();
        _rejoinNeeded = false;
        _stable = true;
        ConsumerLog.Joined(_logger, GroupId, join.GenerationId, join.MemberId, isLeader, join.ProtocolName, Show(assigned));
        await ApplyAssignmentAsync(assigned, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The leader rechecks the subscribed topics every <see cref="ClientOptions.MetadataMaxAge"/>: a topic that appeared
    /// or gained partitions needs a new assignment, so it rejoins (as Kafka's leader does).
    /// </summary>
    private async Task CheckLeaderMetadataAsync(CancellationToken cancellationToken)
    {
        if (_leaderSnapshot is not { } snapshot || Environment.TickCount64 < _nextMetadataCheck)
        {
            return;
        }

        _nextMetadataCheck = Environment.TickCount64 + (long)_options.Client.MetadataMaxAge.TotalMilliseconds;
        var metadata = await _cluster.RefreshMetadataAsync([.. snapshot.Topics], cancellationToken: cancellationToken).ConfigureAwait(false);
        foreach (string topic in snapshot.Topics)
        {
            int now = metadata.Topics.TryGetValue(topic, out var info) ? info.Partitions.Count : 0;
            int before = snapshot.Counts.GetValueOrDefault(topic);
            if (now > 0 && now != before)
            {
                RequestRejoin($"topic {topic} has {now} partitions, the assignment was made for {before}");
                return;
            }
        }
    }

    private void ResetMember()
    {
        lock (_lock)
        {
            _memberId = "";
            _generation = -1;
        }
    }

    private void ResetGeneration()
    {
        lock (_lock)
        {
            _generation = -1;
        }
    }

    /// <summary>The leader's step: read partition counts of every subscribed topic, run the chosen assignor (<see cref="Assignors.AssignAsLeader(IPartitionAssignor, IReadOnlyList{GroupMemberMetadata}, IReadOnlyDictionary{string, int}, short)"/>).</summary>
    private async Task<List<SyncGroupRequest.Assignment>> LeaderAssignAsync(IPartitionAssignor assignor, List<JoinGroupResponse.Member> members, CancellationToken cancellationToken)
    {
        var metadata = members.Select(m => new GroupMemberMetadata(m.MemberId, m.GroupInstanceId, m.Metadata)).ToList();
        var partitionsPerTopic = new Dictionary<string, int>(StringComparer.Ordinal);
        var topics = Assignors.SubscribedTopics(Assignors.DecodeSubscriptions(metadata).Values);
        foreach (string topic in topics)
        {
            try
            {
                var info = await _cluster.GetTopicAsync(topic, cancellationToken: cancellationToken).ConfigureAwait(false);
                partitionsPerTopic[topic] = info.Partitions.Count;
            }
            catch (KafkaException ex) when (ex.ErrorCode is ErrorCode.UnknownTopicOrPartition or ErrorCode.InvalidTopicException or ErrorCode.TopicAuthorizationFailed)
            {
                // Not there (yet): left unassigned, as Kafka does.
            }
        }

        var result = Assignors.AssignAsLeader(assignor, metadata, partitionsPerTopic);
        _leaderSnapshot = (topics, partitionsPerTopic);
        _nextMetadataCheck = Environment.TickCount64 + (long)_options.Client.MetadataMaxAge.TotalMilliseconds;
        return [.. result.Select(kv => new SyncGroupRequest.Assignment { MemberId = kv.Key, AssignmentBytes = kv.Value })];
    }

    private async Task ApplyAssignmentAsync(List<TopicPartition> assigned, CancellationToken cancellationToken)
    {
        List<TopicPartition> added;
        List<TopicPartition> revoked;
        var wanted = assigned.ToHashSet();
        lock (_lock)
        {
            revoked = [.. _partitions.Keys.Where(tp => !wanted.Contains(tp)).Order(TopicPartition.Ordinal)];
            added = [.. assigned.Where(tp => !_partitions.ContainsKey(tp))];
        }

        if (revoked.Count > 0)
        {
            // Cooperative: give up only what moves, then rejoin so the new owner gets it.
            await RevokeAsync(revoked, cancellationToken).ConfigureAwait(false);
            RequestRejoin("partitions revoked by the cooperative assignment");
        }

        lock (_lock)
        {
            AddPartitionsLocked(added);
        }

        _fetchSignal.Release();
        await InvokeCallbackAsync(PartitionsAssigned, _rebalanceProtocol == RebalanceProtocol.Eager ? assigned : added, nameof(PartitionsAssigned)).ConfigureAwait(false);
    }

    /// <summary>Orderly hand-over: stop handing out records, auto commit, callback, then drop the partitions.</summary>
    private async Task RevokeAsync(List<TopicPartition> partitions, CancellationToken cancellationToken)
    {
        ConsumerLog.Revoking(_logger, GroupId, Show(partitions));
        lock (_lock)
        {
            foreach (var tp in partitions)
            {
                if (_partitions.TryGetValue(tp, out var state))
                {
                    state.Revoking = true;
                    state.Version++;
                }
            }
        }

        if (_options.EnableAutoCommit)
        {
            await AutoCommitAsync(partitions, cancellationToken).ConfigureAwait(false);
        }

        await InvokeCallbackAsync(PartitionsRevoked, partitions, nameof(PartitionsRevoked)).ConfigureAwait(false);
        lock (_lock)
        {
            foreach (var tp in partitions)
            {
                _partitions.Remove(tp);
            }
        }
    }

    /// <summary>The coordinator no longer knows this member: the partitions are gone, no commit.</summary>
    private async Task LoseAllAsync(ErrorCode reason, CancellationToken cancellationToken)
    {
        _ = cancellationToken;
        List<TopicPartition> lost;
        lock (_lock)
        {
            lost = [.. _partitions.Keys.Order(TopicPartition.Ordinal)];
            foreach (var state in _partitions.Values)
            {
                state.Revoking = true;
                state.Version++;
            }
        }

        if (lost.Count == 0)
        {
            return;
        }

        ConsumerLog.Lost(_logger, GroupId, reason, Show(lost));
        await InvokeCallbackAsync(PartitionsLost, lost, nameof(PartitionsLost)).ConfigureAwait(false);
        lock (_lock)
        {
            foreach (var tp in lost)
            {
                _partitions.Remove(tp);
            }
        }
    }

    private async Task InvokeCallbackAsync(Func<IReadOnlyList<TopicPartition>, Task>? callback, IReadOnlyList<TopicPartition> partitions, string name)
    {
        if (callback is null)
        {
            return;
        }

        try
        {
            await callback(partitions).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // The application's exception is handed to ConsumeAsync, not allowed to break the group loop.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            ConsumerLog.CallbackFailed(_logger, ex, name);
            Interlocked.CompareExchange(ref _callbackError, ex, null);
        }
    }

    /// <summary>One heartbeat; what it learns is raised as flags for the group task (rejoin, partitions lost, fenced).</summary>
    private async Task HeartbeatAsync(CancellationToken cancellationToken)
    {
        string memberId;
        int generation;
        lock (_lock)
        {
            memberId = _memberId;
            generation = _generation;
        }

        var response = await SendToCoordinatorAsync<HeartbeatRequest, HeartbeatResponse>(
            new HeartbeatRequest { GroupId = GroupId, GenerationId = generation, MemberId = memberId, GroupInstanceId = _options.GroupInstanceId },
            null,
            cancellationToken).ConfigureAwait(false);
        if (response.ErrorCode is not ErrorCode.None && (!_stable || Generation != generation))
        {
            return; // a rebalance started meanwhile: this answer is about the old generation
        }

        switch (response.ErrorCode)
        {
            case ErrorCode.None:
                return;
            case ErrorCode.RebalanceInProgress:
                RequestRejoin("the coordinator started a rebalance");
                return;
            case ErrorCode.IllegalGeneration:
                ResetGeneration();
                LoseAndRejoin(response.ErrorCode, "ILLEGAL_GENERATION");
                return;
            case ErrorCode.UnknownMemberId:
                ResetMember();
                LoseAndRejoin(response.ErrorCode, "UNKNOWN_MEMBER_ID (session expired or coordinator restarted)");
                return;
            case ErrorCode.FencedInstanceId:
                // Another process took over this static member: fatal, and what it owned belongs to the other one.
                Volatile.Write(ref _lostReason, (int)response.ErrorCode);
                throw new KafkaException(response.ErrorCode, $"Group {GroupId}: instance '{_options.GroupInstanceId}' was fenced by a newer member with the same GroupInstanceId.");
            case var code when IsCoordinatorError(code):
                throw CoordinatorError(code, "Heartbeat");
            default:
                throw new KafkaException(response.ErrorCode, $"Group {GroupId}: Heartbeat failed with {response.ErrorCode}.");
        }
    }

    private void LoseAndRejoin(ErrorCode reason, string why)
    {
        _stable = false;
        Volatile.Write(ref _lostReason, (int)reason);
        RequestRejoin(why);
    }

    private async Task AutoCommitLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            await DelayAsync(_options.AutoCommitInterval, cancellationToken).ConfigureAwait(false);
            if (cancellationToken.IsCancellationRequested || (_subscription is not null && _rejoinNeeded))
            {
                continue;
            }

            await AutoCommitAsync(null, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Commits processed positions that moved since the last commit (of <paramref name="only"/> when given); failures are logged.</summary>
    private async Task AutoCommitAsync(IReadOnlyCollection<TopicPartition>? only, CancellationToken cancellationToken)
    {
        Dictionary<TopicPartition, long> offsets;
        lock (_lock)
        {
            offsets = _partitions.Values
                .Where(s => s.Processed >= 0 && s.Processed != s.Committed && (only is null || only.Contains(s.TopicPartition)))
                .ToDictionary(s => s.TopicPartition, s => s.Processed);
        }

        if (offsets.Count == 0)
        {
            return;
        }

        try
        {
            await CommitCoreAsync(offsets, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is KafkaException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            ConsumerLog.AutoCommitFailed(_logger, ex.Message);
        }
    }

    private async Task CommitCoreAsync(Dictionary<TopicPartition, long> offsets, CancellationToken cancellationToken)
    {
        if (_options.GroupId is null)
        {
            throw new InvalidOperationException("Committing needs ConsumerOptions.GroupId.");
        }

        if (offsets.Count == 0)
        {
            return;
        }

        var deadline = DateTime.UtcNow + _options.Client.RequestTimeout;
        var backoff = _options.RetryBackoff;
        while (true)
        {
            string memberId;
            int generation;
            lock (_lock)
            {
                bool member = _subscription is not null;
                memberId = member ? _memberId : "";
                generation = member ? _generation : -1;
            }

            var request = new OffsetCommitRequest
            {
                GroupId = GroupId,
                GenerationId = generation,
                MemberId = memberId,
                GroupInstanceId = _subscription is not null ? _options.GroupInstanceId : null,
                Topics = [.. offsets.GroupBy(kv => kv.Key.Topic, StringComparer.Ordinal).Select(g => new OffsetCommitRequest.Topic
                {
                    Name = g.Key,
                    Partitions = [.. g.Select(kv => new OffsetCommitRequest.Partition { PartitionIndex = kv.Key.Partition, CommittedOffset = kv.Value })],
                })],
            };
            ErrorCode error;
            try
            {
                var response = await SendToCoordinatorAsync<OffsetCommitRequest, OffsetCommitResponse>(request, null, cancellationToken).ConfigureAwait(false);
                error = response.Topics.SelectMany(t => t.Partitions).Select(p => p.ErrorCode).FirstOrDefault(e => e != ErrorCode.None);
            }
            catch (KafkaException ex) when (ex.IsRetriable && DateTime.UtcNow < deadline)
            {
                error = ex.ErrorCode == ErrorCode.None ? ErrorCode.NetworkException : ex.ErrorCode;
            }

            switch (error)
            {
                case ErrorCode.None:
                    lock (_lock)
                    {
                        foreach (var (tp, offset) in offsets)
                        {
                            if (_partitions.TryGetValue(tp, out var state))
                            {
                                state.Committed = offset;
                            }
                        }
                    }

                    return;
                case ErrorCode.RebalanceInProgress or ErrorCode.IllegalGeneration or ErrorCode.UnknownMemberId or ErrorCode.FencedInstanceId:
                    if (_subscription is not null && error != ErrorCode.FencedInstanceId)
                    {
                        RequestRejoin($"OffsetCommit answered {error}");
                    }

                    throw new KafkaException(error, $"Group {GroupId}: commit failed with {error}: the group has rebalanced (or is rebalancing); these partitions may belong to another member now.");
                case var code when (KafkaException.IsRetriableCode(code) || IsCoordinatorError(code)) && DateTime.UtcNow < deadline:
                    if (IsCoordinatorError(code))
                    {
                        _cluster.InvalidateCoordinator(GroupId);
                    }

                    await Task.Delay(backoff, cancellationToken).ConfigureAwait(false);
                    backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxGroupBackoff.Ticks));
                    continue;
                default:
                    throw new KafkaException(error, $"Group {GroupId}: commit failed with {error}.");
            }
        }
    }

    private async Task<Dictionary<TopicPartition, long>> FetchCommittedAsync(List<TopicPartition> partitions, CancellationToken cancellationToken)
    {
        if (_options.GroupId is null)
        {
            throw new InvalidOperationException("Committed offsets need ConsumerOptions.GroupId.");
        }

        var request = new OffsetFetchRequest
        {
            GroupId = GroupId,
            RequireStable = true,
            Topics = [.. partitions.GroupBy(p => p.Topic, StringComparer.Ordinal).Select(g => new OffsetFetchRequest.Topic { Name = g.Key, PartitionIndexes = [.. g.Select(p => p.Partition)] })],
        };
        var response = await SendToCoordinatorAsync<OffsetFetchRequest, OffsetFetchResponse>(request, null, cancellationToken).ConfigureAwait(false);
        if (IsCoordinatorError(response.ErrorCode))
        {
            throw CoordinatorError(response.ErrorCode, "OffsetFetch");
        }

        KafkaException.ThrowIfError(response.ErrorCode, null, $"Group {GroupId}: OffsetFetch");
        var result = new Dictionary<TopicPartition, long>();
        foreach (var topic in response.Topics)
        {
            foreach (var p in topic.Partitions)
            {
                if (IsCoordinatorError(p.ErrorCode))
                {
                    throw CoordinatorError(p.ErrorCode, "OffsetFetch");
                }

                KafkaException.ThrowIfError(p.ErrorCode, null, $"Group {GroupId}: OffsetFetch {topic.Name}-{p.PartitionIndex}");
                result[new TopicPartition(topic.Name, p.PartitionIndex)] = p.CommittedOffset;
            }
        }

        return result;
    }

    /// <summary>On close: auto commit, revoke callback, LeaveGroup (not for static members).</summary>
    private async Task LeaveAsync(CancellationToken cancellationToken)
    {
        List<TopicPartition> owned;
        string memberId;
        int generation;
        lock (_lock)
        {
            owned = [.. _partitions.Keys.Order(TopicPartition.Ordinal)];
            memberId = _memberId;
            generation = _generation;
        }

        if (_subscription is null)
        {
            if (_options.EnableAutoCommit)
            {
                await AutoCommitAsync(null, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        if (owned.Count > 0 && generation >= 0)
        {
            await RevokeAsync(owned, cancellationToken).ConfigureAwait(false);
        }

        if (memberId.Length == 0 || _options.GroupInstanceId is not null)
        {
            return;
        }

        try
        {
            var response = await SendToCoordinatorAsync<LeaveGroupRequest, LeaveGroupResponse>(
                new LeaveGroupRequest { GroupId = GroupId, MemberId = memberId, Members = [new LeaveGroupRequest.Member { MemberId = memberId, Reason = "the consumer is closing" }] },
                null,
                cancellationToken).ConfigureAwait(false);
            if (response.ErrorCode != ErrorCode.None)
            {
                ConsumerLog.LeaveFailed(_logger, GroupId, response.ErrorCode.ToString());
            }
        }
        catch (KafkaException ex)
        {
            ConsumerLog.LeaveFailed(_logger, GroupId, ex.Message);
        }
    }
}
