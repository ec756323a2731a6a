using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace OrleansMQ.Silo.Grains;

/// <summary>
/// The silo's small grain host (the Orleans runtime cannot be restored here): activation on
/// first call, exactly one activation per (type, key), one call at a time per activation in
/// arrival order, one-shot timers that run on the grain's turn, idle deactivation. Calls go
/// through <see cref="GrainRef{TGrain}.CallAsync{TResult}"/>. Every clock (idle, timers) is the
/// injected <see cref="TimeProvider"/>, so tests drive it with a fake one.
/// </summary>
public sealed partial class GrainHost : IAsyncDisposable
{
    private readonly IGrainStateStore _store;
    private readonly IServiceProvider _services;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<(Type, string), Activation> _activations = new();
    private readonly ITimer _idleTimer;
    private int _disposed;

    public GrainHost(IGrainStateStore store, IServiceProvider services, ILogger<GrainHost> logger, TimeProvider? time = null, GrainHostOptions? options = null)
    {
        _store = store;
        _services = services;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        Options = options ?? new GrainHostOptions();
        _idleTimer = _time.CreateTimer(_ => _ = CollectIdleAsync(), null, Options.IdleCheckInterval, Options.IdleCheckInterval);
    }

    public GrainHostOptions Options { get; }

    public IGrainStateStore Store => _store;

    /// <summary>Activations currently in memory.</summary>
    public int ActivationCount => _activations.Count;

    /// <summary>A reference to the grain; cheap, activation happens on the first call.</summary>
    public GrainRef<TGrain> Get<TGrain>(string key)
        where TGrain : class
    {
        ArgumentNullException.ThrowIfNull(key);
        return new GrainRef<TGrain>(this, key);
    }

    internal async Task<TResult> InvokeAsync<TGrain, TResult>(string key, Func<TGrain, Task<TResult>> call, CancellationToken cancellationToken)
        where TGrain : class
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        while (true)
        {
            var activation = _activations.GetOrAdd((typeof(TGrain), key), static (k, host) => new Activation(host, k.Item1, k.Item2), this);
            await activation.Turn.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (activation.Deactivated)
                {
                    continue; // lost a race with idle collection; the next GetOrAdd creates a fresh one
                }

                if (activation.Grain is null)
                {
                    await activation.ActivateAsync(cancellationToken).ConfigureAwait(false);
                }

                activation.LastUsed = _time.GetTimestamp();
                return await call((TGrain)activation.Grain!).ConfigureAwait(false);
            }
            finally
            {
                activation.Turn.Release();
            }
        }
    }

    private async Task CollectIdleAsync()
    {
        long now = _time.GetTimestamp();
        foreach (var (key, activation) in _activations)
        {
            if (_time.GetElapsedTime(activation.LastUsed, now) < Options.IdleTimeout || !activation.Turn.Wait(0))
            {
                continue;
            }

            try
            {
                if (activation.Grain is IGrainLifecycle { CanDeactivate: false })
                {
                    continue;
                }

                await activation.DeactivateAsync().ConfigureAwait(false);
                _activations.TryRemove(new KeyValuePair<(Type, string), Activation>(key, activation));
            }
            catch (Exception ex) when (ex is IOException or InvalidOperationException)
            {
                LogDeactivationFailed(_logger, ex, key.Item1.Name, key.Item2);
            }
            finally
            {
                activation.Turn.Release();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _idleTimer.DisposeAsync().ConfigureAwait(false);
        foreach (var activation in _activations.Values)
        {
            await activation.Turn.WaitAsync().ConfigureAwait(false);
            try
            {
                await activation.DeactivateAsync().ConfigureAwait(false);
            }
            finally
            {
                activation.Turn.Release();
            }
        }

        _activations.Clear();
    }

    private async Task RunTimerAsync(Activation activation, GrainTimer timer)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        await activation.Turn.WaitAsync().ConfigureAwait(false);
        try
        {
            if (activation.Deactivated || activation.Grain is null || timer.IsDisposed)
            {
                return;
            }

            activation.LastUsed = _time.GetTimestamp();
            await timer.Callback().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // A timer has no caller to report to: log it and keep the grain serving.
            LogTimerFailed(_logger, ex, activation.TypeName, activation.Key);
        }
        finally
        {
            activation.Turn.Release();
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "A timer of grain {Type}/{Key} failed")]
    private static partial void LogTimerFailed(ILogger logger, Exception ex, string type, string key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deactivating grain {Type}/{Key} failed")]
    private static partial void LogDeactivationFailed(ILogger logger, Exception ex, string type, string key);

    /// <summary>A one-shot timer whose callback runs on its activation's turn.</summary>
    internal sealed class GrainTimer : IDisposable
    {
        private readonly ITimer _timer;
        private int _state; // 0 armed, 1 fired, 2 disposed

        public GrainTimer(GrainHost host, Activation activation, Func<Task> callback, TimeSpan dueTime)
        {
            Callback = callback;
            _timer = host._time.CreateTimer(
                static s =>
                {
                    var (t, h, a) = ((GrainTimer, GrainHost, Activation))s!;
                    if (Interlocked.CompareExchange(ref t._state, 1, 0) == 0)
                    {
                        _ = h.RunTimerAsync(a, t);
                    }
                },
                (this, host, activation),
                dueTime < TimeSpan.Zero ? TimeSpan.Zero : dueTime,
                Timeout.InfiniteTimeSpan);
        }

        public Func<Task> Callback { get; }

        public bool IsDisposed => Volatile.Read(ref _state) == 2;

        public bool IsDone => Volatile.Read(ref _state) != 0;

        public void Dispose()
        {
            Volatile.Write(ref _state, 2);
            _timer.Dispose();
        }
    }

    /// <summary>One grain instance and its turn: a FIFO semaphore admits one call at a time.</summary>
    internal sealed class Activation
    {
        private readonly GrainHost _host;
        private readonly Type _type;
        private readonly string _key;

        public Activation(GrainHost host, Type type, string key)
        {
            _host = host;
            _type = type;
            _key = key;
            LastUsed = host._time.GetTimestamp();
        }

        public string TypeName => _type.Name;

        public string Key => _key;

        public SemaphoreSlim Turn { get; } = new(1, 1);

        public object? Grain { get; private set; }

        public bool Deactivated { get; private set; }

        public long LastUsed { get; set; }

        public async Task ActivateAsync(CancellationToken cancellationToken)
        {
            var grain = _host._services.GetService(_type) ?? Activator.CreateInstance(_type)
                ?? throw new InvalidOperationException($"Cannot create grain {_type.Name}.");
            if (grain is not IGrainLifecycle lifecycle)
            {
                throw new InvalidOperationException($"{_type.Name} is not a Grain<TState>.");
            }

            var context = new GrainActivationContext(_type.Name, _key, _host._store, _host._time, (callback, due) => new GrainTimer(_host, this, callback, due));
            await lifecycle.ActivateAsync(context, cancellationToken).ConfigureAwait(false);
            Grain = grain;
        }

        public async Task DeactivateAsync()
        {
            Deactivated = true;
            if (Grain is IGrainLifecycle lifecycle)
            {
                await lifecycle.DeactivateAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
    }
}

/// <summary>Grain host settings.</summary>
public sealed class GrainHostOptions
{
    /// <summary>Activations unused this long are deactivated. Default 10 minutes.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How often idle activations are looked for. Default 1 minute.</summary>
    public TimeSpan IdleCheckInterval { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>A typed reference to a grain by key.</summary>
public readonly struct GrainRef<TGrain>
    where TGrain : class
{
    private readonly GrainHost _host;

    internal GrainRef(GrainHost host, string key)
    {
        _host = host;
        Key = key;
    }

    public string Key { get; }

    /// <summary>Runs <paramref name="call"/> on the grain's turn (activating it first if needed).</summary>
    public Task<TResult> CallAsync<TResult>(Func<TGrain, Task<TResult>> call, CancellationToken cancellationToken = default)
        => _host.InvokeAsync(Key, call, cancellationToken);
}
