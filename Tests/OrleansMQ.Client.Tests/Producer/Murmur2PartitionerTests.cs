using System.Text;
using OrleansMQ.Protocol.Kafka;
using Xunit;

namespace OrleansMQ.Client.Tests.Producer;

/// <summary>The Java client's murmur2, checked against published vectors.</summary>
public sealed class Murmur2PartitionerTests
{
    // Kafka's UtilsTest.testMurmur2 cases (as repeated by other ports' tests).
    [Theory]
    [InlineData("21", -973932308)]
    [InlineData("foobar", -790332482)]
    [InlineData("a-little-bit-long-string", -985981536)]
    [InlineData("a-little-bit-longer-string", -1486304829)]
    [InlineData("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971)]
    [InlineData("abc", 479470107)]
    // Akka's Murmur2Spec, "expected correct hash values from the kafka murmur2 impl".
    [InlineData("1", -1993445489)]
    [InlineData("12", 126087238)]
    [InlineData("123", -267702483)]
    [InlineData("1234", -1614185708)]
    [InlineData("12345", -1188365604)]
    public void Hash_matches_the_java_client(string input, int expected) =>
        Assert.Equal(expected, Murmur2.Hash(Encoding.UTF8.GetBytes(input)));

    [Fact]
    public void Partition_uses_toPositive_not_abs()
    {
        // -973932308 & 0x7fffffff = 1173551340; Math.Abs would give 973932308.
        Assert.Equal(1173551340 % 6, Murmur2.Partition("21"u8, 6));
        Assert.Equal(479470107 % 6, Murmur2.Partition("abc"u8, 6));
        Assert.Equal(0, Murmur2.ToPositive(int.MinValue));
        Assert.All(Enumerable.Range(0, 1000), i => Assert.InRange(Murmur2.Partition(Encoding.UTF8.GetBytes($"k{i}"), 7), 0, 6));
    }
}
