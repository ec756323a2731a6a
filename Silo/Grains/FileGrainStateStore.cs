using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace OrleansMQ.Silo.Grains;

/// <summary>
/// The embedded state store: one JSON file per grain under <c>&lt;data&gt;/grains/&lt;type&gt;/</c>,
/// replaced atomically (write a temp file, fsync, rename, fsync the folder) so a crash leaves
/// either the old or the new state. Control-plane writes are rare (topic create/alter), so a file
/// per grain is simpler and just as durable as an internal log partition; the high-rate state
/// (committed offsets) gets its own log-backed store with the consumer-group issue.
/// </summary>
public sealed class FileGrainStateStore : IGrainStateStore
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };
    private readonly string _root;

    public FileGrainStateStore(string root)
    {
        _root = Path.GetFullPath(root);
        Directory.CreateDirectory(_root);
    }

    public async Task<TState?> ReadAsync<TState>(string grainType, string key, CancellationToken cancellationToken = default)
        where TState : class
    {
        var path = PathFor(grainType, key);
        if (!File.Exists(path))
        {
            return null;
        }

        await using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 4096, useAsync: true);
        var envelope = await JsonSerializer.DeserializeAsync<Envelope<TState>>(fs, Json, cancellationToken).ConfigureAwait(false);
        return envelope?.State;
    }

    public async Task WriteAsync<TState>(string grainType, string key, TState state, CancellationToken cancellationToken = default)
        where TState : class
    {
        var path = PathFor(grainType, key);
        var dir = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(dir);
        var tmp = path + ".tmp";
        await using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 4096, useAsync: true))
        {
            await JsonSerializer.SerializeAsync(fs, new Envelope<TState> { Key = key, State = state }, Json, cancellationToken).ConfigureAwait(false);
            await fs.FlushAsync(cancellationToken).ConfigureAwait(false);
            fs.Flush(flushToDisk: true);
        }

        File.Move(tmp, path, overwrite: true);
        SyncDirectory(dir);
    }

    public Task ClearAsync(string grainType, string key, CancellationToken cancellationToken = default)
    {
        var path = PathFor(grainType, key);
        if (File.Exists(path))
        {
            File.Delete(path);
            SyncDirectory(Path.GetDirectoryName(path)!);
        }

        return Task.CompletedTask;
    }

    public async Task<IReadOnlyList<string>> ListKeysAsync(string grainType, CancellationToken cancellationToken = default)
    {
        var dir = Path.Combine(_root, Encode(grainType));
        if (!Directory.Exists(dir))
        {
            return Array.Empty<string>();
        }

        var keys = new List<string>();
        foreach (var file in Directory.EnumerateFiles(dir, "*.json"))
        {
            // The file name is a lossy encoding for long keys; the key itself is inside.
            await using var fs = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 4096, useAsync: true);
            var envelope = await JsonSerializer.DeserializeAsync<Envelope<JsonElement>>(fs, Json, cancellationToken).ConfigureAwait(false);
            if (envelope?.Key is { } key)
            {
                keys.Add(key);
            }
        }

        keys.Sort(StringComparer.Ordinal);
        return keys;
    }

    private string PathFor(string grainType, string key) => Path.Combine(_root, Encode(grainType), Encode(key) + ".json");

    /// <summary>
    /// A file-name-safe name for a key: keys of up to 200 characters of [A-Za-z0-9._-] (every
    /// Kafka topic name up to that length) stay readable behind "k-"; anything else — longer
    /// topic names (Kafka allows 249, beyond a file name's 255 bytes with our suffixes), group
    /// ids with any character — becomes "h-" and the SHA-256 of its UTF-8 bytes. The key itself
    /// is stored inside the file, so nothing depends on reversing the name.
    /// </summary>
    internal static string Encode(string key)
    {
        bool plain = key.Length is > 0 and <= 200 && key.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');
        return plain ? "k-" + key : "h-" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
    }

    /// <summary>What each file holds: the key and the grain's state.</summary>
    private sealed class Envelope<TState>
    {
        public string? Key { get; set; }

        public TState? State { get; set; }
    }

    private static void SyncDirectory(string dir)
    {
        // Make the rename itself durable: fsync the directory. .NET will not open a directory as
        // a file, so this goes to libc.
        int fd = DirectorySync.open(dir, DirectorySync.O_RDONLY | DirectorySync.O_DIRECTORY);
        if (fd < 0)
        {
            return;
        }

        _ = DirectorySync.fsync(fd);
        _ = DirectorySync.close(fd);
    }
}

internal static partial class DirectorySync
{
    public const int O_RDONLY = 0;
    public const int O_DIRECTORY = 0x10000;

    [System.Runtime.InteropServices.LibraryImport("libc", SetLastError = true, StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
    public static partial int open(string path, int flags);

    [System.Runtime.InteropServices.LibraryImport("libc", SetLastError = true)]
    public static partial int fsync(int fd);

    [System.Runtime.InteropServices.LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);
}
