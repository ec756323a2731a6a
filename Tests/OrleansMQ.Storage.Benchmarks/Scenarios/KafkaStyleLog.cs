using Microsoft.Win32.SafeHandles;

namespace OrleansMQ.Storage.Benchmarks.Scenarios;

/// <summary>
/// The layout the CommitLog is compared with: Kafka's, one append-only file per partition (only
/// the active segment: no offset or time index, no segment rolls), written with positional
/// writes, and the same async flush policy as the CommitLog's default: a background flusher that
/// fsyncs every file written since its last pass, every 200 ms.
/// </summary>
internal sealed class KafkaStyleLog : IDisposable
{
    private readonly SafeFileHandle[] _files;
    private readonly long[] _lengths;
    private readonly int[] _dirty;
    private readonly Thread _flusher;
    private readonly TimeSpan _interval;
    private readonly ManualResetEventSlim _stop = new(false);
    private long _fsyncs;

    public KafkaStyleLog(string directory, int partitions, TimeSpan flushInterval)
    {
        _files = new SafeFileHandle[partitions];
        _lengths = new long[partitions];
        _dirty = new int[partitions];
        _interval = flushInterval;
        try
        {
            for (int i = 0; i < partitions; i++)
            {
                string dir = Path.Combine(directory, "topic-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
                Directory.CreateDirectory(dir);
                _files[i] = File.OpenHandle(Path.Combine(dir, "00000000000000000000.log"), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read);
            }
        }
        catch
        {
            CloseFiles();
            throw;
        }

        _flusher = new Thread(FlushLoop) { IsBackground = true, Name = "kafka-style-flush" };
        _flusher.Start();
    }

    /// <summary>fsync calls made so far.</summary>
    public long Fsyncs => Interlocked.Read(ref _fsyncs);

    /// <summary>Appends <paramref name="batch"/> to partition <paramref name="partition"/>'s file (one writer thread per partition).</summary>
    public void Append(int partition, ReadOnlySpan<byte> batch)
    {
        RandomAccess.Write(_files[partition], batch, _lengths[partition]);
        _lengths[partition] += batch.Length;
        if (Volatile.Read(ref _dirty[partition]) == 0)
        {
            Volatile.Write(ref _dirty[partition], 1);
        }
    }

    /// <summary>fsyncs every file written since the last pass.</summary>
    public void FlushDirty()
    {
        for (int i = 0; i < _files.Length; i++)
        {
            if (Volatile.Read(ref _dirty[i]) != 0 && Interlocked.Exchange(ref _dirty[i], 0) != 0)
            {
                RandomAccess.FlushToDisk(_files[i]);
                Interlocked.Increment(ref _fsyncs);
            }
        }
    }

    private void FlushLoop()
    {
        while (!_stop.Wait(_interval))
        {
            FlushDirty();
        }
    }

    public void Dispose()
    {
        _stop.Set();
        _flusher.Join();
        CloseFiles();
        _stop.Dispose();
    }

    private void CloseFiles()
    {
        foreach (var f in _files)
        {
            f?.Dispose();
        }
    }
}
