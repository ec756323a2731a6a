using System.Security.Cryptography;
using OrleansMQ.Silo.Kafka.Network;
using Xunit;
using Xunit.Abstractions;

namespace OrleansMQ.Silo.Tests.Network;

/// <summary>Responses with file regions spliced in, sent by sendfile(2) or copied.</summary>
public sealed class KafkaListenerFileRegionTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("orleansmq-net-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task File_bytes_arrive_intact_between_memory_chunks(bool zeroCopy)
    {
        byte[] content = WriteFile("segment.log", 3 << 20, out string path);
        using var file = File.OpenHandle(path);
        const long offset = 12_345;
        const int length = 2_000_000;
        var processor = new FileRegionProcessor(file, offset, length);
        await using var listener = await TestListener.StartAsync(processor, o => o.ZeroCopy = zeroCopy);
        using var client = await RawKafkaClient.ConnectAsync(listener.Port);

        byte[][] requests = [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]];
        await client.SendAsync(requests.SelectMany(RawKafkaClient.Frame).ToArray()); // pipelined
        foreach (byte[] request in requests)
        {
            byte[] response = await client.ReadFrameOrThrowAsync();
            Assert.Equal(FileRegionProcessor.Expected(request, content.AsSpan((int)offset, length)), response);
        }

        await TestListener.EventuallyAsync(() => processor.Released == requests.Length, "every file region is released after its send");
        Assert.Equal(zeroCopy ? requests.Length * (long)length : 0, listener.Metrics.BytesSentByFile);
        Assert.Equal(requests.Length * (4L + 8 + length + 4), listener.Metrics.BytesOut);
        output.WriteLine(listener.Metrics.ToString());
    }

    [Fact]
    public async Task Sendfile_waits_for_a_slow_reader_when_the_socket_buffer_fills()
    {
        const int length = 32 << 20; // far more than loopback socket buffers hold
        byte[] content = WriteFile("big.log", length, out string path);
        using var file = File.OpenHandle(path);
        var processor = new FileRegionProcessor(file, 0, length);
        await using var listener = await TestListener.StartAsync(processor);
        using var client = await RawKafkaClient.ConnectAsync(listener.Port, receiveBufferSize: 64 * 1024);

        await client.SendFrameAsync([0, 0, 0, 1]);
        await Task.Delay(500); // let sendfile hit EAGAIN while nobody reads
        Assert.True(listener.Metrics.SendFileWaits > 0, "sendfile never found the socket full");
        Assert.InRange(listener.Metrics.BytesSentByFile, 1, length - 1);

        byte[] response = await client.ReadFrameOrThrowAsync();
        Assert.Equal(8 + length + 4, response.Length);
        Assert.Equal(SHA256.HashData(content), SHA256.HashData(response.AsSpan(8, length)));
        Assert.Equal(length, listener.Metrics.BytesSentByFile);
        output.WriteLine(listener.Metrics.ToString());

        // The connection is still in a good state afterwards.
        await client.SendFrameAsync([0, 0, 0, 2]);
        Assert.Equal(8 + length + 4, (await client.ReadFrameOrThrowAsync()).Length);
    }

    [Fact]
    public async Task A_region_past_the_end_of_its_file_closes_the_connection()
    {
        WriteFile("short.log", 1000, out string path);
        using var file = File.OpenHandle(path);
        var processor = new FileRegionProcessor(file, 500, 1000); // 500 bytes missing
        await using var listener = await TestListener.StartAsync(processor);
        using var client = await RawKafkaClient.ConnectAsync(listener.Port);
        await client.SendFrameAsync([1, 2, 3, 4]);
        Assert.True(await client.WaitForCloseAsync(TimeSpan.FromSeconds(5)));
        await TestListener.EventuallyAsync(() => processor.Released == 1, "the region is released anyway");
    }

    private byte[] WriteFile(string name, int size, out string path)
    {
        var content = new byte[size];
        new Random(size).NextBytes(content);
        path = Path.Combine(_directory, name);
        File.WriteAllBytes(path, content);
        return content;
    }
}
