using OrleansMQ.Storage.Tiering;
using Xunit;

namespace OrleansMQ.Storage.Tests.Tiering;

public sealed class BlobConnectionStringTests
{
    // A made-up key (valid base64); the tests check it never shows up in messages.
    private const string Key = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY3ODkwYWJjZGVm";

    [Fact]
    public void Development_storage_is_azurite_on_10000_with_the_well_known_account()
    {
        var cs = BlobConnectionString.Parse("UseDevelopmentStorage=true");
        Assert.Equal("devstoreaccount1", cs.AccountName);
        Assert.Equal(new Uri("http://127.0.0.1:10000/devstoreaccount1"), cs.BlobEndpoint);
        Assert.Equal(64, cs.Key.Length);
    }

    [Fact]
    public void Full_form_with_explicit_blob_endpoint_is_path_style()
    {
        var cs = BlobConnectionString.Parse($"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={Key};BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1/;");
        Assert.Equal("devstoreaccount1", cs.AccountName);
        Assert.Equal("http://127.0.0.1:10000/devstoreaccount1", cs.BlobEndpoint.ToString().TrimEnd('/'));
        Assert.Equal(Convert.FromBase64String(Key), cs.Key.ToArray());
    }

    [Fact]
    public void Endpoint_is_built_from_protocol_account_and_suffix()
    {
        var cs = BlobConnectionString.Parse($"defaultendpointsprotocol=https; accountname=acct1 ;AccountKey={Key};EndpointSuffix=core.chinacloudapi.cn");
        Assert.Equal(new Uri("https://acct1.blob.core.chinacloudapi.cn"), cs.BlobEndpoint);

        var plain = BlobConnectionString.Parse($"AccountName=acct1;AccountKey={Key}");
        Assert.Equal(new Uri("https://acct1.blob.core.windows.net"), plain.BlobEndpoint);
    }

    [Fact]
    public void ToString_redacts_the_key()
    {
        var cs = BlobConnectionString.Parse($"AccountName=acct1;AccountKey={Key}");
        Assert.DoesNotContain(Key, cs.ToString(), StringComparison.Ordinal);
        Assert.Contains("<redacted>", cs.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData(";;", "empty")]
    [InlineData("UseDevelopmentStorage=false", "UseDevelopmentStorage")]
    [InlineData("AccountKey=" + Key, "no AccountName")]
    [InlineData("AccountName=acct1", "no AccountKey")]
    [InlineData("AccountName=acct1;AccountKey=" + Key + ";BlobEndpoint=ftp://x/y", "BlobEndpoint")]
    [InlineData("AccountName=acct1;AccountKey=" + Key + ";BlobEndpoint=not a url", "BlobEndpoint")]
    [InlineData("AccountName=acct1;AccountKey=" + Key + ";DefaultEndpointsProtocol=gopher", "DefaultEndpointsProtocol")]
    [InlineData("AccountName=acct1;AccountName=acct2;AccountKey=" + Key, "more than once")]
    [InlineData("AccountName=acct1;" + Key, "not 'Name=Value'")]
    [InlineData("BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=sv=2021&sig=" + Key, "SharedAccessSignature")]
    public void Malformed_strings_say_what_is_wrong_without_the_key(string connectionString, string expected)
    {
        var ex = Assert.Throws<FormatException>(() => BlobConnectionString.Parse(connectionString));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Key, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Key[..12], ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_that_is_not_base64_is_refused_without_echoing_it()
    {
        const string badKey = "this-is-not*base64!!secretvalue";
        var ex = Assert.Throws<FormatException>(() => BlobConnectionString.Parse($"AccountName=acct1;AccountKey={badKey}"));
        Assert.Contains("not valid base64", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secretvalue", ex.Message, StringComparison.Ordinal);
        Assert.Null(ex.InnerException);
    }
}
