using OrleansMQ.Protocol.Batches;
using Xunit;

namespace OrleansMQ.Storage.Tests.Batches;

/// <summary>The hot paths (validate on produce, read on fetch, checksums) allocate nothing.</summary>
public class AllocationTests
{
    [Fact]
    public void Crc32C_does_not_allocate()
    {
        var data = new byte[4096];
        new Random(1).NextBytes(data);
        // A first pass warms everything the measured one runs: the JIT (tiering, on-stack
        // replacement of the loop) may allocate on this thread the first time, the checksums never.
        uint sink = Run(data, 0);

        long before = GC.GetAllocatedBytesForCurrentThread();
        sink = Run(data, sink);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        GC.KeepAlive(sink);

        static uint Run(byte[] data, uint sink)
        {
            for (int i = 0; i < 1000; i++)
            {
                sink ^= Crc32C.Compute(data);
                sink ^= Crc32C.Append(sink, data.AsSpan(i % 100));
                sink ^= Crc32C.ComputeSoftware(data.AsSpan(i % 7));
            }

            return sink;
        }
    }

    [Fact]
    public void TryValidate_and_TryReadInfo_do_not_allocate()
    {
        byte[] batch = BatchTestData.Builder(BatchTestData.MixedRecords(), CompressionCodec.Gzip).Build();
        byte[] corrupt = (byte[])batch.Clone();
        corrupt[^1] ^= 1;
        Run(batch, corrupt);

        long before = GC.GetAllocatedBytesForCurrentThread();
        int errors = Run(batch, corrupt);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(1000, errors);

        static int Run(byte[] batch, byte[] corrupt)
        {
            int errors = 0;
            for (int i = 0; i < 1000; i++)
            {
                // Plain comparisons: xunit's Assert.Equal boxes enums.
                if (RecordBatch.TryValidate(batch, 1 << 20, out RecordBatchInfo info) != BatchError.None
                    || RecordBatch.TryReadInfo(batch, out info) != BatchError.None)
                {
                    return -1;
                }

                if (RecordBatch.TryValidate(corrupt, 1 << 20, out _) != BatchError.None)
                {
                    errors++;
                }

                RecordBatch.StampBaseOffset(batch, info.BaseOffset + 1);
            }

            return errors;
        }
    }

    [Fact]
    public void Reading_records_and_headers_does_not_allocate()
    {
        byte[] batch = BatchTestData.Builder(BatchTestData.MixedRecords()).Build();
        Assert.Equal(BatchError.None, RecordBatch.TryValidate(batch, 1 << 20, out RecordBatchInfo info));
        Read(batch, info);

        long before = GC.GetAllocatedBytesForCurrentThread();
        long total = 0;
        for (int i = 0; i < 1000; i++)
        {
            total += Read(batch, info);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(total > 0);

        static long Read(byte[] batch, in RecordBatchInfo info)
        {
            long sum = 0;
            RecordsSection section = RecordBatchRecords.GetRecords(batch, info);
            using (section)
            {
                RecordReader reader = section.CreateReader();
                while (reader.TryReadNext(out RecordView record))
                {
                    sum += record.Key.Length + record.Value.Length + record.OffsetDelta + record.TimestampDelta;
                    RecordHeaderReader headers = record.GetHeaders();
                    while (headers.TryReadNext(out RecordHeader header))
                    {
                        sum += header.Key.Length + header.Value.Length;
                    }
                }
            }

            return sum;
        }
    }
}
