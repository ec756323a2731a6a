using System.Buffers;

namespace OrleansMQ.Silo.Kafka.Network;

/// <summary>
/// One response being built: the header and body written through <see cref="IBufferWriter{T}"/>,
/// with <see cref="FileRegion"/>s spliced in where record data goes (Fetch). The connection sends
/// the 4-byte size prefix (<see cref="Length"/>), then each chunk in order: memory with a socket
/// send, file regions with sendfile(2) (or a copy when zero-copy is off).
/// </summary>
/// <remarks>
/// Memory comes from <see cref="ArrayPool{T}.Shared"/> in chunks; <see cref="Dispose"/> returns it
/// and releases every file region. Not thread-safe: one handler builds a response at a time.
/// </remarks>
public sealed class KafkaResponse : IBufferWriter<byte>, IDisposable
{
    private const int ChunkSize = 16 * 1024;

    private readonly List<ResponseChunk> _chunks = new();
    private byte[]? _current;
    private int _written;

    /// <summary>Bytes after the size prefix: memory plus file regions.</summary>
    public long Length { get; private set; }

    /// <summary>True when the connection must not send anything (acks=0 produce).</summary>
    public bool Suppressed { get; set; }

    /// <summary>The chunks, in order. Call <see cref="Complete"/> first.</summary>
    public IReadOnlyList<ResponseChunk> Chunks => _chunks;

    public void Advance(int count)
    {
        if (_current is null || count < 0 || _written + count > _current.Length)
        {
            throw new InvalidOperationException("Advance past the buffer handed out by GetSpan/GetMemory.");
        }

        _written += count;
        Length += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        EnsureSpace(sizeHint);
        return _current.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        EnsureSpace(sizeHint);
        return _current.AsSpan(_written);
    }

    /// <summary>Splices file bytes in at the current position.</summary>
    public void AddFileRegion(in FileRegion region)
    {
        SealCurrent();
        _chunks.Add(new ResponseChunk(region));
        Length += region.Length;
    }

    /// <summary>Closes the last memory chunk; call before sending.</summary>
    public void Complete() => SealCurrent();

    private void EnsureSpace(int sizeHint)
    {
        int need = Math.Max(sizeHint, 1);
        if (_current is not null && _current.Length - _written >= need)
        {
            return;
        }

        SealCurrent();
        _current = ArrayPool<byte>.Shared.Rent(Math.Max(need, ChunkSize));
        _written = 0;
    }

    private void SealCurrent()
    {
        if (_current is null)
        {
            return;
        }

        if (_written > 0)
        {
            _chunks.Add(new ResponseChunk(_current, _written));
        }
        else
        {
            ArrayPool<byte>.Shared.Return(_current);
        }

        _current = null;
        _written = 0;
    }

    /// <summary>Returns pooled memory and releases file regions; the response can be reused.</summary>
    public void Reset()
    {
        SealCurrent();
        foreach (var c in _chunks)
        {
            if (c.Buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(c.Buffer);
            }
            else
            {
                c.File.Release();
            }
        }

        _chunks.Clear();
        Length = 0;
        Suppressed = false;
    }

    public void Dispose() => Reset();
}

/// <summary>Either pooled memory (<see cref="Buffer"/>, first <see cref="Count"/> bytes) or a <see cref="FileRegion"/>.</summary>
public readonly struct ResponseChunk
{
    public ResponseChunk(byte[] buffer, int count)
    {
        Buffer = buffer;
        Count = count;
        File = default;
    }

    public ResponseChunk(FileRegion file)
    {
        Buffer = null;
        Count = file.Length;
        File = file;
    }

    public byte[]? Buffer { get; }

    public int Count { get; }

    public FileRegion File { get; }

    public bool IsFile => Buffer is null;
}
