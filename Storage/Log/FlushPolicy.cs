using System.Threading.Tasks.Sources;

namespace OrleansMQ.Storage.Log;

/// <summary>What a flush policy drives: the log's positions and a flush up to the committed position.</summary>
internal interface IFlushTarget
{
    long CommittedPosition { get; }

    long FlushedPosition { get; }

    /// <summary>Makes everything below the committed position durable; returns the new flushed position.</summary>
    long FlushCommitted();
}

/// <summary>
/// When an append counts as done. A pluggable policy object (in the spirit of FASTER's
/// LogCommitPolicy): an immutable description that each CommitLog turns into its own
/// <see cref="FlushRunner"/>; the log hands every append to the runner, which returns the
/// <see cref="ValueTask{T}"/> the producer awaits.
/// <list type="bullet">
/// <item><see cref="Async()"/>: the append completes once the bytes are in the page cache; a background
/// flusher writes back every interval or every N dirty pages (RocketMQ's async flush).</item>
/// <item><see cref="Sync"/>: group commit. The append completes after an msync that covers it;
/// appends that arrive while one flush runs share the next one.</item>
/// </list>
/// </summary>
public abstract class FlushPolicy
{
    /// <summary>Page-cache durability; flush every <paramref name="interval"/> or every <paramref name="dirtyPages"/> dirty pages.</summary>
    public static FlushPolicy Async(TimeSpan interval, int dirtyPages = 16) => new AsyncFlushPolicy(interval, dirtyPages);

    /// <summary>Async flush with RocketMQ-like defaults: every 200 ms or 16 dirty pages.</summary>
    public static FlushPolicy Async() => new AsyncFlushPolicy(TimeSpan.FromMilliseconds(200), 16);

    /// <summary>Device durability with group commit.</summary>
    public static FlushPolicy Sync() => new GroupCommitFlushPolicy();

    /// <summary>True when appends complete only after reaching the device.</summary>
    public abstract bool IsSynchronous { get; }

    /// <summary>Starts this policy's flusher for one log.</summary>
    internal abstract FlushRunner Start(IFlushTarget target);
}

/// <summary>The running side of a <see cref="FlushPolicy"/> for one CommitLog.</summary>
internal abstract class FlushRunner : IDisposable
{
    private long _flushCount;

    /// <summary>Number of flushes performed (for benchmarks: appends per flush).</summary>
    public long FlushCount => Interlocked.Read(ref _flushCount);

    protected void CountFlush() => Interlocked.Increment(ref _flushCount);

    public abstract ValueTask<AppendResult> OnAppended(in AppendResult result);

    public abstract void Dispose();
}

internal sealed class AsyncFlushPolicy : FlushPolicy
{
    public AsyncFlushPolicy(TimeSpan interval, int dirtyPages)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(dirtyPages, 1);
        Interval = interval;
        DirtyBytes = (long)dirtyPages * Environment.SystemPageSize;
    }

    public TimeSpan Interval { get; }

    public long DirtyBytes { get; }

    public override bool IsSynchronous => false;

    internal override FlushRunner Start(IFlushTarget target) => new AsyncFlushRunner(this, target);

    public override string ToString() => $"async(interval={Interval.TotalMilliseconds}ms, dirtyBytes={DirtyBytes})";
}

internal sealed class GroupCommitFlushPolicy : FlushPolicy
{
    public override bool IsSynchronous => true;

    internal override FlushRunner Start(IFlushTarget target) => new GroupCommitFlushRunner(target);

    public override string ToString() => "sync(group commit)";
}

internal sealed class AsyncFlushRunner : FlushRunner
{
    private readonly TimeSpan _interval;
    private readonly long _dirtyBytes;
    private readonly AutoResetEvent _wake = new(false);
    private readonly IFlushTarget _target;
    private readonly Thread _thread;
    private volatile bool _stopping;
    private int _signalled;
    private int _disposed;

    public AsyncFlushRunner(AsyncFlushPolicy policy, IFlushTarget target)
    {
        _interval = policy.Interval;
        _dirtyBytes = policy.DirtyBytes;
        _target = target;
        _thread = new Thread(Run) { IsBackground = true, Name = "omq-flush-async" };
        _thread.Start();
    }

    public override ValueTask<AppendResult> OnAppended(in AppendResult result)
    {
        // Wake the flusher once per dirty threshold crossing, not per append.
        if (result.EndPosition - _target.FlushedPosition >= _dirtyBytes && Interlocked.Exchange(ref _signalled, 1) == 0)
        {
            _wake.Set();
        }

        return new ValueTask<AppendResult>(result);
    }

    private void Run()
    {
        while (!_stopping)
        {
            _wake.WaitOne(_interval);
            Volatile.Write(ref _signalled, 0);
            if (_stopping)
            {
                return;
            }

            if (_target.CommittedPosition > _target.FlushedPosition)
            {
                try
                {
                    _target.FlushCommitted();
                    CountFlush();
                }
                catch (IOException)
                {
                    // Async appends were already acknowledged; the next round retries.
                }
            }
        }
    }

    public override void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stopping = true;
        _wake.Set();
        _thread.Join();
        _wake.Dispose();
    }
}

internal sealed class GroupCommitFlushRunner : FlushRunner
{
    private const int MaxPooledWaiters = 4096;

    private readonly Lock _queueLock = new();
    private readonly ManualResetEventSlim _wake = new(false, spinCount: 0);
    private readonly System.Collections.Concurrent.ConcurrentQueue<Waiter> _pool = new();
    private List<Waiter> _pending = new(256);
    private List<Waiter> _draining = new(256);
    private readonly IFlushTarget _target;
    private readonly Thread _thread;
    private volatile bool _stopping;
    private int _pooled;
    private int _disposed;

    public GroupCommitFlushRunner(IFlushTarget target)
    {
        _target = target;
        _thread = new Thread(Run) { IsBackground = true, Name = "omq-flush-group" };
        _thread.Start();
    }

    public override ValueTask<AppendResult> OnAppended(in AppendResult result)
    {
        if (_target.FlushedPosition >= result.EndPosition)
        {
            return new ValueTask<AppendResult>(result);
        }

        var waiter = Rent();
        waiter.Result = result;
        lock (_queueLock)
        {
            if (_stopping)
            {
                throw new StorageException(StorageError.NotAvailable, "The CommitLog is closing.");
            }

            _pending.Add(waiter);
        }

        _wake.Set();
        return new ValueTask<AppendResult>(waiter, waiter.Version);
    }

    private void Run()
    {
        while (true)
        {
            _wake.Wait();
            _wake.Reset();
            List<Waiter> batch;
            lock (_queueLock)
            {
                batch = _pending;
                _pending = _draining;
                _draining = batch;
            }

            // Every waiter taken above committed before it queued, so one flush to the committed
            // position read now covers them all: this is the group commit.
            Exception? failure = null;
            if (batch.Count > 0 || _stopping)
            {
                try
                {
                    _target.FlushCommitted();
                    CountFlush();
                }
                catch (Exception ex) when (ex is IOException or ObjectDisposedException)
                {
                    failure = new StorageException(StorageError.IoError, "Flushing the CommitLog failed: " + ex.Message, ex);
                }
            }

            foreach (var w in batch)
            {
                if (failure is null)
                {
                    w.Core.SetResult(w.Result);
                }
                else
                {
                    w.Core.SetException(failure);
                }
            }

            batch.Clear();
            if (_stopping)
            {
                lock (_queueLock)
                {
                    if (_pending.Count == 0)
                    {
                        return;
                    }
                }
            }
        }
    }

    private Waiter Rent()
    {
        if (_pool.TryDequeue(out var w))
        {
            Interlocked.Decrement(ref _pooled);
            return w;
        }

        return new Waiter(this);
    }

    private void Return(Waiter w)
    {
        w.Core.Reset();
        if (Interlocked.Increment(ref _pooled) <= MaxPooledWaiters)
        {
            _pool.Enqueue(w);
        }
        else
        {
            Interlocked.Decrement(ref _pooled);
        }
    }

    public override void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        lock (_queueLock)
        {
            _stopping = true;
        }

        _wake.Set();
        _thread.Join();
        _wake.Dispose();
    }

    /// <summary>A pooled completion source: appends under the sync policy allocate nothing in steady state.</summary>
    private sealed class Waiter : IValueTaskSource<AppendResult>
    {
        private readonly GroupCommitFlushRunner _owner;
        public ManualResetValueTaskSourceCore<AppendResult> Core;
        public AppendResult Result;

        public Waiter(GroupCommitFlushRunner owner)
        {
            _owner = owner;
            // Continuations run on the pool, not on the flusher thread, so the next flush is never
            // delayed by producer code.
            Core.RunContinuationsAsynchronously = true;
        }

        public short Version => Core.Version;

        public AppendResult GetResult(short token)
        {
            try
            {
                return Core.GetResult(token);
            }
            finally
            {
                _owner.Return(this);
            }
        }

        public ValueTaskSourceStatus GetStatus(short token) => Core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
            => Core.OnCompleted(continuation, state, token, flags);
    }
}
