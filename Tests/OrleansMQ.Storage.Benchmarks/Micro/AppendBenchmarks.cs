using System.Diagnostics.CodeAnalysis;
using BenchmarkDotNet.Attributes;
using OrleansMQ.Protocol.Batches;
using OrleansMQ.Storage.Log;
using OrleansMQ.Storage.Engine;
using static OrleansMQ.Storage.Benchmarks.BenchEnvironment;

namespace OrleansMQ.Storage.Benchmarks.Micro;

/// <summary>The append cases of the micro benchmarks.</summary>
public enum AppendCase
{
    /// <summary>Async flush, one RecordBatch holding one 1 KiB record.</summary>
    Async1KiB,

    /// <summary>Async flush, one RecordBatch of 64 x 1 KiB records.</summary>
    Async64KiB,

    /// <summary>Sync flush (group commit, a single appender: one msync per append), one 1 KiB record.</summary>
    Sync1KiB,
}

/// <summary>
/// Steady-state <see cref="StorageEngine.AppendAsync"/>. The data directory stays bounded: 64 MiB
/// segments and a 256 MiB retention budget checked every second, so old segments (and their
/// ConsumeQueue entries) are deleted while BenchmarkDotNet runs.
/// </summary>
[SuppressMessage("Performance", "CA1515:Consider making public types internal", Justification = "BenchmarkDotNet needs public benchmark classes.")]
public class AppendBenchmarks
{
    private StorageEngine _engine = null!;
    private PartitionLog _partition = null!;
    private byte[] _batch = null!;
    private string _dir = null!;

    [Params(AppendCase.Async1KiB, AppendCase.Async64KiB, AppendCase.Sync1KiB)]
    public AppendCase Case { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(MicroRunner.DataRoot, $"micro-{Case}-{Environment.ProcessId}");
        DeleteDir(_dir);
        _engine = StorageEngine.Open(Options(_dir, Case == AppendCase.Sync1KiB ? FlushPolicy.Sync() : FlushPolicy.Async()));
        _partition = _engine.GetOrCreatePartition("micro", 0);
        _batch = Case == AppendCase.Async64KiB ? BuildBatch(64, 1024) : BuildBatch(1, 1024);
    }

    internal static StorageOptions Options(string dir, FlushPolicy policy) => new()
    {
        DataDirectory = dir,
        SegmentSize = 64 * MiB,
        RetentionBytes = 256 * MiB,
        RetentionTime = null,
        CleanupInterval = TimeSpan.FromSeconds(1),
        FlushPolicy = policy,
    };

    [GlobalCleanup]
    public void Cleanup()
    {
        _engine.Dispose();
        DeleteDir(_dir);
    }

    /// <summary>
    /// Returns the engine's own ValueTask: completed at once under async flush; under sync flush
    /// BenchmarkDotNet waits for it (the waiter is the engine's pooled IValueTaskSource).
    /// </summary>
    [Benchmark]
    public ValueTask<AppendResult> Append() => _engine.AppendAsync(_partition, _batch);
}

/// <summary>The two checksums on every append, over a 64 KiB batch.</summary>
[SuppressMessage("Performance", "CA1515:Consider making public types internal", Justification = "BenchmarkDotNet needs public benchmark classes.")]
public class ChecksumBenchmarks
{
    private byte[] _batch = null!;

    [GlobalSetup]
    public void Setup()
    {
        // 64 records of 1,014-byte values: a batch of 65,533 bytes (~64 KiB).
        _batch = BuildBatch(64, 1014);
    }

    [Benchmark]
    public uint Crc32C64KiB() => Crc32C.Compute(_batch);

    [Benchmark]
    public BatchError TryValidate64KiB() => RecordBatch.TryValidate(_batch, int.MaxValue, out _);
}
