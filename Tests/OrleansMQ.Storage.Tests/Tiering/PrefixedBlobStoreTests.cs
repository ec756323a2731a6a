using OrleansMQ.Storage.Tiering;
using Xunit;

namespace OrleansMQ.Storage.Tests.Tiering;

/// <summary>Silos sharing one container under <c>&lt;cluster&gt;/&lt;node&gt;/</c>, against a real Azurite.</summary>
public sealed class PrefixedBlobStoreTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Two_nodes_in_one_container_do_not_see_each_others_blobs()
    {
        string container = "t" + Guid.NewGuid().ToString("N")[..20];
        using var node1 = new PrefixedBlobStore(azurite.CreateStore(container), "orleansmq/node-1/");
        using var node2 = new PrefixedBlobStore(azurite.CreateStore(container), "orleansmq/node-2/");
        await node1.EnsureContainerAsync();
        await node2.EnsureContainerAsync();

        await node1.UploadAsync("manifests/00000000000000000000.json", "one"u8.ToArray());
        await node2.UploadAsync("manifests/00000000000000000000.json", "two!"u8.ToArray());
        await node2.UploadAsync("manifests/00000000000000000100.json", "two-b"u8.ToArray());

        Assert.Equal(["manifests/00000000000000000000.json"], await NamesAsync(node1, "manifests/"));
        Assert.Equal(["manifests/00000000000000000000.json", "manifests/00000000000000000100.json"], await NamesAsync(node2, "manifests/"));
        Assert.Equal(3, (await node1.GetPropertiesAsync("manifests/00000000000000000000.json"))!.Length);
        Assert.Equal(4, (await node2.GetPropertiesAsync("manifests/00000000000000000000.json"))!.Length);
        Assert.Null(await node1.GetPropertiesAsync("manifests/00000000000000000100.json"));

        var buffer = new byte[10];
        Assert.Equal(3, await node1.ReadRangeAsync("manifests/00000000000000000000.json", 0, buffer));
        Assert.Equal("one"u8.ToArray(), buffer[..3]);

        // Deleting on one node leaves the other's blob of the same name.
        Assert.True(await node1.DeleteAsync("manifests/00000000000000000000.json"));
        Assert.NotNull(await node2.GetPropertiesAsync("manifests/00000000000000000000.json"));

        // In the container itself the names carry the prefix.
        using var root = azurite.CreateStore(container);
        var all = new List<string>();
        await foreach (var item in root.ListAsync(""))
        {
            all.Add(item.Name);
        }

        Assert.Equal(["orleansmq/node-2/manifests/00000000000000000000.json", "orleansmq/node-2/manifests/00000000000000000100.json"], all);
    }

    [Fact]
    public async Task Blobs_written_before_the_prefix_are_found_at_the_root_and_deleted_there()
    {
        string container = "t" + Guid.NewGuid().ToString("N")[..20];
        using var root = azurite.CreateStore(container);
        await root.EnsureContainerAsync();
        await root.UploadAsync("manifests/00000000000000000000.json", "old"u8.ToArray());
        await root.UploadAsync("segments/00000000000000000000.log", new byte[100]);

        // Read by name before any listing (the tier's local table names its old segments): found at the root.
        using (var fresh = new PrefixedBlobStore(azurite.CreateStore(container), "orleansmq/1/", readUnprefixed: true))
        {
            Assert.Equal(100, (await fresh.GetPropertiesAsync("segments/00000000000000000000.log"))!.Length);
            Assert.Equal(100, await fresh.ReadRangeAsync("segments/00000000000000000000.log", 0, new byte[200]));
            Assert.Null(await fresh.GetPropertiesAsync("segments/00000000000000000999.log"));
        }

        using var upgraded = new PrefixedBlobStore(azurite.CreateStore(container), "orleansmq/1/", readUnprefixed: true);
        await upgraded.UploadAsync("manifests/00000000000000000100.json", "new"u8.ToArray());

        Assert.Equal(["manifests/00000000000000000100.json", "manifests/00000000000000000000.json"], await NamesAsync(upgraded, "manifests/"));
        Assert.Equal(["segments/00000000000000000000.log"], await NamesAsync(upgraded, "segments/"));
        var buffer = new byte[3];
        Assert.Equal(3, await upgraded.ReadRangeAsync("manifests/00000000000000000000.json", 0, buffer));
        Assert.Equal("old"u8.ToArray(), buffer);
        Assert.True(await upgraded.DeleteAsync("segments/00000000000000000000.log"));
        Assert.Null(await root.GetPropertiesAsync("segments/00000000000000000000.log"));

        // Without the setting the root is not looked at.
        using var strict = new PrefixedBlobStore(azurite.CreateStore(container), "orleansmq/1/");
        Assert.Equal(["manifests/00000000000000000100.json"], await NamesAsync(strict, "manifests/"));
    }

    private static async Task<List<string>> NamesAsync(PrefixedBlobStore store, string prefix)
    {
        var names = new List<string>();
        await foreach (var item in store.ListAsync(prefix))
        {
            names.Add(item.Name);
        }

        return names;
    }
}
