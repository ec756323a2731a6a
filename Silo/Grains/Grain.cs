namespace OrleansMQ.Silo.Grains;

/// <summary>
/// Base of every grain: a keyed, single-threaded actor. The host activates it on first call,
/// runs one call at a time (turn-based), persists <typeparamref name="TState"/> through the state
/// store, and deactivates it when idle. Grains hold control-plane logic only — no wire formats,
/// no sockets — so moving them onto Orleans is a change of hosting, not of logic.
/// </summary>
public abstract class Grain<TState> : IGrainLifecycle
    where TState : class, new()
{
    private IGrainStateStore _store = null!;
    private string _grainType = null!;

    /// <summary>The grain's key (topic name, group id).</summary>
    public string Key { get; private set; } = null!;

    /// <summary>The persisted state, loaded before the first call.</summary>
    protected TState State { get; set; } = new();

    /// <summary>True when a stored state was found at activation.</summary>
    protected bool RecordExists { get; private set; }

    async Task IGrainLifecycle.ActivateAsync(string grainType, string key, IGrainStateStore store, CancellationToken cancellationToken)
    {
        _grainType = grainType;
        _store = store;
        Key = key;
        var stored = await store.ReadAsync<TState>(grainType, key, cancellationToken).ConfigureAwait(false);
        RecordExists = stored is not null;
        State = stored ?? new TState();
        await OnActivateAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Called once after the state is loaded, before the first call.</summary>
    protected virtual Task OnActivateAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Called before the activation is dropped (idle or silo stop).</summary>
    protected virtual Task OnDeactivateAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    Task IGrainLifecycle.DeactivateAsync(CancellationToken cancellationToken) => OnDeactivateAsync(cancellationToken);

    /// <summary>Persists <see cref="State"/>; durable when the task completes.</summary>
    protected async Task WriteStateAsync(CancellationToken cancellationToken = default)
    {
        await _store.WriteAsync(_grainType, Key, State, cancellationToken).ConfigureAwait(false);
        RecordExists = true;
    }

    /// <summary>Removes the persisted state and resets <see cref="State"/>.</summary>
    protected async Task ClearStateAsync(CancellationToken cancellationToken = default)
    {
        await _store.ClearAsync(_grainType, Key, cancellationToken).ConfigureAwait(false);
        State = new TState();
        RecordExists = false;
    }
}

/// <summary>How the host drives a grain's life cycle without knowing its state type.</summary>
internal interface IGrainLifecycle
{
    Task ActivateAsync(string grainType, string key, IGrainStateStore store, CancellationToken cancellationToken);

    Task DeactivateAsync(CancellationToken cancellationToken);
}
