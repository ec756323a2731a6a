using System.Globalization;
using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Runtime;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace OrleansMQ.Silo.Grains.Storage;

/// <summary>
/// The embedded grain storage: one file per (grain type, state name, grain key) under
/// <see cref="FileGrainStorageOptions.RootDirectory"/>, laid out as
/// <c>&lt;root&gt;/&lt;grain type&gt;/&lt;state name&gt;/&lt;key&gt;.state</c> (names from <see cref="StateFileNames"/>,
/// bytes from <see cref="StateFile"/>). A silo with no external store keeps its control plane
/// (topics, groups) here, so it needs nothing but its data folder.
/// </summary>
/// <remarks>
/// <para>Durability: a write fills <c>&lt;file&gt;.tmp</c>, fsyncs it, renames it over the file and
/// fsyncs the folder, so a crash at any point leaves the old or the new state, never a mix; a
/// leftover temp file is never read and is overwritten by the next write.</para>
/// <para>Concurrency: Orleans queues one activation's storage calls, but the provider is a single
/// object that anything in the silo may call (silo services, tools, an activation and its
/// successor), and a read-check-rename must not interleave with another on the same file, so every
/// operation on a file holds one of <see cref="LockStripes"/> semaphores, picked by the file's
/// path: bounded memory, and two files rarely share one. The locks are in memory, so one silo
/// process owns a folder.</para>
/// <para>Damage: a file that is truncated, fails its checksum, belongs to another grain, or that
/// the serializer cannot read is renamed to <c>&lt;file&gt;.corrupt-&lt;UTC time&gt;</c>, logged, and
/// read as no state, so one bad file costs that grain its state, not its activation or the silo.
/// An I/O error reading the file (EIO, EMFILE) is thrown instead: it says nothing about the
/// content, and moving good state aside over a passing fault would lose it.</para>
/// </remarks>
public sealed partial class FileGrainStorage : IGrainStorage
{
    private const int LockStripes = 64;

    private readonly string _name;
    private readonly string _root;
    private readonly IGrainStorageSerializer _serializer;
    private readonly IActivatorProvider _activators;
    private readonly ILogger<FileGrainStorage> _logger;
    private readonly SemaphoreSlim[] _locks;

    /// <summary>Creates the provider; <see cref="FileGrainStorageSiloBuilderExtensions"/> does it for a silo.</summary>
    /// <param name="name">The provider's name, for the logs.</param>
    /// <param name="options">The folder and the serializer (which must be set).</param>
    /// <param name="activatorProvider">Creates the empty state of a grain that has none stored.</param>
    /// <param name="logger">Where damaged files are reported.</param>
    public FileGrainStorage(string name, FileGrainStorageOptions options, IActivatorProvider activatorProvider, ILogger<FileGrainStorage> logger)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(activatorProvider);
        ArgumentNullException.ThrowIfNull(logger);
        if (string.IsNullOrWhiteSpace(options.RootDirectory))
        {
            throw new ArgumentException($"{nameof(FileGrainStorageOptions.RootDirectory)} must be set.", nameof(options));
        }

        _name = name;
        _root = Path.GetFullPath(options.RootDirectory);
        _serializer = options.GrainStorageSerializer
            ?? throw new ArgumentException($"{nameof(FileGrainStorageOptions.GrainStorageSerializer)} must be set.", nameof(options));
        _activators = activatorProvider;
        _logger = logger;
        _locks = new SemaphoreSlim[LockStripes];
        for (int i = 0; i < _locks.Length; i++)
        {
            _locks[i] = new SemaphoreSlim(1, 1);
        }
    }

    /// <summary>The folder holding the state files.</summary>
    public string RootDirectory => _root;

    /// <inheritdoc/>
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        ReadStateAsync(stateName, grainId, grainState, CancellationToken.None);

    /// <inheritdoc/>
    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        WriteStateAsync(stateName, grainId, grainState, CancellationToken.None);

    /// <inheritdoc/>
    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        ClearStateAsync(stateName, grainId, grainState, CancellationToken.None);

    /// <summary>
    /// Loads the stored state: <c>ETag</c> and <c>RecordExists</c> set and <c>State</c> the stored
    /// value, or a new <typeparamref name="T"/> with a null ETag when there is no file (or only a
    /// damaged one, which is moved aside).
    /// </summary>
    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stateName);
        ArgumentNullException.ThrowIfNull(grainState);
        var file = Locate(stateName, grainId);
        var gate = GateFor(file.Path);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (await LoadAsync(file, cancellationToken).ConfigureAwait(false) is not { } stored)
            {
                Reset(grainState);
                return;
            }

            T? state;
            try
            {
                state = _serializer.Deserialize<T>(new BinaryData(stored.Payload));
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
            {
                // The bytes are the ones written (the checksum holds), but this state type can no
                // longer read them: an incompatible change of the type. Keeping the grain down over
                // it would need a person; moving the file aside keeps the bytes for one.
                MoveAside(file, $"the serializer cannot read the payload as {typeof(T)}: {ex.Message}", ex);
                Reset(grainState);
                return;
            }

            // As Orleans' own providers: a stored null reads as a fresh state that does not exist.
            grainState.State = state ?? CreateState<T>();
            grainState.ETag = stored.ETag;
            grainState.RecordExists = state is not null;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// Stores <c>grainState.State</c> if the stored ETag (null when there is no file) is
    /// <c>grainState.ETag</c>, else throws <see cref="InconsistentStateException"/> and changes
    /// nothing. On success <c>ETag</c> is the new version's and <c>RecordExists</c> is true. The
    /// state is on disk when the task completes.
    /// </summary>
    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stateName);
        ArgumentNullException.ThrowIfNull(grainState);
        var file = Locate(stateName, grainId);
        var gate = GateFor(file.Path);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var stored = await LoadAsync(file, cancellationToken).ConfigureAwait(false);
            CheckETag(file, stored, grainState.ETag, "write");

            long version = (stored?.Version ?? 0) + 1;
            var payload = _serializer.Serialize(grainState.State);
            byte[] bytes = StateFile.Encode(file.GrainId, file.StateName, version, payload.ToMemory().Span, out string checksum);
            await ReplaceAsync(file, bytes, cancellationToken).ConfigureAwait(false);

            grainState.ETag = StateFile.ETag(version, checksum);
            grainState.RecordExists = true;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// Deletes the stored state after the same ETag check as a write; then <c>ETag</c> is null,
    /// <c>RecordExists</c> false and <c>State</c> a new <typeparamref name="T"/>.
    /// </summary>
    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stateName);
        ArgumentNullException.ThrowIfNull(grainState);
        var file = Locate(stateName, grainId);
        var gate = GateFor(file.Path);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var stored = await LoadAsync(file, cancellationToken).ConfigureAwait(false);
            CheckETag(file, stored, grainState.ETag, "clear");

            bool deleted = stored is not null && Delete(file.Path);
            // A temp file left by a crash would otherwise outlive the state it was meant to replace.
            deleted |= Delete(file.Path + StateFileNames.TempSuffix);
            if (deleted)
            {
                DirectorySync.Flush(file.Directory);
            }

            grainState.ETag = null;
            grainState.RecordExists = false;
            grainState.State = CreateState<T>();
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// The keys of the grains of <paramref name="grainType"/> (Orleans' grain type name, as in
    /// <c>GrainId.Type.ToString()</c>) that have an intact state file under any state name, sorted
    /// ordinally; for a silo that activates its stored grains at start. It takes no locks: a write
    /// renames a complete file into place, so a concurrent one is seen before or after, and a
    /// damaged file is skipped here and moved aside when its grain reads it.
    /// </summary>
    public async Task<IReadOnlyList<string>> ListAsync(string grainType, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(grainType);
        string typeDirectory = Path.Combine(_root, StateFileNames.For(grainType));
        if (!Directory.Exists(typeDirectory))
        {
            return [];
        }

        string prefix = grainType + "/";
        var keys = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string stateDirectory in Directory.EnumerateDirectories(typeDirectory))
        {
            foreach (string path in Directory.EnumerateFiles(stateDirectory, "*" + StateFileNames.Extension))
            {
                // The pattern is a glob; be exact about the suffix so temp and corrupt files never count.
                if (!path.EndsWith(StateFileNames.Extension, StringComparison.Ordinal))
                {
                    continue;
                }

                byte[] bytes;
                try
                {
                    bytes = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
                }
                catch (FileNotFoundException)
                {
                    continue; // cleared or moved aside since the listing
                }

                // A readable name could be decoded without reading, but only the verified content
                // says the file is a live state of this type, so every file is read the same way.
                if (StateFile.TryDecode(bytes, out var content, out _) && content.GrainId.StartsWith(prefix, StringComparison.Ordinal))
                {
                    keys.Add(content.GrainId[prefix.Length..]);
                }
            }
        }

        return [.. keys];
    }

    /// <summary>Where the state file of <paramref name="grainId"/>'s <paramref name="stateName"/> state lives (for tests and tools).</summary>
    internal string PathFor(string stateName, GrainId grainId) => Locate(stateName, grainId).Path;

    private StateFileLocation Locate(string stateName, GrainId grainId)
    {
        string directory = Path.Combine(_root, StateFileNames.For(grainId.Type.ToString() ?? ""), StateFileNames.For(stateName));
        // The key's own bytes name the file: they are what tells two grains apart.
        string file = StateFileNames.For(grainId.Key.ToString() ?? "", grainId.Key.AsSpan()) + StateFileNames.Extension;
        return new StateFileLocation(directory, Path.Combine(directory, file), grainId.ToString(), stateName);
    }

    private SemaphoreSlim GateFor(string path) => _locks[(uint)StringComparer.Ordinal.GetHashCode(path) % LockStripes];

    /// <summary>
    /// The verified content of the file, or null when there is none; a damaged file, or one that
    /// is not this grain's state, is moved aside and reads as none.
    /// </summary>
    private async Task<StateFileContent?> LoadAsync(StateFileLocation file, CancellationToken cancellationToken)
    {
        byte[] bytes;
        try
        {
            bytes = await File.ReadAllBytesAsync(file.Path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }

        if (!StateFile.TryDecode(bytes, out var content, out string? problem))
        {
            MoveAside(file, problem, exception: null);
            return null;
        }

        if (!string.Equals(content.GrainId, file.GrainId, StringComparison.Ordinal)
            || !string.Equals(content.StateName, file.StateName, StringComparison.Ordinal))
        {
            // Only a copied or restored file can get here (names are derived from the id): never
            // hand one grain another's state.
            MoveAside(file, $"it holds the \"{content.StateName}\" state of {content.GrainId}", exception: null);
            return null;
        }

        return content;
    }

    private void CheckETag(StateFileLocation file, StateFileContent? stored, string? current, string operation)
    {
        string? storedETag = stored?.ETag;
        string? expected = string.IsNullOrEmpty(current) ? null : current;
        if (!string.Equals(storedETag, expected, StringComparison.Ordinal))
        {
            LogETagConflict(_logger, _name, operation, file.StateName, file.GrainId, storedETag, expected);
            throw new InconsistentStateException(
                $"Cannot {operation} the \"{file.StateName}\" state of {file.GrainId}: it was changed since this activation read it (stored ETag {storedETag ?? "none"}, this activation's {expected ?? "none"}).",
                storedETag,
                current);
        }
    }

    private static async Task ReplaceAsync(StateFileLocation file, byte[] bytes, CancellationToken cancellationToken)
    {
        EnsureDirectory(file.Directory);
        string temp = file.Path + StateFileNames.TempSuffix;
        // One temp name per file: writes to a file are serialized by its lock, and a temp file left
        // by a crash is simply truncated by the next write instead of piling up.
        var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0, FileOptions.Asynchronous);
        await using (stream.ConfigureAwait(false))
        {
            await stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
            stream.Flush(flushToDisk: true);
        }

        // rename(2) replaces the old file in one step; the folder's fsync makes that step durable.
        File.Move(temp, file.Path, overwrite: true);
        DirectorySync.Flush(file.Directory);
    }

    /// <summary>Creates the missing folders down to <paramref name="directory"/>, each one's entry fsynced in its parent.</summary>
    private static void EnsureDirectory(string directory)
    {
        if (Directory.Exists(directory))
        {
            return;
        }

        var missing = new Stack<string>();
        for (string? d = directory; d is not null && !Directory.Exists(d); d = Path.GetDirectoryName(d))
        {
            missing.Push(d);
        }

        while (missing.TryPop(out string? d))
        {
            Directory.CreateDirectory(d);
            if (Path.GetDirectoryName(d) is { } parent)
            {
                DirectorySync.Flush(parent);
            }
        }
    }

    private static bool Delete(string path)
    {
        if (!File.Exists(path))
        {
            return false;
        }

        File.Delete(path);
        return true;
    }

    /// <summary>Renames a damaged file to <c>&lt;file&gt;.corrupt-&lt;UTC time&gt;</c> beside it, where a person can look at it.</summary>
    private void MoveAside(StateFileLocation file, string reason, Exception? exception)
    {
        string stamp = TimeProvider.System.GetUtcNow().ToString("yyyyMMdd'T'HHmmssfffffff'Z'", CultureInfo.InvariantCulture);
        string target = file.Path + StateFileNames.CorruptSuffix + stamp;
        for (int n = 1; File.Exists(target); n++)
        {
            target = file.Path + StateFileNames.CorruptSuffix + stamp + "-" + n.ToString(CultureInfo.InvariantCulture);
        }

        File.Move(file.Path, target, overwrite: false);
        DirectorySync.Flush(file.Directory);
        LogMovedAside(_logger, exception, _name, file.StateName, file.GrainId, reason, target);
    }

    private void Reset<T>(IGrainState<T> grainState)
    {
        grainState.State = CreateState<T>();
        grainState.ETag = null;
        grainState.RecordExists = false;
    }

    private T CreateState<T>() => _activators.GetActivator<T>().Create();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Grain storage {Provider}: the \"{StateName}\" state file of {GrainId} is unreadable ({Reason}); moved it to {CorruptPath}, the grain starts with no state")]
    private static partial void LogMovedAside(ILogger logger, Exception? exception, string provider, string stateName, string grainId, string reason, string corruptPath);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Grain storage {Provider}: {Operation} of the \"{StateName}\" state of {GrainId} refused, stored ETag {StoredETag}, the grain's {CurrentETag}")]
    private static partial void LogETagConflict(ILogger logger, string provider, string operation, string stateName, string grainId, string? storedETag, string? currentETag);

    /// <summary>A state file's folder and path, and whose state it must hold.</summary>
    private readonly record struct StateFileLocation(string Directory, string Path, string GrainId, string StateName);
}
