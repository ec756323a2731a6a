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
        return await JsonSerializer.DeserializeAsync<TState>(fs, Json, cancellationToken).ConfigureAwait(false);
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
            await JsonSerializer.SerializeAsync(fs, state, Json, cancellationToken).ConfigureAwait(false);
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

    public Task<IReadOnlyList<string>> ListKeysAsync(string grainType, CancellationToken cancellationToken = default)
    {
        var dir = Path.Combine(_root, Encode(grainType));
        if (!Directory.Exists(dir))
        {
            return Task.FromResult<IReadOnlyList<string>>(Array.Empty<string>());
        }

        var keys = Directory.EnumerateFiles(dir, "*.json")
            .Select(f => Decode(Path.GetFileNameWithoutExtension(f)))
            .Where(k => k is not null)
            .Select(k => k!)
            .Order(StringComparer.Ordinal)
            .ToList();
        return Task.FromResult<IReadOnlyList<string>>(keys);
    }

    private string PathFor(string grainType, string key) => Path.Combine(_root, Encode(grainType), Encode(key) + ".json");

    /// <summary>
    /// File-name-safe and reversible: keys made only of [A-Za-z0-9._-] (every valid Kafka topic
    /// name) stay readable behind "k-"; anything else (group ids may hold any character) is
    /// hex-encoded UTF-8 behind "x-".
    /// </summary>
    internal static string Encode(string key)
    {
        bool plain = key.Length is > 0 and <= 200 && key.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');
        return plain ? "k-" + key : "x-" + Convert.ToHexString(Encoding.UTF8.GetBytes(key));
    }

    internal static string? Decode(string name)
    {
        if (name.StartsWith("k-", StringComparison.Ordinal))
        {
            return name[2..];
        }

        if (name.StartsWith("x-", StringComparison.Ordinal))
        {
            try
            {
                return Encoding.UTF8.GetString(Convert.FromHexString(name.AsSpan(2)));
            }
            catch (FormatException)
            {
                return null;
            }
        }

        return null;
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
