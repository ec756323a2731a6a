using OrleansMQ.Protocol.Batches;
using Xunit;

namespace OrleansMQ.Storage.Tests.Batches;

public class RecordReaderTests
{
    // One valid record: key "k", value "v", no headers.
    private static readonly byte[] OneRecord = [0x10, 0x00, 0x00, 0x00, 0x02, (byte)'k', 0x02, (byte)'v', 0x00];

    [Fact]
    public void Reads_a_hand_encoded_record()
    {
        var reader = new RecordReader(OneRecord, 1);
        Assert.True(reader.TryReadNext(out RecordView record));
        Assert.Equal("k"u8.ToArray(), record.Key.ToArray());
        Assert.Equal("v"u8.ToArray(), record.Value.ToArray());
        Assert.False(record.KeyIsNull);
        Assert.False(record.ValueIsNull);
        Assert.Equal(0, record.HeaderCount);
        Assert.True(record.HeadersRaw.IsEmpty);
        Assert.False(reader.TryReadNext(out _));
    }

    [Fact]
    public void Multi_byte_varints_and_negative_timestamp_delta_decode()
    {
        // length 11, attrs, tsDelta -300 (zigzag 599 = 0xD7 0x04), offsetDelta 200 (zigzag 400 = 0x90 0x03),
        // key null, value empty, one header "h" with a null value.
        byte[] data = [0x16, 0x00, 0xD7, 0x04, 0x90, 0x03, 0x01, 0x00, 0x02, 0x02, (byte)'h', 0x01];
        var reader = new RecordReader(data, 1);
        Assert.True(reader.TryReadNext(out RecordView record));
        Assert.Equal(-300, record.TimestampDelta);
        Assert.Equal(200, record.OffsetDelta);
        Assert.True(record.KeyIsNull);
        Assert.False(record.ValueIsNull);
        Assert.True(record.Value.IsEmpty);
        Assert.Equal(1, record.HeaderCount);
        RecordHeaderReader headers = record.GetHeaders();
        Assert.True(headers.TryReadNext(out RecordHeader header));
        Assert.Equal("h"u8.ToArray(), header.Key.ToArray());
        Assert.True(header.ValueIsNull);
        Assert.False(headers.TryReadNext(out _));
    }

    public static TheoryData<string, byte[], int> Malformed => new()
    {
        { "record length past the end", [0x7E, 0x00, 0x00, 0x00, 0x02, (byte)'k', 0x02, (byte)'v', 0x00], 1 },
        { "record length below minimum", [0x02, 0x00, 0x00, 0x00, 0x02, (byte)'k', 0x02, (byte)'v', 0x00], 1 },
        { "negative record length", [0x01, 0x00, 0x00, 0x00, 0x02, (byte)'k', 0x02, (byte)'v', 0x00], 1 },
        { "record length shorter than its fields", [0x0E, 0x00, 0x00, 0x00, 0x02, (byte)'k', 0x02, (byte)'v', 0x00], 1 },
        { "record length longer than its fields", [0x12, 0x00, 0x00, 0x00, 0x02, (byte)'k', 0x02, (byte)'v', 0x00, 0x00], 1 },
        { "key length past the record", [0x10, 0x00, 0x00, 0x00, 0x7E, (byte)'k', 0x02, (byte)'v', 0x00], 1 },
        { "key length -2", [0x10, 0x00, 0x00, 0x00, 0x03, (byte)'k', 0x02, (byte)'v', 0x00], 1 },
        { "value length past the record", [0x10, 0x00, 0x00, 0x00, 0x02, (byte)'k', 0x10, (byte)'v', 0x00], 1 },
        { "value length huge", [0x16, 0x00, 0x00, 0x00, 0x02, (byte)'k', 0xFE, 0xFF, 0xFF, 0xFF, 0x0F, 0x00], 1 },
        { "header count past the record", [0x10, 0x00, 0x00, 0x00, 0x02, (byte)'k', 0x02, (byte)'v', 0x02], 1 },
        { "negative header count", [0x10, 0x00, 0x00, 0x00, 0x02, (byte)'k', 0x02, (byte)'v', 0x03], 1 },
        { "header key length past the record", [0x10, 0x00, 0x00, 0x00, 0x01, 0x01, 0x02, 0x08, 0x00], 1 },
        { "null header key", [0x10, 0x00, 0x00, 0x00, 0x01, 0x01, 0x02, 0x01, 0x00], 1 },
        { "header value length past the record", [0x10, 0x00, 0x00, 0x00, 0x01, 0x01, 0x02, 0x00, 0x08], 1 },
        { "varint longer than 5 bytes", [0x10, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], 1 },
        { "varint overflowing 32 bits", [0x10, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x00], 1 },
        { "varint cut off", [0x0C, 0x00, 0x00, 0x00, 0x80, 0x80, 0x80], 1 },
        { "varlong longer than 10 bytes", [0x18, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x00], 1 },
        { "length varint cut off", [0x80], 1 },
        { "fewer records than the count", [0x10, 0x00, 0x00, 0x00, 0x02, (byte)'k', 0x02, (byte)'v', 0x00], 2 },
        { "bytes after the last record", [0x10, 0x00, 0x00, 0x00, 0x02, (byte)'k', 0x02, (byte)'v', 0x00, 0x00], 1 },
        { "empty section with a count", [], 1 },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_records_throw_invalid_data(string why, byte[] data, int count)
    {
        InvalidDataException e = Assert.Throws<InvalidDataException>(() => BatchTestData.ReadAll(data, count));
        Assert.False(string.IsNullOrEmpty(e.Message), why);
    }

    [Fact]
    public void Empty_section_with_zero_count_is_fine()
    {
        var reader = new RecordReader([], 0);
        Assert.False(reader.TryReadNext(out _));
    }

    [Fact]
    public void Negative_count_is_an_argument_error() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new RecordReader([], -1));

    [Fact]
    public void Mutated_sections_only_ever_throw_invalid_data()
    {
        // Every single-byte mutation of a real records section either parses or throws
        // InvalidDataException: never IndexOutOfRange, Overflow or ArgumentOutOfRange.
        byte[] batch = BatchTestData.Builder(BatchTestData.MixedRecords().Take(4)).Build();
        byte[] original = batch.AsSpan(RecordBatch.HeaderSize).ToArray();
        byte[] values = [0x00, 0x01, 0x02, 0x7F, 0x80, 0xFE, 0xFF];
        int parsed = 0;
        int refused = 0;
        for (int i = 0; i < original.Length; i++)
        {
            foreach (byte v in values)
            {
                byte[] data = (byte[])original.Clone();
                data[i] = v;
                for (int count = 3; count <= 5; count++)
                {
                    try
                    {
                        BatchTestData.ReadAll(data, count);
                        parsed++;
                    }
                    catch (InvalidDataException)
                    {
                        refused++;
                    }
                }
            }
        }

        Assert.True(parsed > 0);
        Assert.True(refused > 0);
    }

    [Fact]
    public void Random_garbage_only_ever_throws_invalid_data()
    {
        var random = new Random(2024);
        for (int round = 0; round < 20_000; round++)
        {
            var data = new byte[random.Next(0, 64)];
            random.NextBytes(data);
            try
            {
                BatchTestData.ReadAll(data, random.Next(0, 4));
            }
            catch (InvalidDataException)
            {
            }
        }
    }

    [Fact]
    public void Truncations_of_a_valid_section_throw_invalid_data()
    {
        byte[] batch = BatchTestData.Builder(BatchTestData.MixedRecords()).Build();
        byte[] records = batch.AsSpan(RecordBatch.HeaderSize).ToArray();
        Assert.Equal(5, BatchTestData.ReadAll(records, 5));
        for (int length = 0; length < records.Length; length++)
        {
            Assert.Throws<InvalidDataException>(() => BatchTestData.ReadAll(records.AsSpan(0, length), 5));
        }
    }
}
