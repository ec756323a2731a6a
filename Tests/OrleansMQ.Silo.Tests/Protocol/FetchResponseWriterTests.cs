using System.Buffers;
using Microsoft.Win32.SafeHandles;
using OrleansMQ.Silo.Kafka.Network;
using OrleansMQ.Protocol.Kafka;
using Xunit;

namespace OrleansMQ.Silo.Tests.Protocol;

/// <summary>The streaming Fetch writer with record data spliced in as file regions.</summary>
public sealed class FetchResponseWriterTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), "omq-fetch-" + Guid.NewGuid().ToString("N"));
    private readonly byte[] _fileBytes = Enumerable.Range(0, 4096).Select(i => (byte)(i * 31)).ToArray();

    public FetchResponseWriterTests() => File.WriteAllBytes(_path, _fileBytes);

    public void Dispose() => File.Delete(_path);

    [Theory]
    [InlineData(4)]
    [InlineData(7)]
    [InlineData(11)]
    [InlineData(12)]
    public void Record_data_from_files_is_spliced_between_the_fields(short version)
    {
        using var handle = File.OpenHandle(_path);
        int released = 0;
        var regionA = new FileRegion(handle, offset: 100, length: 50, release: _ => released++);
        var regionB = new FileRegion(handle, offset: 1000, length: 700, release: _ => released++);
        byte[] inMemory = [1, 2, 3, 4, 5];

        using var response = new KafkaResponse();
        var fetch = new FetchResponseWriter(response, version);
        fetch.WriteResponseHeader(77);
        fetch.Begin(throttleTimeMs: 0, ErrorCode.None, sessionId: 5, topicCount: 2);
        fetch.BeginTopic("orders", 3);
        fetch.BeginPartition(new FetchPartitionHeader(0, ErrorCode.None, 500, 500, 0, AbortedTransactions: [new AbortedTransaction(3, 20)]), regionA.Length + regionB.Length);
        response.AddFileRegion(regionA); // one partition's data may span two segment files
        response.AddFileRegion(regionB);
        fetch.BeginPartition(new FetchPartitionHeader(1, ErrorCode.None, 5), inMemory.Length);
        fetch.WriteRecords(inMemory);
        fetch.BeginPartition(new FetchPartitionHeader(2, ErrorCode.OffsetOutOfRange, 0), -1);
        fetch.BeginTopic("empty", 0);
        fetch.End();
        response.Complete();

        var kinds = response.Chunks.Select(c => c.IsFile).ToList();
        Assert.Equal([false, true, true, false], kinds);
        byte[] wire = Assemble(response, handle);
        Assert.Equal(response.Length, wire.Length);

        var reader = new KafkaReader(wire);
        Assert.Equal(77, ResponseHeader.Read(ref reader, ApiKey.Fetch, version));
        var decoded = FetchResponse.Read(ref reader, version);
        Assert.True(reader.IsAtEnd);

        Assert.Equal(version >= 7 ? 5 : 0, decoded.SessionId);
        Assert.Equal(["orders", "empty"], decoded.Topics.Select(t => t.Name));
        var partitions = decoded.Topics[0].Partitions;
        Assert.Equal(_fileBytes.AsSpan(100, 50).ToArray().Concat(_fileBytes.AsSpan(1000, 700).ToArray()), partitions[0].Records!.Value.ToArray());
        Assert.Equal([new AbortedTransaction(3, 20)], partitions[0].AbortedTransactions!);
        Assert.Equal(inMemory, partitions[1].Records!.Value.ToArray());
        Assert.Null(partitions[2].Records);
        Assert.Equal(ErrorCode.OffsetOutOfRange, partitions[2].ErrorCode);
        Assert.Empty(decoded.Topics[1].Partitions);

        response.Reset();
        Assert.Equal(2, released);
    }

    [Fact]
    public void Misuse_is_reported()
    {
        var output = new ArrayBufferWriter<byte>();
        Assert.Throws<InvalidOperationException>(() =>
        {
            var w = new FetchResponseWriter(output, 12);
            w.Begin(0, ErrorCode.None, 0, 1);
            w.End();
        });
        Assert.Throws<InvalidOperationException>(() =>
        {
            var w = new FetchResponseWriter(output, 12);
            w.Begin(0, ErrorCode.None, 0, 1);
            w.BeginTopic("a", 0);
            w.BeginTopic("b", 0);
        });
        Assert.Throws<InvalidOperationException>(() =>
        {
            var w = new FetchResponseWriter(output, 11);
            w.Begin(0, ErrorCode.None, 0, 1);
            w.BeginTopic("a", 2);
            w.BeginPartition(new FetchPartitionHeader(0, ErrorCode.None, 0), 0);
            w.End();
        });
        Assert.Throws<InvalidOperationException>(() =>
        {
            var w = new FetchResponseWriter(output, 11);
            w.Begin(0, ErrorCode.None, 0, 1);
            w.BeginTopic("a", 1);
            w.WriteRecords([1]);
        });
        Assert.Throws<InvalidOperationException>(() =>
        {
            var w = new FetchResponseWriter(output, 11);
            w.Begin(0, ErrorCode.None, 0, 0);
            w.WriteResponseHeader(1);
        });
        Assert.Throws<ArgumentOutOfRangeException>(() => new FetchResponseWriter(output, 13));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FetchResponseWriter(output, 1));
    }

    private static byte[] Assemble(KafkaResponse response, SafeFileHandle handle)
    {
        var all = new List<byte>();
        foreach (var chunk in response.Chunks)
        {
            if (chunk.IsFile)
            {
                byte[] part = new byte[chunk.Count];
                Assert.Equal(part.Length, RandomAccess.Read(chunk.File.File, part, chunk.File.Offset));
                Assert.Same(handle, chunk.File.File);
                all.AddRange(part);
            }
            else
            {
                all.AddRange(chunk.Buffer.AsSpan(0, chunk.Count).ToArray());
            }
        }

        return [.. all];
    }
}
