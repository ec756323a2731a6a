using Azure.Identity;
using Microsoft.Extensions.Logging;

namespace OrleansMQ.Storage.Tiering;

/// <summary>Builds the blob store the tier uses from its options: the SDK client for the account, under this silo's prefix.</summary>
internal static class BlobStoreFactory
{
    /// <summary>The store for validated <paramref name="options"/>; it owns the clients it builds (dispose it).</summary>
    public static IBlobStore Create(TieringOptions options, ILogger logger)
    {
        AzureBlobStore store;
        if (options.AccountUrl is { } accountUrl)
        {
            // DefaultAzureCredential: a managed identity in Azure (the user-assigned one when its
            // client id is given), environment or workload identity or the Azure CLI elsewhere.
            var credential = new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = options.ManagedIdentityClientId });
            store = AzureBlobStore.FromAccountUrl(accountUrl, credential, options.Container, options.BlobStore, logger);
        }
        else
        {
            store = AzureBlobStore.FromConnectionString(options.ConnectionString!, options.Container, options.BlobStore, logger);
        }

        return string.IsNullOrEmpty(options.BlobPrefix) ? store : new PrefixedBlobStore(store, options.BlobPrefix, options.ReadUnprefixedBlobs);
    }
}
