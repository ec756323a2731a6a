using OrleansMQ.Silo.Groups;

namespace OrleansMQ.Silo.Tests.Groups;

/// <summary>
/// A clock the test moves: <see cref="Advance"/> moves time and fires every timer that falls due,
/// in due order, on the calling thread. Timestamps follow the same time, so elapsed-time checks agree.
/// It starts at the real time of its creation (whole seconds), never at a fixed date: anything a
/// test compares with file times or records written by real clocks stays consistent however long
/// after the test was written it runs.
/// </summary>
public sealed class FakeClock : TimeProvider
{
    private readonly List<FakeTimer> _timers = [];
    private DateTimeOffset _now = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());

    public override DateTimeOffset GetUtcNow()
    {
        lock (_timers)
        {
            return _now;
        }
    }

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => GetUtcNow().UtcTicks;

    public long NowMs => GetUtcNow().ToUnixTimeMilliseconds();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new FakeTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    public void Advance(TimeSpan by)
    {
        DateTimeOffset target;
        lock (_timers)
        {
            target = _now + by;
        }

        while (true)
        {
            FakeTimer? next = null;
            lock (_timers)
            {
                foreach (var t in _timers)
                {
                    if (t.Due <= target && (next is null || t.Due < next.Due))
                    {
                        next = t;
                    }
                }

                if (next is null)
                {
                    _now = target;
                    return;
                }

                _now = next.Due!.Value > _now ? next.Due.Value : _now;
                next.Due = next.Period > TimeSpan.Zero ? _now + next.Period : null;
                if (next.Due is null)
                {
                    _timers.Remove(next);
                }
            }

            next.Fire();
        }
    }

    public void AdvanceMs(long ms) => Advance(TimeSpan.FromMilliseconds(ms));

    private sealed class FakeTimer(FakeClock clock, TimerCallback callback, object? state) : ITimer
    {
        public DateTimeOffset? Due { get; set; }

        public TimeSpan Period { get; private set; }

        public void Fire() => callback(state);

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (clock._timers)
            {
                clock._timers.Remove(this);
                Period = period == Timeout.InfiniteTimeSpan ? TimeSpan.Zero : period;
                if (dueTime != Timeout.InfiniteTimeSpan)
                {
                    Due = clock._now + dueTime;
                    clock._timers.Add(this);
                }
                else
                {
                    Due = null;
                }
            }

            return true;
        }

        public void Dispose()
        {
            lock (clock._timers)
            {
                clock._timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>
/// The group's log kept in memory for state-machine tests: records are applied to the
/// <see cref="StoredGroup"/> exactly as the real store does (the store itself has its own tests
/// over a real CommitLog). <see cref="Fail"/> makes the next appends fail.
/// </summary>
public sealed class MemoryGroupLog : IGroupLog
{
    public List<GroupLogRecord> Records { get; } = [];

    public GroupError Fail { get; set; }

    public Task<GroupError> AppendAsync(StoredGroup group, IReadOnlyList<GroupLogRecord> records, CancellationToken cancellationToken = default)
    {
        if (Fail != GroupError.None)
        {
            return Task.FromResult(Fail);
        }

        foreach (var r in records)
        {
            Records.Add(r);
            group.Apply(r);
        }

        return Task.FromResult(GroupError.None);
    }

    public GroupMetadataValue? LastMetadata => Records.OfType<GroupMetadataRecord>().LastOrDefault()?.Value;
}
