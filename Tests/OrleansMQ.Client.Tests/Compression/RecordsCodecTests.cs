using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using OrleansMQ.Protocol.Batches;
using OrleansMQ.Protocol.Batches.Compression;
using Xunit;

namespace OrleansMQ.Client.Tests.Compression;

/// <summary>
/// The records-section codecs (gzip, xerial Snappy, LZ4 frames, Zstd): round trips, the wire
/// forms Kafka's clients expect, corrupt input as a clear error, and the decompressed-size cap
/// enforced before memory is taken.
/// </summary>
public sealed class RecordsCodecTests
{
    public static TheoryData<CompressionCodec> Codecs => new() { CompressionCodec.Gzip, CompressionCodec.Snappy, CompressionCodec.Lz4, CompressionCodec.Zstd };

    private static byte[] Text(int size)
    {
        // Compressible but not trivial: numbered words with some noise.
        var random = new Random(size);
        var builder = new StringBuilder(size + 32);
        while (builder.Length < size)
        {
            builder.Append("record-").Append(builder.Length % 977).Append(random.Next(100) < 10 ? (char)random.Next(33, 126) : ' ');
        }

        return Encoding.ASCII.GetBytes(builder.ToString(0, size));
    }

    private static byte[] Compress(CompressionCodec codec, ReadOnlySpan<byte> data, int offset = 0)
    {
        byte[] rented = RecordsCodec.Compress(codec, data, offset, out int length);
        try
        {
            return rented.AsSpan(offset, length - offset).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static byte[] Decompress(CompressionCodec codec, ReadOnlySpan<byte> data, int max = RecordsCodec.DefaultMaxDecompressedBytes)
    {
        byte[] rented = RecordsCodec.Decompress(codec, data, max, out int length);
        try
        {
            return rented.AsSpan(0, length).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void Round_trips_small_and_multi_block_inputs(CompressionCodec codec)
    {
        foreach (int size in new[] { 1, 100, 40_000, 300_000 })
        {
            byte[] data = Text(size);
            byte[] compressed = Compress(codec, data);
            Assert.True(compressed.Length < size || size < 200, $"{codec} {size}: {compressed.Length} bytes");
            Assert.Equal(data, Decompress(codec, compressed));

            byte[] random = new byte[size];
            new Random(size).NextBytes(random); // incompressible: stored blocks / literal runs
            Assert.Equal(random, Decompress(codec, Compress(codec, random)));
        }
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void Compress_leaves_the_requested_room_in_front(CompressionCodec codec)
    {
        byte[] data = Text(5000);
        byte[] rented = RecordsCodec.Compress(codec, data, RecordBatch.HeaderSize, out int length);
        try
        {
            Assert.True(length > RecordBatch.HeaderSize);
            Assert.Equal(data, Decompress(codec, rented.AsSpan(RecordBatch.HeaderSize, length - RecordBatch.HeaderSize)));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    [Fact]
    public void Snappy_is_written_in_the_java_clients_xerial_framing_with_32_KiB_chunks()
    {
        byte[] data = Text(100_000);
        byte[] framed = Compress(CompressionCodec.Snappy, data);
        Assert.Equal(new byte[] { 0x82, (byte)'S', (byte)'N', (byte)'A', (byte)'P', (byte)'P', (byte)'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1 }, framed[..16]);

        // Chunks: int32 big-endian length, then a raw Snappy block of at most 32 KiB uncompressed.
        var chunks = new List<int>();
        int p = 16;
        while (p < framed.Length)
        {
            int size = BinaryPrimitives.ReadInt32BigEndian(framed.AsSpan(p));
            chunks.Add(Snappier.Snappy.GetUncompressedLength(framed.AsSpan(p + 4, size)));
            p += 4 + size;
        }

        Assert.Equal(framed.Length, p);
        Assert.Equal([32768, 32768, 32768, 100_000 - (3 * 32768)], chunks);
    }

    [Fact]
    public void Raw_snappy_as_librdkafka_writes_it_is_read_too()
    {
        byte[] data = Text(70_000);
        byte[] raw = Snappier.Snappy.CompressToArray(data);
        Assert.NotEqual(0x82, raw[0]);
        Assert.Equal(data, Decompress(CompressionCodec.Snappy, raw));
    }

    [Fact]
    public void Lz4_is_a_frame_with_independent_64_KiB_blocks_and_no_checksums()
    {
        byte[] frame = Compress(CompressionCodec.Lz4, Text(200_000));
        Assert.Equal(0x184D2204u, BinaryPrimitives.ReadUInt32LittleEndian(frame));

        // FLG: version 01, block independence 1, block checksum 0, content size 0, content checksum 0.
        Assert.Equal(0b0110_0000, frame[4]);

        // BD: block maximum size 4 (64 KiB).
        Assert.Equal(4 << 4, frame[5]);
    }

    [Fact]
    public void Zstd_is_one_frame_that_declares_its_size()
    {
        byte[] data = Text(50_000);
        byte[] frame = Compress(CompressionCodec.Zstd, data);
        Assert.Equal(0xFD2FB528u, BinaryPrimitives.ReadUInt32LittleEndian(frame));
        Assert.Equal((ulong)data.Length, ZstdSharp.Decompressor.GetDecompressedSize(frame));
    }

    [Fact]
    public void Zstd_frames_without_a_declared_size_stream_through_the_cap()
    {
        // What zstd-jni's stream (the Java client) writes: no content size in the header.
        byte[] data = Text(200_000);
        using var output = new MemoryStream();
        using (var stream = new ZstdSharp.CompressionStream(output, 3))
        {
            stream.Write(data);
        }

        byte[] streamed = output.ToArray();
        Assert.Equal(data, Decompress(CompressionCodec.Zstd, streamed));
        var error = Assert.Throws<InvalidDataException>(() => Decompress(CompressionCodec.Zstd, streamed, max: 100_000));
        Assert.Contains("100000-byte limit", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void Corrupt_or_truncated_input_is_an_InvalidDataException_naming_the_codec(CompressionCodec codec)
    {
        byte[] good = Compress(codec, Text(100_000));
        byte[] truncated = good[..(good.Length / 2)];
        // No codec here carries a checksum of its output (Kafka relies on the batch CRC), so a
        // flipped literal can decode silently; a broken header or block length cannot.
        byte[] flipped = (byte[])good.Clone();
        flipped[codec == CompressionCodec.Snappy ? 17 : 1] ^= 0x5A;

        byte[] garbage = Encoding.ASCII.GetBytes("this is not compressed data, whatever the attributes say");
        foreach (byte[] bad in new[] { truncated, flipped, garbage, [] })
        {
            var error = Assert.ThrowsAny<InvalidDataException>(() => Decompress(codec, bad));
            Assert.Contains(codec.ToString(), error.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void A_bomb_is_refused_at_the_cap_without_taking_its_size_in_memory(CompressionCodec codec)
    {
        const int Cap = 1 << 20;
        byte[] zeros = new byte[48 << 20];
        byte[] bomb = Compress(codec, zeros);
        Assert.True(bomb.Length < 4 << 20, $"{codec}: {bomb.Length} bytes");
        zeros = [];

        Decompress(codec, Compress(codec, new byte[10]), Cap); // warm up the codec's own buffers
        long before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<InvalidDataException>(() => Decompress(codec, bomb, Cap));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains($"{Cap}-byte limit", error.Message, StringComparison.Ordinal);
        Assert.True(allocated < 12 << 20, $"{codec}: {allocated} bytes allocated while refusing a 48 MiB bomb at a 1 MiB cap");
    }

    [Fact]
    public void Snappy_lengths_are_checked_before_anything_is_rented()
    {
        // A raw block whose varint header claims 1 GiB, and a xerial chunk doing the same.
        byte[] raw = [0x80, 0x80, 0x80, 0x80, 0x04, 0x00];
        byte[] xerial = [0x82, (byte)'S', (byte)'N', (byte)'A', (byte)'P', (byte)'P', (byte)'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 6, .. raw];
        foreach (byte[] bad in new[] { raw, xerial })
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            var error = Assert.Throws<InvalidDataException>(() => Decompress(CompressionCodec.Snappy, bad, 1 << 20));
            Assert.Contains("limit", error.Message, StringComparison.Ordinal);
            Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 << 10);
        }
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void Built_batches_validate_and_read_back_the_same_records_in_every_codec(CompressionCodec codec)
    {
        var plain = new RecordBatchBuilder();
        var compressed = new RecordBatchBuilder(codec);
        long t0 = 1_700_000_000_000;
        for (int i = 0; i < 500; i++)
        {
            byte[] key = Encoding.UTF8.GetBytes($"key-{i % 13}");
            byte[] value = Text(50 + (i * 7 % 900));
            KeyValuePair<string, byte[]>[] headers = [new("i", BitConverter.GetBytes(i))];
            plain.Add(key, value, t0 + i, headers);
            compressed.Add(key, value, t0 + i, headers);
        }

        byte[] batch = compressed.Build();
        Assert.Equal(BatchError.None, RecordBatch.TryValidate(batch, int.MaxValue, out var info));
        Assert.Equal(codec, info.Compression);
        Assert.Equal(500, info.RecordCount);
        Assert.True(batch.Length < plain.GetSize() / 2, $"{codec}: {batch.Length} of {plain.GetSize()}");

        byte[] reference = plain.Build();
        Assert.Equal(BatchError.None, RecordBatch.TryValidate(reference, int.MaxValue, out var plainInfo));
        using var expected = RecordBatchRecords.GetRecords(reference, plainInfo);
        using var actual = RecordBatchRecords.GetRecords(batch, info);
        Assert.True(actual.IsPooled);
        Assert.True(expected.Span.SequenceEqual(actual.Span));
    }

    [Fact]
    public void Codec_values_kafka_does_not_define_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new RecordBatchBuilder((CompressionCodec)5));
        Assert.Throws<ArgumentException>(() => RecordsCodec.Compress(CompressionCodec.None, [1, 2, 3], 0, out _));
    }
}
