using OrleansMQ.Protocol.Batches;
using Xunit;

namespace OrleansMQ.Storage.Tests.Batches;

public class Crc32CTests
{
    [Fact]
    public void Check_value_of_123456789_is_E3069283()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
        Assert.Equal(0xE3069283u, Crc32C.ComputeSoftware("123456789"u8));
    }

    [Fact]
    public void Empty_input_is_zero()
    {
        Assert.Equal(0u, Crc32C.Compute([]));
        Assert.Equal(0u, Crc32C.ComputeSoftware([]));
        Assert.Equal(0x12345678u, Crc32C.Append(0x12345678u, []));
    }

    // RFC 3720 (iSCSI) appendix B.4 test vectors.
    [Theory]
    [InlineData(0x00, 0, 0x8A9136AAu)]
    [InlineData(0xFF, 0, 0x62A8AB43u)]
    [InlineData(-1, 1, 0x46DD794Eu)]
    [InlineData(-1, -1, 0x113FDB5Cu)]
    public void Rfc3720_vectors(int fill, int step, uint expected)
    {
        var data = new byte[32];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = fill >= 0 ? (byte)fill : (byte)(step > 0 ? i : 31 - i);
        }

        Assert.Equal(expected, Crc32C.Compute(data));
        Assert.Equal(expected, Crc32C.ComputeSoftware(data));
    }

    [Fact]
    public void Hardware_and_software_agree_on_every_length_and_alignment()
    {
        var random = new Random(1234);
        var buffer = new byte[5000 + 8];
        random.NextBytes(buffer);
        for (int length = 0; length <= 5000; length += length < 300 ? 1 : 37)
        {
            for (int misalign = 0; misalign < 8; misalign++)
            {
                ReadOnlySpan<byte> data = buffer.AsSpan(misalign, length);
                Assert.Equal(Crc32C.ComputeSoftware(data), Crc32C.Compute(data));
            }
        }

        ReadOnlySpan<byte> whole = buffer.AsSpan(3, 5000);
        Assert.Equal(Crc32C.ComputeSoftware(whole), Crc32C.Compute(whole));
    }

    [Fact]
    public void Append_composes_at_every_split()
    {
        var random = new Random(99);
        var data = new byte[257];
        random.NextBytes(data);
        uint whole = Crc32C.Compute(data);
        for (int split = 0; split <= data.Length; split++)
        {
            Assert.Equal(whole, Crc32C.Append(Crc32C.Compute(data.AsSpan(0, split)), data.AsSpan(split)));
            Assert.Equal(whole, Crc32C.AppendSoftware(Crc32C.ComputeSoftware(data.AsSpan(0, split)), data.AsSpan(split)));
        }
    }

    [Fact]
    public void Append_in_many_pieces_equals_one_pass()
    {
        var random = new Random(7);
        var data = new byte[4096];
        random.NextBytes(data);
        uint crc = 0;
        int position = 0;
        while (position < data.Length)
        {
            int piece = Math.Min(random.Next(0, 40), data.Length - position);
            crc = Crc32C.Append(crc, data.AsSpan(position, piece));
            position += piece;
        }

        Assert.Equal(Crc32C.Compute(data), crc);
    }

    [Fact]
    public void Single_bit_flip_changes_the_crc()
    {
        var data = new byte[1024];
        new Random(5).NextBytes(data);
        uint original = Crc32C.Compute(data);
        for (int bit = 0; bit < data.Length * 8; bit += 61)
        {
            data[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.NotEqual(original, Crc32C.Compute(data));
            data[bit / 8] ^= (byte)(1 << (bit % 8));
        }
    }
}
