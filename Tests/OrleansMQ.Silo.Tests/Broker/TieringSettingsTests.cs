using OrleansMQ.Silo.Hosting;
using Xunit;

namespace OrleansMQ.Silo.Tests.Broker;

public sealed class TieringSettingsTests
{
    [Fact]
    public void Tiering_is_off_by_default()
    {
        Assert.Null(new StorageSettings().ToOptions().Tiering);
    }

    [Fact]
    public void Enabled_without_a_connection_string_is_refused_naming_the_setting()
    {
        var settings = new StorageSettings { Tiering = { Enabled = true } };
        var ex = Assert.Throws<ArgumentException>(() => settings.ToOptions());
        Assert.Contains("OrleansMQ:Storage:Tiering:ConnectionString or OrleansMQ:Storage:Tiering:AccountUrl must be set", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Connection_string_and_account_url_together_are_refused()
    {
        var settings = new StorageSettings { Tiering = { Enabled = true, ConnectionString = "UseDevelopmentStorage=true", AccountUrl = "https://acct1.blob.core.windows.net" } };
        var ex = Assert.Throws<ArgumentException>(() => settings.ToOptions());
        Assert.Contains("both set", ex.Message, StringComparison.Ordinal);

        settings = new StorageSettings { Tiering = { Enabled = true, AccountUrl = "https://a.blob.core.windows.net", ServiceUri = "https://b.blob.core.windows.net" } };
        ex = Assert.Throws<ArgumentException>(() => settings.ToOptions());
        Assert.Contains("OrleansMQ:Storage:Tiering:ServiceUri", ex.Message, StringComparison.Ordinal);

        settings = new StorageSettings { Tiering = { Enabled = true, AccountUrl = "not a url" } };
        ex = Assert.Throws<ArgumentException>(() => settings.ToOptions());
        Assert.Contains("OrleansMQ:Storage:Tiering:AccountUrl", ex.Message, StringComparison.Ordinal);

        settings = new StorageSettings { Tiering = { Enabled = true, ConnectionString = "UseDevelopmentStorage=true", ManagedIdentityClientId = "id" } };
        ex = Assert.Throws<ArgumentException>(() => settings.ToOptions());
        Assert.Contains("ManagedIdentityClientId", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Account_url_or_service_uri_with_a_managed_identity_become_options()
    {
        var tiering = new StorageSettings { Tiering = { Enabled = true, ServiceUri = "https://acct1.blob.core.windows.net", ManagedIdentityClientId = "11111111-2222-3333-4444-555555555555" } }.ToOptions().Tiering;
        Assert.NotNull(tiering);
        Assert.Equal(new Uri("https://acct1.blob.core.windows.net"), tiering.AccountUrl);
        Assert.Null(tiering.ConnectionString);
        Assert.Equal("11111111-2222-3333-4444-555555555555", tiering.ManagedIdentityClientId);
        Assert.Equal("orleansmq/3/", TieringSettings.BlobPrefix("orleansmq", 3));
    }

    [Fact]
    public void Invalid_values_are_refused_without_repeating_the_connection_string()
    {
        var settings = new StorageSettings { Tiering = { Enabled = true, ConnectionString = "AccountName=a;AccountKey=not-base64!", Container = "ok-name" } };
        var ex = Assert.Throws<ArgumentException>(() => settings.ToOptions());
        Assert.Contains("Tiering.ConnectionString", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-base64", ex.Message, StringComparison.Ordinal);

        settings = new StorageSettings { Tiering = { Enabled = true, ConnectionString = "UseDevelopmentStorage=true", Container = "Bad_Name" } };
        ex = Assert.Throws<ArgumentException>(() => settings.ToOptions());
        Assert.Contains("Tiering.Container", ex.Message, StringComparison.Ordinal);

        // Read-ahead must fit the cache beside the block being read.
        settings = new StorageSettings { Tiering = { Enabled = true, ConnectionString = "UseDevelopmentStorage=true", CacheBytes = 4 << 20, ReadAheadBlocks = 8 } };
        ex = Assert.Throws<ArgumentException>(() => settings.ToOptions());
        Assert.Contains("ReadAheadBlocks", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Enabled_settings_become_options()
    {
        var settings = new StorageSettings { Tiering = { Enabled = true, ConnectionString = "UseDevelopmentStorage=true", LocalRetentionMs = 0, UploadConcurrency = 3, CacheBytes = 8 << 20, ReadAheadBlocks = 4 } };
        var tiering = settings.ToOptions().Tiering;
        Assert.NotNull(tiering);
        Assert.Equal(TimeSpan.Zero, tiering.LocalRetention);
        Assert.Equal(3, tiering.UploadConcurrency);
        Assert.Equal(8 << 20, tiering.CacheBytes);
        Assert.Equal(4, tiering.ReadAheadBlocks);
        Assert.Equal("orleansmq", tiering.Container);
    }
}
