using Microsoft.Win32.SafeHandles;

namespace OrleansMQ.Silo.Kafka.Network;

/// <summary>
/// Bytes of an open file that a response carries without copying them through user space:
/// the connection sends them with sendfile(2). <see cref="Release"/> runs once the bytes are
/// sent (or the response is dropped), so the storage engine can let go of the segment.
/// </summary>
public readonly struct FileRegion
{
    private readonly Action<object?>? _release;
    private readonly object? _state;

    public FileRegion(SafeFileHandle file, long offset, int length, Action<object?>? release = null, object? state = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        File = file;
        Offset = offset;
        Length = length;
        _release = release;
        _state = state;
    }

    public SafeFileHandle File { get; }

    public long Offset { get; }

    public int Length { get; }

    public void Release() => _release?.Invoke(_state);
}
