using System.Buffers.Binary;
using OrleansMQ.Protocol.Batches;
using Xunit;

namespace OrleansMQ.Storage.Tests.Batches;

public class RecordBatchRoundTripTests
{
    [Theory]
    [InlineData(CompressionCodec.None)]
    [InlineData(CompressionCodec.Gzip)]
    public void Records_read_back_with_keys_values_headers_offsets_and_timestamps(CompressionCodec codec)
    {
        List<ExpectedRecord> expected = BatchTestData.MixedRecords();
        byte[] batch = BatchTestData.Builder(expected, codec).Build();
        Assert.Equal(BatchError.None, RecordBatch.TryValidate(batch, 1 << 20, out RecordBatchInfo info));

        RecordsSection section = RecordBatchRecords.GetRecords(batch, info);
        using (section)
        {
            Assert.Equal(codec == CompressionCodec.Gzip, section.IsPooled);
            RecordReader reader = section.CreateReader();
            int i = 0;
            while (reader.TryReadNext(out RecordView record))
            {
                ExpectedRecord e = expected[i];
                Assert.Equal(i, record.OffsetDelta);
                Assert.Equal(e.Timestamp, info.FirstTimestamp + record.TimestampDelta);
                Assert.Equal(e.Key is null, record.KeyIsNull);
                Assert.Equal(e.Key ?? [], record.Key.ToArray());
                Assert.Equal(e.Value is null, record.ValueIsNull);
                Assert.Equal(e.Value ?? [], record.Value.ToArray());
                Assert.Equal(0, record.Attributes);
                Assert.Equal(e.Headers.Length, record.HeaderCount);

                RecordHeaderReader headers = record.GetHeaders();
                int h = 0;
                while (headers.TryReadNext(out RecordHeader header))
                {
                    Assert.Equal(e.Headers[h].Key, System.Text.Encoding.UTF8.GetString(header.Key));
                    Assert.Equal(e.Headers[h].Value is null, header.ValueIsNull);
                    Assert.Equal(e.Headers[h].Value ?? [], header.Value.ToArray());
                    h++;
                }

                Assert.Equal(e.Headers.Length, h);
                i++;
            }

            Assert.Equal(expected.Count, i);
            Assert.Equal(expected.Count, reader.RecordsRead);
        }
    }

    [Fact]
    public void Gzip_records_section_is_a_standard_gzip_stream_of_the_uncompressed_records()
    {
        List<ExpectedRecord> records = BatchTestData.MixedRecords();
        byte[] plain = BatchTestData.Builder(records).Build();
        byte[] gzip = BatchTestData.Builder(records, CompressionCodec.Gzip).Build();

        Assert.Equal(0x1F, gzip[RecordBatch.HeaderSize]);
        Assert.Equal(0x8B, gzip[RecordBatch.HeaderSize + 1]);
        using var input = new MemoryStream(gzip, RecordBatch.HeaderSize, gzip.Length - RecordBatch.HeaderSize);
        using var unzip = new System.IO.Compression.GZipStream(input, System.IO.Compression.CompressionMode.Decompress);
        using var output = new MemoryStream();
        unzip.CopyTo(output);
        Assert.Equal(plain.AsSpan(RecordBatch.HeaderSize).ToArray(), output.ToArray());

        // The header outside the records section is identical apart from length, codec and CRC.
        Assert.Equal(plain.AsSpan(RecordBatch.LastOffsetDelta, 38).ToArray(), gzip.AsSpan(RecordBatch.LastOffsetDelta, 38).ToArray());
    }

    [Fact]
    public void Builder_writes_the_exact_kafka_bytes_for_one_record()
    {
        var builder = new RecordBatchBuilder();
        builder.Add("k"u8, "v"u8, 1000);
        byte[] batch = builder.Build();

        // Record: length 8 (zigzag 0x10), attributes 0, tsDelta 0, offsetDelta 0,
        // keyLength 1 (zigzag 0x02) 'k', valueLength 1 (0x02) 'v', headerCount 0.
        byte[] record = [0x10, 0x00, 0x00, 0x00, 0x02, (byte)'k', 0x02, (byte)'v', 0x00];
        byte[] expected = new byte[RecordBatch.HeaderSize + record.Length];
        BinaryPrimitives.WriteInt64BigEndian(expected.AsSpan(0), 0);                          // baseOffset
        BinaryPrimitives.WriteInt32BigEndian(expected.AsSpan(8), expected.Length - 12);       // batchLength
        BinaryPrimitives.WriteInt32BigEndian(expected.AsSpan(12), -1);                        // partitionLeaderEpoch
        expected[16] = 2;                                                                      // magic
        BinaryPrimitives.WriteInt16BigEndian(expected.AsSpan(21), 0);                          // attributes
        BinaryPrimitives.WriteInt32BigEndian(expected.AsSpan(23), 0);                          // lastOffsetDelta
        BinaryPrimitives.WriteInt64BigEndian(expected.AsSpan(27), 1000);                       // firstTimestamp
        BinaryPrimitives.WriteInt64BigEndian(expected.AsSpan(35), 1000);                       // maxTimestamp
        BinaryPrimitives.WriteInt64BigEndian(expected.AsSpan(43), -1);                         // producerId
        BinaryPrimitives.WriteInt16BigEndian(expected.AsSpan(51), -1);                         // producerEpoch
        BinaryPrimitives.WriteInt32BigEndian(expected.AsSpan(53), -1);                         // baseSequence
        BinaryPrimitives.WriteInt32BigEndian(expected.AsSpan(57), 1);                          // recordCount
        record.CopyTo(expected, 61);
        BinaryPrimitives.WriteUInt32BigEndian(expected.AsSpan(17), Crc32C.Compute(expected.AsSpan(21)));

        Assert.Equal(expected, batch);
    }

    [Fact]
    public void Null_key_and_null_value_encode_as_minus_one()
    {
        var builder = new RecordBatchBuilder();
        builder.Add("v"u8, 5);
        builder.AddTombstone("k"u8, 4);
        byte[] batch = builder.Build();

        // Record 0: len, attrs, tsDelta 0, offsetDelta 0, keyLength -1 (zigzag 0x01), valueLength 1, 'v', headers 0.
        Assert.Equal(new byte[] { 0x0E, 0x00, 0x00, 0x00, 0x01, 0x02, (byte)'v', 0x00 }, batch.AsSpan(61, 8).ToArray());
        // Record 1: tsDelta -1 (zigzag 0x01), offsetDelta 1 (0x02), key 'k', valueLength -1 (0x01).
        Assert.Equal(new byte[] { 0x0E, 0x00, 0x01, 0x02, 0x02, (byte)'k', 0x01, 0x00 }, batch.AsSpan(69, 8).ToArray());
        Assert.Equal(BatchError.None, RecordBatch.TryValidate(batch, 1 << 20, out RecordBatchInfo info));
        Assert.Equal(5, info.FirstTimestamp);
        Assert.Equal(5, info.MaxTimestamp);
    }

    [Fact]
    public void Build_into_a_span_matches_build_and_checks_room()
    {
        RecordBatchBuilder builder = BatchTestData.Builder(BatchTestData.MixedRecords(), CompressionCodec.Gzip);
        byte[] built = builder.Build();
        var destination = new byte[built.Length + 10];
        Assert.Equal(built.Length, builder.Build(destination));
        Assert.Equal(built, destination.AsSpan(0, built.Length).ToArray());
        Assert.Throws<ArgumentException>(() => builder.Build(new byte[built.Length - 1]));
    }

    [Fact]
    public void Builder_is_reusable_after_clear_and_refuses_an_empty_batch()
    {
        var builder = new RecordBatchBuilder(CompressionCodec.Gzip);
        Assert.Throws<InvalidOperationException>(() => builder.Build());
        builder.Add("a"u8, "1"u8, 10);
        byte[] first = builder.Build();
        builder.Add("b"u8, "2"u8, 11);
        Assert.Equal(2, builder.Count);
        Assert.Equal(BatchError.None, RecordBatch.TryValidate(builder.Build(), 1 << 20, out RecordBatchInfo two));
        Assert.Equal(2, two.RecordCount);
        builder.Clear();
        Assert.Equal(0, builder.Count);
        builder.Add("a"u8, "1"u8, 10);
        Assert.Equal(first, builder.Build());
    }

    [Theory]
    [InlineData((CompressionCodec)5)]
    [InlineData((CompressionCodec)7)]
    public void Builder_refuses_codecs_kafka_does_not_define(CompressionCodec codec) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new RecordBatchBuilder(codec));

    [Fact]
    public void Large_batch_with_multi_byte_varints_round_trips()
    {
        var builder = new RecordBatchBuilder();
        var value = new byte[20_000];
        new Random(3).NextBytes(value);
        for (int i = 0; i < 300; i++)
        {
            builder.Add(BitConverter.GetBytes(i), value.AsSpan(0, i * 50), BatchTestData.FirstTimestamp + (i * 100_000L));
        }

        byte[] batch = builder.Build();
        Assert.Equal(BatchError.None, RecordBatch.TryValidate(batch, int.MaxValue, out RecordBatchInfo info));
        Assert.Equal(299, info.LastOffsetDelta);
        Assert.Equal(BatchTestData.FirstTimestamp + (299 * 100_000L), info.MaxTimestamp);
        RecordsSection section = RecordBatchRecords.GetRecords(batch, info);
        using (section)
        {
            RecordReader reader = section.CreateReader();
            int i = 0;
            while (reader.TryReadNext(out RecordView record))
            {
                Assert.Equal(i, BitConverter.ToInt32(record.Key));
                Assert.True(record.Value.SequenceEqual(value.AsSpan(0, i * 50)));
                Assert.Equal(i * 100_000L, record.TimestampDelta);
                i++;
            }

            Assert.Equal(300, i);
        }
    }
}
