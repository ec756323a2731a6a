using System.Security.Cryptography;
using System.Text;
using OrleansMQ.Storage.Tiering;
using Xunit;

namespace OrleansMQ.Storage.Tests.Tiering;

/// <summary>
/// The string-to-sign against the examples of Microsoft's "Authorize with Shared Key" page. The
/// signature itself is checked by Azurite, which recomputes it (see AzureBlobStoreTests: every
/// request there is signed, and a wrong key is refused).
/// </summary>
public sealed class SharedKeySignerTests
{
    private static readonly KeyValuePair<string, string>[] NoQuery = [];

    [Fact]
    public void Get_container_metadata_matches_the_documented_string_to_sign()
    {
        // Documented: GET of container metadata on a path-style URL (account repeated in the path),
        // x-ms-date and x-ms-version only, ?restype=container&comp=metadata&timeout=20.
        var s = SharedKeySigner.StringToSign(
            "GET",
            _ => null,
            [new("x-ms-version", "2009-09-19"), new("x-ms-date", "Sun, 11 Oct 2009 21:49:13 GMT")],
            "myaccount",
            "/myaccount/mycontainer",
            [new("restype", "container"), new("comp", "metadata"), new("timeout", "20")]);

        Assert.Equal(
            "GET\n\n\n\n\n\n\n\n\n\n\n\n" +
            "x-ms-date:Sun, 11 Oct 2009 21:49:13 GMT\nx-ms-version:2009-09-19\n" +
            "/myaccount/myaccount/mycontainer\ncomp:metadata\nrestype:container\ntimeout:20",
            s);
    }

    [Fact]
    public void Repeated_query_parameters_are_one_sorted_comma_joined_line()
    {
        // Documented canonicalized resource for ?restype=container&comp=list&include=snapshots&include=metadata&include=uncommittedblobs.
        var s = SharedKeySigner.StringToSign(
            "GET",
            _ => null,
            [],
            "myaccount",
            "/mycontainer",
            [new("restype", "container"), new("comp", "list"), new("include", "snapshots"), new("include", "metadata"), new("include", "uncommittedblobs")]);

        Assert.EndsWith("\n/myaccount/mycontainer\ncomp:list\ninclude:metadata,snapshots,uncommittedblobs\nrestype:container", s, StringComparison.Ordinal);
    }

    [Fact]
    public void Standard_headers_come_in_order_and_zero_length_is_empty()
    {
        var values = new Dictionary<string, string>
        {
            ["Content-Length"] = "0",
            ["Content-MD5"] = "md5==",
            ["Content-Type"] = "application/xml",
            ["If-Match"] = "\"0x1\"",
            ["Range"] = "bytes=0-9",
        };
        var s = SharedKeySigner.StringToSign(
            "put",
            h => values.GetValueOrDefault(h),
            [new("X-MS-Meta-B", "  two   words "), new("x-ms-meta-a", "1"), new("Content-Type", "ignored: not x-ms")],
            "acct",
            "/c/b",
            NoQuery);

        Assert.Equal(
            "PUT\n\n\n\nmd5==\napplication/xml\n\n\n\"0x1\"\n\n\nbytes=0-9\n" +
            "x-ms-meta-a:1\nx-ms-meta-b:two words\n" +
            "/acct/c/b",
            s);
    }

    [Fact]
    public void Authorization_is_hmac_sha256_of_the_utf8_string_with_the_decoded_key()
    {
        var key = Convert.FromBase64String(BlobConnectionString.DevelopmentAccountKey);
        var expected = Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes("GET\nabc")));
        Assert.Equal("SharedKey devstoreaccount1:" + expected, SharedKeySigner.Authorization("devstoreaccount1", key, "GET\nabc"));
    }
}
