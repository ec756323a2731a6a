namespace OrleansMQ.Client.Producer;

/// <summary>
/// Kafka's <c>BufferPool</c>: hands out batch buffers within <see cref="ProducerOptions.BufferMemory"/>
/// bytes. Buffers of the standard batch size are kept and reused, so a producer in steady state
/// allocates none; a caller that finds the memory used up waits (up to <c>MaxBlock</c>) for
/// acknowledged batches to give theirs back.
/// </summary>
internal sealed class BufferPool
{
    private readonly object _lock = new(); // Monitor.Wait needs a monitor, not a System.Threading.Lock
    private readonly Stack<byte[]> _free = new();
    private readonly long _total;
    private readonly int _standardSize;
    private long _used;
    private int _waiters;

    public BufferPool(long total, int standardSize)
    {
        _total = total;
        _standardSize = standardSize;
    }

    /// <summary>Bytes handed out and not returned yet.</summary>
    public long Used => Volatile.Read(ref _used);

    public long Total => _total;

    /// <summary>A buffer of at least <paramref name="size"/> bytes (exactly the standard size when that suffices), or null when none became free within <paramref name="maxBlock"/>.</summary>
    public byte[]? Rent(int size, TimeSpan maxBlock)
    {
        int length = Math.Max(size, _standardSize);
        long deadline = Environment.TickCount64 + (long)maxBlock.TotalMilliseconds;
        lock (_lock)
        {
            while (_used + length > _total)
            {
                long wait = deadline - Environment.TickCount64;
                if (wait <= 0)
                {
                    return null;
                }

                _waiters++;
                try
                {
                    Monitor.Wait(_lock, (int)Math.Min(wait, int.MaxValue));
                }
                finally
                {
                    _waiters--;
                }
            }

            _used += length;
            if (length == _standardSize && _free.TryPop(out var buffer))
            {
                return buffer;
            }
        }

        return new byte[length];
    }

    /// <summary>Gives a buffer back (and wakes producers waiting for memory).</summary>
    public void Return(byte[] buffer)
    {
        lock (_lock)
        {
            _used -= buffer.Length;
            if (buffer.Length == _standardSize)
            {
                _free.Push(buffer);
            }

            if (_waiters > 0)
            {
                Monitor.PulseAll(_lock);
            }
        }
    }
}
