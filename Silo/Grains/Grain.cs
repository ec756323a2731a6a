namespace OrleansMQ.Silo.Grains;

/// <summary>
/// Base of every grain: a keyed, single-threaded actor. The host activates it on first call,
/// runs one call at a time (turn-based), fires its timers on its turn, and deactivates it when
/// idle. Grains hold control-plane logic only — no wire formats, no sockets — so moving them onto
/// Orleans is a change of hosting, not of logic.
/// </summary>
public abstract class Grain : IGrainLifecycle
{
    private GrainActivationContext _context = null!;

    /// <summary>The grain's key (topic name, group id).</summary>
    public string Key => _context.Key;

    /// <summary>The host's clock (a fake one in tests).</summary>
    protected TimeProvider Time => _context.Time;

    /// <summary>The host's state store.</summary>
    protected IGrainStateStore Store => _context.Store;

    /// <summary>The grain type's name in the store.</summary>
    protected string GrainType => _context.GrainType;

    /// <summary>
    /// False keeps the activation in memory past the idle timeout (a group with live members and
    /// running timers must not be dropped). Checked on the grain's turn.
    /// </summary>
    protected virtual bool CanDeactivate => true;

    bool IGrainLifecycle.CanDeactivate => CanDeactivate;

    async Task IGrainLifecycle.ActivateAsync(GrainActivationContext context, CancellationToken cancellationToken)
    {
        _context = context;
        await OnLoadAsync(cancellationToken).ConfigureAwait(false);
        await OnActivateAsync(cancellationToken).ConfigureAwait(false);
    }

    Task IGrainLifecycle.DeactivateAsync(CancellationToken cancellationToken)
    {
        _context.DisposeTimers();
        return OnDeactivateAsync(cancellationToken);
    }

    /// <summary>Loads persisted state (the stateful base overrides it).</summary>
    private protected virtual Task OnLoadAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Called once after the state is loaded, before the first call.</summary>
    protected virtual Task OnActivateAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Called before the activation is dropped (idle or silo stop).</summary>
    protected virtual Task OnDeactivateAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// A one-shot timer: after <paramref name="dueTime"/> (on the host's clock)
    /// <paramref name="callback"/> runs on this grain's turn, unless the timer was disposed or the
    /// activation is gone. Disposing it after it fired is harmless.
    /// </summary>
    protected IDisposable RegisterTimer(Func<Task> callback, TimeSpan dueTime) => _context.RegisterTimer(callback, dueTime);
}

/// <summary>A grain with a persisted state of type <typeparamref name="TState"/>.</summary>
public abstract class Grain<TState> : Grain
    where TState : class, new()
{
    /// <summary>The persisted state, loaded before the first call.</summary>
    protected TState State { get; set; } = new();

    /// <summary>True when a stored state was found at activation.</summary>
    protected bool RecordExists { get; private set; }

    private protected override async Task OnLoadAsync(CancellationToken cancellationToken)
    {
        var stored = await Store.ReadAsync<TState>(GrainType, Key, cancellationToken).ConfigureAwait(false);
        RecordExists = stored is not null;
        State = stored ?? new TState();
    }

    /// <summary>Persists <see cref="State"/>; durable when the task completes.</summary>
    protected async Task WriteStateAsync(CancellationToken cancellationToken = default)
    {
        await Store.WriteAsync(GrainType, Key, State, cancellationToken).ConfigureAwait(false);
        RecordExists = true;
    }

    /// <summary>Removes the persisted state and resets <see cref="State"/>.</summary>
    protected async Task ClearStateAsync(CancellationToken cancellationToken = default)
    {
        await Store.ClearAsync(GrainType, Key, cancellationToken).ConfigureAwait(false);
        State = new TState();
        RecordExists = false;
    }
}

/// <summary>How the host drives a grain's life cycle without knowing its type.</summary>
internal interface IGrainLifecycle
{
    bool CanDeactivate { get; }

    Task ActivateAsync(GrainActivationContext context, CancellationToken cancellationToken);

    Task DeactivateAsync(CancellationToken cancellationToken);
}

/// <summary>What an activation gets from its host: identity, store, clock and turn-based timers.</summary>
internal sealed class GrainActivationContext
{
    private readonly Func<Func<Task>, TimeSpan, IDisposable> _registerTimer;
    private readonly List<IDisposable> _timers = [];

    public GrainActivationContext(string grainType, string key, IGrainStateStore store, TimeProvider time, Func<Func<Task>, TimeSpan, IDisposable> registerTimer)
    {
        GrainType = grainType;
        Key = key;
        Store = store;
        Time = time;
        _registerTimer = registerTimer;
    }

    public string GrainType { get; }

    public string Key { get; }

    public IGrainStateStore Store { get; }

    public TimeProvider Time { get; }

    public IDisposable RegisterTimer(Func<Task> callback, TimeSpan dueTime)
    {
        var timer = _registerTimer(callback, dueTime);
        lock (_timers)
        {
            // Keep the list short: a grain re-arming one timer should not grow it forever.
            _timers.RemoveAll(t => t is GrainHost.GrainTimer { IsDone: true });
            _timers.Add(timer);
        }

        return timer;
    }

    public void DisposeTimers()
    {
        lock (_timers)
        {
            foreach (var t in _timers)
            {
                t.Dispose();
            }

            _timers.Clear();
        }
    }
}
