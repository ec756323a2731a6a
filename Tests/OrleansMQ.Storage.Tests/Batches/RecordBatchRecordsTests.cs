using System.Buffers.Binary;
using OrleansMQ.Protocol.Batches;
using Xunit;

namespace OrleansMQ.Storage.Tests.Batches;

public class RecordBatchRecordsTests
{
    [Fact]
    public void Uncompressed_section_is_a_slice_of_the_batch()
    {
        byte[] batch = BatchTestData.SimpleBatch(3);
        Assert.Equal(BatchError.None, RecordBatch.TryValidate(batch, 1 << 20, out RecordBatchInfo info));
        RecordsSection section = RecordBatchRecords.GetRecords(batch, info);
        Assert.False(section.IsPooled);
        Assert.Equal(3, section.RecordCount);
        Assert.True(System.Runtime.CompilerServices.Unsafe.AreSame(
            ref System.Runtime.InteropServices.MemoryMarshal.GetReference(section.Span), ref batch[RecordBatch.HeaderSize]));
        Assert.Equal(batch.Length - RecordBatch.HeaderSize, section.Span.Length);
        section.Dispose();
    }

    [Fact]
    public void Dispose_returns_the_buffer_and_empties_the_section()
    {
        byte[] batch = BatchTestData.SimpleBatch(3, CompressionCodec.Gzip);
        Assert.Equal(BatchError.None, RecordBatch.TryValidate(batch, 1 << 20, out RecordBatchInfo info));
        RecordsSection section = RecordBatchRecords.GetRecords(batch, info);
        Assert.True(section.IsPooled);
        Assert.Equal(3, BatchTestData.ReadAll(section.Span, section.RecordCount));
        section.Dispose();
        Assert.True(section.Span.IsEmpty);
        Assert.False(section.IsPooled);
        section.Dispose();
    }

    [Theory]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    public void Codec_values_kafka_does_not_define_are_refused(short codec)
    {
        byte[] batch = BatchTestData.SimpleBatch(3);
        BinaryPrimitives.WriteInt16BigEndian(batch.AsSpan(RecordBatch.Attributes), codec);
        RecordBatch.RecomputeCrc(batch);
        Assert.Equal(BatchError.InvalidCompression, RecordBatch.TryValidate(batch, 1 << 20, out _)); // at produce
        Assert.Equal(BatchError.InvalidCompression, RecordBatch.TryReadInfo(batch, out _)); // at read
    }

    [Fact]
    public void Gzip_bomb_past_the_cap_is_invalid_data()
    {
        var builder = new RecordBatchBuilder(CompressionCodec.Gzip);
        builder.Add(new byte[1 << 20], 0);
        byte[] batch = builder.Build();
        Assert.True(batch.Length < 20_000); // gzip at the producer's level (Fastest): still a 50x bomb
        Assert.Equal(BatchError.None, RecordBatch.TryValidate(batch, 1 << 20, out RecordBatchInfo info));

        var plain = new RecordBatchBuilder();
        plain.Add(new byte[1 << 20], 0);
        int inflated = plain.GetSize() - RecordBatch.HeaderSize;

        Assert.Throws<InvalidDataException>(() => Decompress(batch, info, 64 * 1024));
        Assert.Throws<InvalidDataException>(() => Decompress(batch, info, inflated - 1));
        Assert.Equal(inflated, Decompress(batch, info, inflated));
        Assert.Equal(inflated, Decompress(batch, info, RecordBatchRecords.DefaultMaxDecompressedBytes));
    }

    [Fact]
    public void Corrupt_gzip_is_invalid_data()
    {
        byte[] batch = BatchTestData.SimpleBatch(20, CompressionCodec.Gzip);
        // Damage the deflate data (past the 10-byte gzip header) and re-checksum so it validates.
        for (int i = RecordBatch.HeaderSize + 12; i < batch.Length - 8; i++)
        {
            batch[i] = 0xFF;
        }

        RecordBatch.RecomputeCrc(batch);
        Assert.Equal(BatchError.None, RecordBatch.TryValidate(batch, 1 << 20, out RecordBatchInfo info));
        Assert.Throws<InvalidDataException>(() => DecompressAndRead(batch, info));
    }

    [Fact]
    public void Batch_shorter_than_its_info_is_refused()
    {
        byte[] batch = BatchTestData.SimpleBatch(3);
        Assert.Equal(BatchError.None, RecordBatch.TryValidate(batch, 1 << 20, out RecordBatchInfo info));
        Assert.Throws<ArgumentException>(() => RecordBatchRecords.GetRecords(batch.AsSpan(0, batch.Length - 1), info).Dispose());
        Assert.Throws<ArgumentException>(() => RecordBatchRecords.GetRecords(batch, default).Dispose());
    }

    private static int Decompress(byte[] batch, RecordBatchInfo info, int max)
    {
        RecordsSection section = RecordBatchRecords.GetRecords(batch, info, max);
        using (section)
        {
            return section.Span.Length;
        }
    }

    private static int DecompressAndRead(byte[] batch, RecordBatchInfo info)
    {
        RecordsSection section = RecordBatchRecords.GetRecords(batch, info);
        using (section)
        {
            return BatchTestData.ReadAll(section.Span, section.RecordCount);
        }
    }
}
