namespace OrleansMQ.Silo.Grains;

/// <summary>
/// Where grains persist their state. Keys are (grain type, grain key); states are JSON-serializable
/// classes. Implementations must make <see cref="WriteAsync{TState}"/> durable before it completes.
/// </summary>
public interface IGrainStateStore
{
    Task<TState?> ReadAsync<TState>(string grainType, string key, CancellationToken cancellationToken = default)
        where TState : class;

    Task WriteAsync<TState>(string grainType, string key, TState state, CancellationToken cancellationToken = default)
        where TState : class;

    Task ClearAsync(string grainType, string key, CancellationToken cancellationToken = default);

    /// <summary>Keys of every stored state of a grain type (for directory-style queries such as "all topics").</summary>
    Task<IReadOnlyList<string>> ListKeysAsync(string grainType, CancellationToken cancellationToken = default);
}
