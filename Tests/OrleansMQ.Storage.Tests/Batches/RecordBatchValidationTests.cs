using System.Buffers.Binary;
using OrleansMQ.Protocol.Batches;
using Xunit;

namespace OrleansMQ.Storage.Tests.Batches;

public class RecordBatchValidationTests
{
    private const int Max = 1024 * 1024;

    [Fact]
    public void Header_offsets_match_the_kafka_v2_layout()
    {
        Assert.Equal(0, RecordBatch.BaseOffset);
        Assert.Equal(8, RecordBatch.BatchLength);
        Assert.Equal(12, RecordBatch.PartitionLeaderEpoch);
        Assert.Equal(16, RecordBatch.Magic);
        Assert.Equal(17, RecordBatch.Crc);
        Assert.Equal(21, RecordBatch.Attributes);
        Assert.Equal(23, RecordBatch.LastOffsetDelta);
        Assert.Equal(27, RecordBatch.FirstTimestamp);
        Assert.Equal(35, RecordBatch.MaxTimestamp);
        Assert.Equal(43, RecordBatch.ProducerId);
        Assert.Equal(51, RecordBatch.ProducerEpoch);
        Assert.Equal(53, RecordBatch.BaseSequence);
        Assert.Equal(57, RecordBatch.RecordCount);
        Assert.Equal(61, RecordBatch.HeaderSize);
        Assert.Equal(49, RecordBatch.MinBatchLength);
    }

    [Theory]
    [InlineData(CompressionCodec.None)]
    [InlineData(CompressionCodec.Gzip)]
    public void Built_batch_validates_and_reports_its_header(CompressionCodec codec)
    {
        RecordBatchBuilder builder = BatchTestData.Builder(BatchTestData.MixedRecords(), codec);
        builder.BaseOffset = 1234;
        builder.PartitionLeaderEpoch = 7;
        builder.ProducerId = 42;
        builder.ProducerEpoch = 3;
        builder.BaseSequence = 100;
        builder.IsTransactional = true;
        byte[] batch = builder.Build();

        Assert.Equal(BatchError.None, RecordBatch.TryValidate(batch, Max, out RecordBatchInfo info));
        Assert.Equal(batch.Length, info.TotalLength);
        Assert.Equal(1234, info.BaseOffset);
        Assert.Equal(7, info.PartitionLeaderEpoch);
        Assert.Equal(codec, info.Compression);
        Assert.True(info.IsTransactional);
        Assert.False(info.IsControl);
        Assert.False(info.IsLogAppendTime);
        Assert.Equal(4, info.LastOffsetDelta);
        Assert.Equal(5, info.RecordCount);
        Assert.Equal(1238, info.LastOffset);
        Assert.Equal(BatchTestData.FirstTimestamp, info.FirstTimestamp);
        Assert.Equal(BatchTestData.FirstTimestamp + 900, info.MaxTimestamp);
        Assert.Equal(42, info.ProducerId);
        Assert.Equal(3, info.ProducerEpoch);
        Assert.Equal(100, info.BaseSequence);
        Assert.Equal(BinaryPrimitives.ReadUInt32BigEndian(batch.AsSpan(17)), info.Crc);
        Assert.Equal(batch.Length, builder.GetSize());
        Assert.Contains("count=5", info.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Builder_defaults_match_a_non_idempotent_kafka_producer()
    {
        byte[] batch = BatchTestData.SimpleBatch(1);
        Assert.Equal(BatchError.None, RecordBatch.TryValidate(batch, Max, out RecordBatchInfo info));
        Assert.Equal(0, info.BaseOffset);
        Assert.Equal(-1, info.PartitionLeaderEpoch);
        Assert.Equal(-1, info.ProducerId);
        Assert.Equal(-1, info.ProducerEpoch);
        Assert.Equal(-1, info.BaseSequence);
        Assert.Equal(0, info.Attributes);
    }

    [Fact]
    public void Crc_covers_attributes_to_the_end_exactly()
    {
        // Kafka fact: the v2 CRC-32C starts at attributes (offset 21) and runs to the batch end.
        byte[] batch = BatchTestData.SimpleBatch();
        uint field = BinaryPrimitives.ReadUInt32BigEndian(batch.AsSpan(RecordBatch.Crc));
        Assert.Equal(Crc32C.Compute(batch.AsSpan(21)), field);
        Assert.NotEqual(Crc32C.Compute(batch.AsSpan(17)), field);
    }

    [Fact]
    public void Stamping_base_offset_and_leader_epoch_keeps_the_batch_valid()
    {
        byte[] batch = BatchTestData.SimpleBatch();
        RecordBatch.StampBaseOffset(batch, 987_654_321_012);
        RecordBatch.StampPartitionLeaderEpoch(batch, 55);
        Assert.Equal(987_654_321_012, RecordBatch.ReadBaseOffset(batch));
        Assert.Equal(BatchError.None, RecordBatch.TryValidate(batch, Max, out RecordBatchInfo info));
        Assert.Equal(987_654_321_012, info.BaseOffset);
        Assert.Equal(55, info.PartitionLeaderEpoch);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(15)]
    public void Flipping_base_offset_bytes_is_not_detected_because_they_are_outside_the_crc(int index)
    {
        byte[] batch = BatchTestData.SimpleBatch();
        batch[index] ^= 0x5A;
        if (index >= RecordBatch.BatchLength && index < RecordBatch.PartitionLeaderEpoch)
        {
            // batchLength is outside the CRC too, but a wrong value breaks framing.
            Assert.NotEqual(BatchError.None, RecordBatch.TryValidate(batch, Max, out _));
        }
        else
        {
            Assert.Equal(BatchError.None, RecordBatch.TryValidate(batch, Max, out _));
        }
    }

    [Fact]
    public void Every_crc_covered_byte_flip_is_a_crc_mismatch()
    {
        byte[] original = BatchTestData.SimpleBatch(codec: CompressionCodec.Gzip);
        for (int i = RecordBatch.Attributes; i < original.Length; i++)
        {
            byte[] batch = (byte[])original.Clone();
            batch[i] ^= 0x01;
            Assert.Equal(BatchError.CrcMismatch, RecordBatch.TryValidate(batch, Max, out RecordBatchInfo info));
            Assert.Equal(default, info.TotalLength);
        }
    }

    [Fact]
    public void Flipping_the_crc_field_is_a_crc_mismatch()
    {
        byte[] batch = BatchTestData.SimpleBatch();
        batch[RecordBatch.Crc + 2] ^= 0x80;
        Assert.Equal(BatchError.CrcMismatch, RecordBatch.TryValidate(batch, Max, out _));
        Assert.Equal(BatchError.None, RecordBatch.TryReadInfo(batch, out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(11)]
    [InlineData(60)]
    public void Buffer_shorter_than_the_header_is_too_short(int length)
    {
        byte[] batch = BatchTestData.SimpleBatch();
        Assert.Equal(BatchError.TooShort, RecordBatch.TryValidate(batch.AsSpan(0, length), Max, out _));
        Assert.Equal(BatchError.TooShort, RecordBatch.TryReadInfo(batch.AsSpan(0, length), out _));
    }

    [Fact]
    public void Truncated_batch_is_a_length_mismatch()
    {
        byte[] batch = BatchTestData.SimpleBatch();
        for (int length = RecordBatch.HeaderSize; length < batch.Length; length++)
        {
            Assert.Equal(BatchError.LengthMismatch, RecordBatch.TryValidate(batch.AsSpan(0, length), Max, out _));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(1000)]
    [InlineData(int.MaxValue)]
    public void Batch_length_larger_than_the_buffer_is_a_length_mismatch(int extra)
    {
        byte[] batch = BatchTestData.SimpleBatch();
        int claimed = (int)Math.Min((long)batch.Length - 12 + extra, int.MaxValue);
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(RecordBatch.BatchLength), claimed);
        Assert.Equal(BatchError.LengthMismatch, RecordBatch.TryValidate(batch, int.MaxValue, out _));
        Assert.Equal(BatchError.LengthMismatch, RecordBatch.TryReadInfo(batch, out _));
        Assert.Equal((long)claimed + 12, RecordBatch.ReadTotalLength(batch));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(0)]
    [InlineData(48)]
    [InlineData(int.MinValue)]
    public void Batch_length_below_the_header_is_a_length_mismatch(int batchLength)
    {
        byte[] batch = BatchTestData.SimpleBatch();
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(RecordBatch.BatchLength), batchLength);
        Assert.Equal(BatchError.LengthMismatch, RecordBatch.TryValidate(batch, Max, out _));
    }

    [Fact]
    public void Batch_over_the_limit_is_too_large_even_with_a_bad_crc()
    {
        byte[] batch = BatchTestData.SimpleBatch(50);
        Assert.Equal(BatchError.None, RecordBatch.TryValidate(batch, batch.Length, out _));
        Assert.Equal(BatchError.TooLarge, RecordBatch.TryValidate(batch, batch.Length - 1, out _));

        // The size is judged before the CRC is computed.
        batch[^1] ^= 0xFF;
        Assert.Equal(BatchError.TooLarge, RecordBatch.TryValidate(batch, batch.Length - 1, out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    public void Magic_other_than_2_is_unsupported(byte magic)
    {
        byte[] batch = BatchTestData.SimpleBatch();
        batch[RecordBatch.Magic] = magic;
        Assert.Equal(BatchError.UnsupportedMagic, RecordBatch.TryValidate(batch, Max, out _));
        Assert.Equal(BatchError.UnsupportedMagic, RecordBatch.TryReadInfo(batch, out _));
    }

    [Theory]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    public void Unknown_codec_is_invalid_compression(int codec)
    {
        byte[] batch = BatchTestData.SimpleBatch();
        BinaryPrimitives.WriteInt16BigEndian(batch.AsSpan(RecordBatch.Attributes), (short)codec);
        RecordBatch.RecomputeCrc(batch);
        Assert.Equal(BatchError.InvalidCompression, RecordBatch.TryValidate(batch, Max, out _));
    }

    [Theory]
    [InlineData(0, 2)]        // no records
    [InlineData(-1, 2)]       // negative count
    [InlineData(4, 2)]        // more records than offsets
    [InlineData(3, -1)]       // negative lastOffsetDelta
    [InlineData(1000, 5000)]  // more records than the uncompressed bytes can hold
    public void Inconsistent_record_count_is_invalid(int count, int lastOffsetDelta)
    {
        byte[] batch = BatchTestData.SimpleBatch(3);
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(RecordBatch.RecordCount), count);
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(RecordBatch.LastOffsetDelta), lastOffsetDelta);
        RecordBatch.RecomputeCrc(batch);
        Assert.Equal(BatchError.InvalidRecordCount, RecordBatch.TryValidate(batch, Max, out _));
        Assert.Equal(BatchError.InvalidRecordCount, RecordBatch.TryReadInfo(batch, out _));
    }

    [Fact]
    public void Compacted_batch_with_gaps_in_offsets_is_valid()
    {
        // After compaction a batch keeps its lastOffsetDelta but holds fewer records.
        byte[] batch = BatchTestData.SimpleBatch(3);
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(RecordBatch.LastOffsetDelta), 10);
        RecordBatch.RecomputeCrc(batch);
        Assert.Equal(BatchError.None, RecordBatch.TryValidate(batch, Max, out RecordBatchInfo info));
        Assert.Equal(10, info.LastOffsetDelta);
    }

    [Fact]
    public void Only_the_first_of_several_batches_is_validated()
    {
        byte[] first = BatchTestData.SimpleBatch(2);
        byte[] second = BatchTestData.SimpleBatch(4, CompressionCodec.Gzip);
        byte[] buffer = [.. first, .. second, 0xDE, 0xAD];

        Assert.Equal(BatchError.None, RecordBatch.TryValidate(buffer, Max, out RecordBatchInfo a));
        Assert.Equal(first.Length, a.TotalLength);
        Assert.Equal(BatchError.None, RecordBatch.TryValidate(buffer.AsSpan(a.TotalLength), Max, out RecordBatchInfo b));
        Assert.Equal(4, b.RecordCount);
        Assert.Equal(BatchError.TooShort, RecordBatch.TryValidate(buffer.AsSpan(a.TotalLength + b.TotalLength), Max, out _));
    }

    [Fact]
    public void Log_append_time_sets_bit_3_and_max_timestamp_and_keeps_the_crc_valid()
    {
        byte[] batch = BatchTestData.SimpleBatch(3);
        RecordBatch.SetMaxTimestampAndLogAppendTime(batch, 1_800_000_000_000);
        Assert.Equal(BatchError.None, RecordBatch.TryValidate(batch, Max, out RecordBatchInfo info));
        Assert.True(info.IsLogAppendTime);
        Assert.Equal(0x08, info.Attributes & 0x08);
        Assert.Equal(1_800_000_000_000, info.MaxTimestamp);
        Assert.Equal(BatchTestData.FirstTimestamp, info.FirstTimestamp);
        Assert.Equal(CompressionCodec.None, info.Compression);
    }

    [Fact]
    public void Edits_refuse_a_partial_batch()
    {
        byte[] batch = BatchTestData.SimpleBatch(3);
        Assert.Throws<ArgumentException>(() => RecordBatch.SetMaxTimestampAndLogAppendTime(batch.AsSpan(0, batch.Length - 1), 1));
        Assert.Throws<ArgumentException>(() => RecordBatch.RecomputeCrc(batch.AsSpan(0, 40)));
    }

    [Fact]
    public void Read_total_length_needs_twelve_bytes()
    {
        byte[] batch = BatchTestData.SimpleBatch(3);
        Assert.Equal(-1, RecordBatch.ReadTotalLength(batch.AsSpan(0, 11)));
        Assert.Equal(batch.Length, RecordBatch.ReadTotalLength(batch.AsSpan(0, 12)));
    }

    [Fact]
    public void Every_error_has_a_distinct_description()
    {
        BatchError[] all = Enum.GetValues<BatchError>();
        var texts = all.Select(BatchErrors.Describe).ToList();
        Assert.Equal(all.Length, texts.Distinct().Count());
        Assert.All(texts, t => Assert.False(string.IsNullOrWhiteSpace(t)));
        Assert.Contains("CRC", BatchErrors.Describe(BatchError.CrcMismatch), StringComparison.Ordinal);
    }
}
