using Azure.Identity;
using OrleansMQ.Storage.Tiering;
using Xunit;

namespace OrleansMQ.Storage.Tests.Tiering;

/// <summary>How the tier reaches its account: the connection-string forms, the account URL, and the checks on them. No network.</summary>
public sealed class BlobStoreConfigurationTests
{
    // A made-up key (valid base64); the tests check it never shows up in messages.
    private const string Key = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY3ODkwYWJjZGVm";

    [Fact]
    public void Development_storage_is_azurite_on_10000_with_the_well_known_account()
    {
        using var store = AzureBlobStore.FromConnectionString("UseDevelopmentStorage=true", "segments");
        Assert.Equal(new Uri("http://127.0.0.1:10000/devstoreaccount1/segments"), store.Endpoint);
    }

    [Fact]
    public void Full_form_with_explicit_blob_endpoint_is_path_style()
    {
        using var store = AzureBlobStore.FromConnectionString($"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={Key};BlobEndpoint=http://127.0.0.1:10001/devstoreaccount1;", "segments");
        Assert.Equal(new Uri("http://127.0.0.1:10001/devstoreaccount1/segments"), store.Endpoint);
    }

    [Fact]
    public void Endpoint_is_built_from_protocol_account_and_suffix()
    {
        using var china = AzureBlobStore.FromConnectionString($"DefaultEndpointsProtocol=https;AccountName=acct1;AccountKey={Key};EndpointSuffix=core.chinacloudapi.cn", "segments");
        Assert.Equal(new Uri("https://acct1.blob.core.chinacloudapi.cn/segments"), china.Endpoint);

        using var plain = AzureBlobStore.FromConnectionString($"DefaultEndpointsProtocol=https;AccountName=acct1;AccountKey={Key}", "segments");
        Assert.Equal(new Uri("https://acct1.blob.core.windows.net/segments"), plain.Endpoint);
    }

    [Fact]
    public void Account_url_with_a_credential_needs_no_key()
    {
        // DefaultAzureCredential asks for a token at the first request, not here.
        using var store = AzureBlobStore.FromAccountUrl(new Uri("https://acct1.blob.core.windows.net"), new DefaultAzureCredential(), "segments");
        Assert.Equal(new Uri("https://acct1.blob.core.windows.net/segments"), store.Endpoint);
    }

    [Theory]
    [InlineData("")]
    [InlineData("AccountName=acct1;" + Key)]
    [InlineData("this is not a connection string " + Key)]
    [InlineData("DefaultEndpointsProtocol=https;AccountName=acct1;AccountKey=not*base64!" + Key)]
    public void Malformed_strings_are_refused_without_the_key(string connectionString)
    {
        var ex = Assert.Throws<FormatException>(() => AzureBlobStore.FromConnectionString(connectionString, "segments"));
        Assert.Contains("connection string", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Key[..12], ex.Message, StringComparison.Ordinal);
        Assert.Null(ex.InnerException);
    }

    [Fact]
    public void Exactly_one_of_connection_string_and_account_url()
    {
        var neither = Assert.Throws<ArgumentException>(() => new TieringOptions().Validate());
        Assert.Contains("Tiering.ConnectionString or Tiering.AccountUrl must be set", neither.Message, StringComparison.Ordinal);

        var both = Assert.Throws<ArgumentException>(() => new TieringOptions { ConnectionString = "UseDevelopmentStorage=true", AccountUrl = new Uri("https://acct1.blob.core.windows.net") }.Validate());
        Assert.Contains("both set", both.Message, StringComparison.Ordinal);

        new TieringOptions { ConnectionString = "UseDevelopmentStorage=true" }.Validate();
        new TieringOptions { AccountUrl = new Uri("https://acct1.blob.core.windows.net"), ManagedIdentityClientId = "00000000-0000-0000-0000-000000000001" }.Validate();
    }

    [Fact]
    public void Bad_connection_string_is_named_without_its_key()
    {
        var ex = Assert.Throws<ArgumentException>(() => new TieringOptions { ConnectionString = "AccountName=acct1;" + Key }.Validate());
        Assert.Contains("Tiering.ConnectionString is invalid", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Key[..12], ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ftp://acct1.blob.core.windows.net")]
    [InlineData("https://acct1.blob.core.windows.net/?sv=2021&sig=abc")]
    public void Account_url_must_be_a_plain_http_endpoint(string url)
    {
        var ex = Assert.Throws<ArgumentException>(() => new TieringOptions { AccountUrl = new Uri(url) }.Validate());
        Assert.Contains("Tiering.AccountUrl", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Managed_identity_client_id_needs_an_account_url()
    {
        var ex = Assert.Throws<ArgumentException>(() => new TieringOptions { ConnectionString = "UseDevelopmentStorage=true", ManagedIdentityClientId = "id" }.Validate());
        Assert.Contains("Tiering.ManagedIdentityClientId", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("orleansmq/node-1")]
    [InlineData("/orleansmq/node-1/")]
    [InlineData("orleansmq//")]
    public void Blob_prefix_is_folder_shaped(string prefix)
    {
        var ex = Assert.Throws<ArgumentException>(() => new TieringOptions { ConnectionString = "UseDevelopmentStorage=true", BlobPrefix = prefix }.Validate());
        Assert.Contains("Tiering.BlobPrefix", ex.Message, StringComparison.Ordinal);
    }
}
