using System.Text;
using OrleansMQ.Protocol.Batches;

namespace OrleansMQ.Storage.Tests.Batches;

/// <summary>A record as the tests expect to read it back.</summary>
internal sealed record ExpectedRecord(byte[]? Key, byte[]? Value, long Timestamp, KeyValuePair<string, byte[]>[] Headers);

internal static class BatchTestData
{
    public const long FirstTimestamp = 1_700_000_000_000;

    /// <summary>Mixed records: keys, null key, empty key and value, tombstone, headers incl. a null header value, out-of-order timestamps.</summary>
    public static List<ExpectedRecord> MixedRecords() =>
    [
        new("key-0"u8.ToArray(), "value-0"u8.ToArray(), FirstTimestamp, []),
        new(null, "no key"u8.ToArray(), FirstTimestamp + 5, []),
        new([], [], FirstTimestamp + 3, [new("trace", "abc"u8.ToArray()), new("empty", [])]),
        new("tomb"u8.ToArray(), null, FirstTimestamp + 900, [new("nullvalue", null!)]),
        new("big"u8.ToArray(), Enumerable.Range(0, 3000).Select(i => (byte)i).ToArray(), FirstTimestamp - 20, [new("héader", Encoding.UTF8.GetBytes("ünicode"))]),
    ];

    public static RecordBatchBuilder Builder(IEnumerable<ExpectedRecord> records, CompressionCodec codec = CompressionCodec.None)
    {
        var builder = new RecordBatchBuilder(codec);
        foreach (ExpectedRecord r in records)
        {
            if (r.Value is null)
            {
                builder.AddTombstone(r.Key, r.Timestamp, r.Headers);
            }
            else if (r.Key is null)
            {
                builder.Add(r.Value, r.Timestamp, r.Headers);
            }
            else
            {
                builder.Add(r.Key, r.Value, r.Timestamp, r.Headers);
            }
        }

        return builder;
    }

    public static byte[] SimpleBatch(int records = 3, CompressionCodec codec = CompressionCodec.None)
    {
        var builder = new RecordBatchBuilder(codec);
        for (int i = 0; i < records; i++)
        {
            builder.Add(Encoding.UTF8.GetBytes($"k{i}"), Encoding.UTF8.GetBytes($"value number {i}"), FirstTimestamp + i);
        }

        return builder.Build();
    }

    /// <summary>Runs a reader to the end; returns how many records it produced.</summary>
    public static int ReadAll(ReadOnlySpan<byte> records, int count)
    {
        var reader = new RecordReader(records, count);
        int n = 0;
        while (reader.TryReadNext(out RecordView record))
        {
            var headers = record.GetHeaders();
            while (headers.TryReadNext(out _))
            {
            }

            n++;
        }

        return n;
    }
}
