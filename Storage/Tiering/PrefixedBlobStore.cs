using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace OrleansMQ.Storage.Tiering;

/// <summary>
/// Puts every blob of one silo under <c>&lt;cluster id&gt;/&lt;node id&gt;/</c> in a container that
/// several silos share: names going in get the prefix, names coming out of listings lose it, so
/// the tier above keeps its short names and never sees another silo's blobs.
/// </summary>
/// <remarks>
/// Blobs written before the prefix existed sit at the container's root. With
/// <paramref name="readUnprefixed"/>, a listing also returns root blobs under the same relative
/// prefix that have no prefixed twin, and reads, properties and deletes of those names go to the
/// root (also for a name read before any listing that is missing under the prefix): an upgraded
/// silo finds its old segments where it left them, and retention deletes them there. New uploads always go under the prefix. Only safe when the root blobs are this silo's
/// (before the prefix, a container served one silo), so it is a setting (docs/tiering.md).
/// </remarks>
public sealed class PrefixedBlobStore : IBlobStore, IDisposable
{
    private readonly IBlobStore _inner;
    private readonly bool _readUnprefixed;

    // Names (relative) found only at the root by a listing; reads of these go to the root.
    private readonly ConcurrentDictionary<string, bool> _legacy = new(StringComparer.Ordinal);

    public PrefixedBlobStore(IBlobStore inner, string prefix, bool readUnprefixed = false)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        if (!prefix.EndsWith('/') || prefix.StartsWith('/'))
        {
            throw new ArgumentException($"A blob prefix ends with '/' and does not start with one; got '{prefix}'.", nameof(prefix));
        }

        _inner = inner;
        Prefix = prefix;
        _readUnprefixed = readUnprefixed;
    }

    /// <summary>What every name of this store starts with in the container, e.g. <c>orleansmq/node-1/</c>.</summary>
    public string Prefix { get; }

    /// <summary>The unprefixed store this one writes through (the container itself).</summary>
    public IBlobStore Inner => _inner;

    public void Dispose() => (_inner as IDisposable)?.Dispose();

    public Task EnsureContainerAsync(CancellationToken cancellationToken = default) => _inner.EnsureContainerAsync(cancellationToken);

    public async Task<BlobProperties> UploadAsync(string name, ReadOnlyMemory<byte> content, IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default)
    {
        _legacy.TryRemove(name, out _); // rewritten: from now on under the prefix
        return Strip(await _inner.UploadAsync(Prefix + name, content, metadata, cancellationToken).ConfigureAwait(false));
    }

    public async Task<BlobProperties> UploadFileAsync(string name, string path, long offset, long length, IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default)
    {
        _legacy.TryRemove(name, out _); // rewritten: from now on under the prefix
        return Strip(await _inner.UploadFileAsync(Prefix + name, path, offset, length, metadata, cancellationToken).ConfigureAwait(false));
    }

    public async Task<BlobProperties> UploadAsync(string name, Stream content, IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default)
    {
        _legacy.TryRemove(name, out _); // rewritten: from now on under the prefix
        return Strip(await _inner.UploadAsync(Prefix + name, content, metadata, cancellationToken).ConfigureAwait(false));
    }

    public async Task<int> ReadRangeAsync(string name, long offset, Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        string where = Where(name);
        try
        {
            return await _inner.ReadRangeAsync(where, offset, destination, cancellationToken).ConfigureAwait(false);
        }
        catch (BlobStoreException ex) when (ex.ErrorCode == "BlobNotFound" && _readUnprefixed && where != name)
        {
            // Read before any listing (the tier's local table copy names it): maybe an old root blob.
            int n = await _inner.ReadRangeAsync(name, offset, destination, cancellationToken).ConfigureAwait(false);
            _legacy[name] = true;
            return n;
        }
    }

    public async Task<BlobProperties?> GetPropertiesAsync(string name, CancellationToken cancellationToken = default)
    {
        string where = Where(name);
        var props = await _inner.GetPropertiesAsync(where, cancellationToken).ConfigureAwait(false);
        if (props is null && _readUnprefixed && where != name && await _inner.GetPropertiesAsync(name, cancellationToken).ConfigureAwait(false) is { } old)
        {
            _legacy[name] = true;
            return old;
        }

        return props is null ? null : Strip(props);
    }

    /// <summary>One page under the prefix. Root blobs are not paged (they come from <see cref="ListAsync"/>).</summary>
    public async Task<BlobListPage> ListPageAsync(string prefix, string? marker = null, int? maxResults = null, CancellationToken cancellationToken = default)
    {
        var page = await _inner.ListPageAsync(Prefix + prefix, marker, maxResults, cancellationToken).ConfigureAwait(false);
        var items = new List<BlobItem>(page.Items.Count);
        foreach (var item in page.Items)
        {
            items.Add(item with { Name = item.Name[Prefix.Length..] });
        }

        return new BlobListPage(items, page.NextMarker);
    }

    public async IAsyncEnumerable<BlobItem> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var seen = _readUnprefixed ? new HashSet<string>(StringComparer.Ordinal) : null;
        await foreach (var item in _inner.ListAsync(Prefix + prefix, cancellationToken).ConfigureAwait(false))
        {
            var relative = item.Name[Prefix.Length..];
            seen?.Add(relative);
            yield return item with { Name = relative };
        }

        if (seen is null)
        {
            yield break;
        }

        // Old blobs at the root. An empty relative prefix would list every silo's prefixed blobs too.
        if (prefix.Length == 0)
        {
            yield break;
        }

        await foreach (var item in _inner.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            if (!seen.Contains(item.Name))
            {
                _legacy[item.Name] = true;
                yield return item;
            }
        }
    }

    public async Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        bool deleted = await _inner.DeleteAsync(Where(name), cancellationToken).ConfigureAwait(false);
        _legacy.TryRemove(name, out _);
        return deleted;
    }

    private string Where(string name) => _legacy.ContainsKey(name) ? name : Prefix + name;

    private BlobProperties Strip(BlobProperties props) =>
        props.Name.StartsWith(Prefix, StringComparison.Ordinal) ? props with { Name = props.Name[Prefix.Length..] } : props;
}
