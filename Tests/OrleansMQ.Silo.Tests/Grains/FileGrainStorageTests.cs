using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Hosting;
using Orleans.Providers;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Serialization.Serializers;
using Orleans.Storage;
using Orleans.TestingHost;
using OrleansMQ.Silo.Grains.Storage;
using Xunit;
using Xunit.Abstractions;

namespace OrleansMQ.Silo.Tests.Grains;

/// <summary>
/// The file grain storage on real files in a temp folder: through real in-process Orleans silos
/// (state survives deactivation and a whole cluster restart, for keys of any shape), and on the
/// provider directly (ETags, clear, damaged files, crash leftovers, concurrent writers, listing).
/// </summary>
public sealed class FileGrainStorageTests(ITestOutputHelper output) : IDisposable
{
    private const string StateName = "state";

    /// <summary>A 300-character key of everything a consumer group id may hold.</summary>
    private static readonly string LongOddKey = string.Concat(Enumerable.Repeat("grp /ü:键\\", 40))[..300];

    private static readonly string[] OddKeys =
    [
        "orders",
        "Orders",
        new string('t', 249),
        "with space/and slash",
        "ünïcødé 键 🚀",
        "../../escape",
        "tab\tnew\nline",
        LongOddKey,
    ];

    private static readonly IActivatorProvider Activators =
        new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<IActivatorProvider>();

    /// <summary>The serializer a silo registers by default (Newtonsoft JSON through Orleans).</summary>
    private static readonly IGrainStorageSerializer Serializer =
        new JsonGrainStorageSerializer(new OrleansJsonSerializer(Options.Create(new OrleansJsonSerializerOptions())));

    private readonly string _dir = Directory.CreateTempSubdirectory("omq-grainstorage-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // ---- through a real silo ----

    [Fact]
    public async Task Silo_keeps_state_across_deactivation_and_cluster_restart_for_keys_of_any_shape()
    {
        string grainType;
        await using (var cluster = await StartClusterAsync())
        {
            foreach (string key in OddKeys)
            {
                await cluster.GrainFactory.GetGrain<IFileStorageTestGrain>(key).SetAsync("value of " + key);
            }

            foreach (string key in OddKeys)
            {
                await cluster.GrainFactory.GetGrain<IFileStorageTestGrain>(key).DeactivateAsync();
            }

            foreach (string key in OddKeys)
            {
                var grain = cluster.GrainFactory.GetGrain<IFileStorageTestGrain>(key);
                var state = await grain.GetAsync();
                Assert.Equal("value of " + key, state.Value);
                Assert.Equal(1, state.Writes);
                Assert.True(await grain.RecordExistsAsync());
            }

            grainType = cluster.GrainFactory.GetGrain<IFileStorageTestGrain>("orders").GetGrainId().Type.ToString()!;
            var storage = Assert.IsType<FileGrainStorage>(SiloStorage(cluster));
            Assert.Equal(Path.GetFullPath(_dir), storage.RootDirectory);
            Assert.Equal(OddKeys.Order(StringComparer.Ordinal), await storage.ListAsync(grainType));
        }

        // Every name on disk fits a file system's 255-byte limit, and a plain topic name is readable.
        foreach (string path in Directory.EnumerateFileSystemEntries(_dir, "*", SearchOption.AllDirectories))
        {
            Assert.True(Encoding.UTF8.GetByteCount(Path.GetFileName(path)) <= 255, path);
        }

        Assert.Single(Directory.EnumerateFiles(_dir, "k-orders.state", SearchOption.AllDirectories));
        Assert.Equal(OddKeys.Length, Directory.EnumerateFiles(_dir, "*.state", SearchOption.AllDirectories).Count());

        await using (var cluster = await StartClusterAsync())
        {
            foreach (string key in OddKeys)
            {
                var grain = cluster.GrainFactory.GetGrain<IFileStorageTestGrain>(key);
                Assert.Equal("value of " + key, (await grain.GetAsync()).Value);
                // The ETag read back after the restart is the one the next write must present.
                await grain.SetAsync("second value of " + key);
                Assert.Equal(2, (await grain.GetAsync()).Writes);
            }

            var cleared = cluster.GrainFactory.GetGrain<IFileStorageTestGrain>(LongOddKey);
            await cleared.ClearAsync();
            await cleared.DeactivateAsync();
            Assert.False(await cleared.RecordExistsAsync());
            Assert.Null((await cleared.GetAsync()).Value);

            var storage = Assert.IsType<FileGrainStorage>(SiloStorage(cluster));
            Assert.Equal(OddKeys.Where(k => k != LongOddKey).Order(StringComparer.Ordinal), await storage.ListAsync(grainType));
        }
    }

    // ---- on the provider ----

    [Fact]
    public async Task Write_then_read_round_trips_the_state_with_an_etag()
    {
        var storage = NewStorage();
        var id = Id("orders");

        var fresh = new GrainState<FileStorageTestState>();
        await storage.ReadStateAsync(StateName, id, fresh);
        Assert.Null(fresh.ETag);
        Assert.False(fresh.RecordExists);
        Assert.NotNull(fresh.State);
        Assert.Null(fresh.State!.Value);

        var written = new GrainState<FileStorageTestState>(new FileStorageTestState { Value = "v1", Writes = 1 });
        await storage.WriteStateAsync(StateName, id, written);
        Assert.NotNull(written.ETag);
        Assert.True(written.RecordExists);
        Assert.EndsWith(Path.Combine("k-state", "k-orders.state"), storage.PathFor(StateName, id), StringComparison.Ordinal);

        var read = new GrainState<FileStorageTestState>();
        await NewStorage().ReadStateAsync(StateName, id, read);
        Assert.Equal(written.ETag, read.ETag);
        Assert.True(read.RecordExists);
        Assert.Equal("v1", read.State!.Value);

        string first = written.ETag;
        await storage.WriteStateAsync(StateName, id, written);
        Assert.NotEqual(first, written.ETag); // every write is a new version, even of the same state
    }

    [Fact]
    public async Task File_names_are_readable_for_short_safe_keys_and_hashed_otherwise()
    {
        var storage = NewStorage();
        string Name(string key) => Path.GetFileName(storage.PathFor(StateName, Id(key)));

        Assert.Equal("k-orders.state", Name("orders"));
        Assert.Equal("k-" + new string('t', 200) + ".state", Name(new string('t', 200)));
        Assert.StartsWith("h-tttt", Name(new string('t', 249)), StringComparison.Ordinal);
        Assert.StartsWith("h-orders~", Name("Orders"), StringComparison.Ordinal); // case-insensitive file systems
        Assert.StartsWith("h-with_space_and_slash~", Name("with space/and slash"), StringComparison.Ordinal);
        Assert.Equal(OddKeys.Length, OddKeys.Select(Name).Distinct(StringComparer.OrdinalIgnoreCase).Count());
        foreach (string key in OddKeys)
        {
            Assert.True(Encoding.UTF8.GetByteCount(Name(key) + ".corrupt-20250101T000000000000Z-99") <= 255, key);
            Assert.Equal(Path.GetFullPath(_dir), Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(storage.PathFor(StateName, Id(key))))));
        }

        // Two grains of the same type with the same key under different state names, and two
        // types with one key, are different files.
        Assert.NotEqual(storage.PathFor("a", Id("k")), storage.PathFor("b", Id("k")));
        Assert.NotEqual(storage.PathFor("a", GrainId.Create("one", "k")), storage.PathFor("a", GrainId.Create("two", "k")));
    }

    [Fact]
    public async Task A_write_with_a_stale_or_missing_etag_throws_and_leaves_the_file_unchanged()
    {
        var storage = NewStorage();
        var id = Id("orders");
        var first = new GrainState<FileStorageTestState>(new FileStorageTestState { Value = "v1" });
        await storage.WriteStateAsync(StateName, id, first);
        string staleETag = first.ETag!;

        var other = new GrainState<FileStorageTestState>();
        await storage.ReadStateAsync(StateName, id, other);
        other.State!.Value = "v2";
        await storage.WriteStateAsync(StateName, id, other);
        byte[] before = await File.ReadAllBytesAsync(storage.PathFor(StateName, id));

        first.State!.Value = "lost update";
        var stale = await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(StateName, id, first));
        Assert.Equal(other.ETag, stale.StoredEtag);
        Assert.Equal(staleETag, stale.CurrentEtag);
        Assert.Equal(staleETag, first.ETag); // the grain's view is left as it was

        // No ETag means "there is no state yet": wrong when there is one.
        var blind = new GrainState<FileStorageTestState>(new FileStorageTestState { Value = "blind" });
        var unaware = await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(StateName, id, blind));
        Assert.Equal(other.ETag, unaware.StoredEtag);
        Assert.Null(unaware.CurrentEtag);

        Assert.Equal(before, await File.ReadAllBytesAsync(storage.PathFor(StateName, id)));
        Assert.Empty(Directory.EnumerateFiles(Path.GetDirectoryName(storage.PathFor(StateName, id))!, "*.tmp"));

        // An ETag when there is no file: someone cleared it since.
        var ghost = new GrainState<FileStorageTestState>(new FileStorageTestState(), "1-0123456789abcdef");
        var cleared = await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(StateName, Id("absent"), ghost));
        Assert.Null(cleared.StoredEtag);
        Assert.False(File.Exists(storage.PathFor(StateName, Id("absent"))));
    }

    [Fact]
    public async Task Clear_checks_the_etag_deletes_the_file_and_then_reads_as_absent()
    {
        var storage = NewStorage();
        var id = Id("with space/and slash");
        var state = new GrainState<FileStorageTestState>(new FileStorageTestState { Value = "v1" });
        await storage.WriteStateAsync(StateName, id, state);
        string path = storage.PathFor(StateName, id);

        var stale = new GrainState<FileStorageTestState>(new FileStorageTestState(), "1-0000000000000000");
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.ClearStateAsync(StateName, id, stale));
        Assert.True(File.Exists(path));

        await storage.ClearStateAsync(StateName, id, state);
        Assert.Null(state.ETag);
        Assert.False(state.RecordExists);
        Assert.Null(state.State!.Value);
        Assert.False(File.Exists(path));

        var read = new GrainState<FileStorageTestState>(new FileStorageTestState { Value = "stale in memory" }, "stale");
        await storage.ReadStateAsync(StateName, id, read);
        Assert.False(read.RecordExists);
        Assert.Null(read.ETag);
        Assert.Null(read.State!.Value);

        // Clearing nothing with no ETag is fine, and a write after a clear starts afresh.
        await storage.ClearStateAsync(StateName, id, read);
        await storage.WriteStateAsync(StateName, id, read);
        Assert.True(File.Exists(path));
    }

    public static TheoryData<string> Damages => ["truncated", "payload bit flip", "header bit flip", "other grain's file", "empty", "not a state file", "payload the serializer cannot read"];

    [Theory]
    [MemberData(nameof(Damages))]
    public async Task A_damaged_file_reads_as_no_state_is_moved_aside_and_logged(string damage)
    {
        var logger = new RecordingLogger<FileGrainStorage>();
        var storage = NewStorage(logger);
        var id = Id(LongOddKey);
        string path = storage.PathFor(StateName, id);
        await storage.WriteStateAsync(StateName, id, new GrainState<FileStorageTestState>(new FileStorageTestState { Value = "precious", Writes = 7 }));
        byte[] good = await File.ReadAllBytesAsync(path);
        int payloadStart = Array.IndexOf(good, (byte)'\n') + 1;

        byte[] damaged = damage switch
        {
            "truncated" => good[..^5],
            // "precious" becomes "prdcious", still valid JSON: only the checksum can tell.
            "payload bit flip" => Flip(good, good.AsSpan(payloadStart).IndexOf("precious"u8) + payloadStart + 2, 0x01),
            // "version":1 becomes "version":3, still a valid header: only the checksum can tell.
            "header bit flip" => Flip(good, good.AsSpan().IndexOf("\"version\":1"u8) + 10, 0x02),
            "other grain's file" => await OtherGrainsFileAsync(storage),
            "empty" => [],
            "not a state file" => "{\"Value\":\"plain json\"}"u8.ToArray(),
            "payload the serializer cannot read" => StateFile.Encode(id.ToString(), StateName, 1, "{ not json"u8, out _),
            _ => throw new ArgumentOutOfRangeException(nameof(damage)),
        };
        await File.WriteAllBytesAsync(path, damaged);

        var read = new GrainState<FileStorageTestState>();
        await storage.ReadStateAsync(StateName, id, read);

        Assert.False(read.RecordExists);
        Assert.Null(read.ETag);
        Assert.NotNull(read.State);
        Assert.Null(read.State!.Value);
        Assert.False(File.Exists(path));
        string aside = Assert.Single(Directory.EnumerateFiles(Path.GetDirectoryName(path)!, Path.GetFileName(path) + ".corrupt-*"));
        Assert.Equal(damaged, await File.ReadAllBytesAsync(aside)); // kept for a person, byte for byte
        var warning = Assert.Single(logger.Entries, e => e.Level == LogLevel.Warning);
        output.WriteLine(warning.Message);
        Assert.Contains(id.ToString(), warning.Message, StringComparison.Ordinal);
        Assert.Contains(aside, warning.Message, StringComparison.Ordinal);

        // The grain carries on from empty: its first write needs no ETag and sticks.
        read.State!.Value = "fresh";
        await storage.WriteStateAsync(StateName, id, read);
        var again = new GrainState<FileStorageTestState>();
        await storage.ReadStateAsync(StateName, id, again);
        Assert.Equal("fresh", again.State!.Value);
        Assert.Single(logger.Entries, e => e.Level == LogLevel.Warning);

        async Task<byte[]> OtherGrainsFileAsync(FileGrainStorage s)
        {
            await s.WriteStateAsync(StateName, Id("other"), new GrainState<FileStorageTestState>(new FileStorageTestState { Value = "not yours" }));
            return await File.ReadAllBytesAsync(s.PathFor(StateName, Id("other")));
        }
    }

    [Fact]
    public async Task A_damaged_file_met_by_a_write_is_moved_aside_and_the_write_decides_by_etag()
    {
        var storage = NewStorage();
        var id = Id("orders");
        var state = new GrainState<FileStorageTestState>(new FileStorageTestState { Value = "v1" });
        await storage.WriteStateAsync(StateName, id, state);
        string path = storage.PathFor(StateName, id);
        await File.WriteAllBytesAsync(path, (await File.ReadAllBytesAsync(path))[..10]);

        // The activation's ETag no longer matches anything stored: it must re-read (and start empty).
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(StateName, id, state));
        Assert.Single(Directory.EnumerateFiles(Path.GetDirectoryName(path)!, "*.corrupt-*"));
        var fresh = new GrainState<FileStorageTestState>();
        await storage.ReadStateAsync(StateName, id, fresh);
        Assert.False(fresh.RecordExists);
    }

    [Fact]
    public async Task A_leftover_temp_file_from_a_crash_mid_write_is_ignored_and_replaced()
    {
        var storage = NewStorage();
        var id = Id("ünïcødé 键 🚀");
        var state = new GrainState<FileStorageTestState>(new FileStorageTestState { Value = "complete" });
        await storage.WriteStateAsync(StateName, id, state);
        string path = storage.PathFor(StateName, id);

        // A crash while the next write was filling its temp file.
        byte[] half = (await File.ReadAllBytesAsync(path))[..20];
        await File.WriteAllBytesAsync(path + ".tmp", half);

        var read = new GrainState<FileStorageTestState>();
        await NewStorage().ReadStateAsync(StateName, id, read);
        Assert.Equal("complete", read.State!.Value);
        Assert.Equal(state.ETag, read.ETag);
        Assert.Empty(Directory.EnumerateFiles(Path.GetDirectoryName(path)!, "*.corrupt-*"));
        Assert.Equal([id.Key.ToString()], await storage.ListAsync(TestType));

        read.State!.Value = "next";
        await storage.WriteStateAsync(StateName, id, read);
        Assert.False(File.Exists(path + ".tmp"));
        var after = new GrainState<FileStorageTestState>();
        await storage.ReadStateAsync(StateName, id, after);
        Assert.Equal("next", after.State!.Value);
    }

    [Fact]
    public async Task A_temp_file_written_in_full_but_not_renamed_leaves_the_old_state()
    {
        var storage = NewStorage();
        var id = Id("orders");
        var state = new GrainState<FileStorageTestState>(new FileStorageTestState { Value = "old" });
        await storage.WriteStateAsync(StateName, id, state);
        string oldETag = state.ETag!;
        string path = storage.PathFor(StateName, id);
        byte[] old = await File.ReadAllBytesAsync(path);

        state.State!.Value = "new";
        await storage.WriteStateAsync(StateName, id, state);

        // Rebuild the disk as a crash between the temp file's fsync and the rename leaves it: the
        // complete new state in the temp file, the old one still under the real name.
        File.Move(path, path + ".tmp");
        await File.WriteAllBytesAsync(path, old);

        var read = new GrainState<FileStorageTestState>();
        await NewStorage().ReadStateAsync(StateName, id, read);
        Assert.Equal("old", read.State!.Value);
        Assert.Equal(oldETag, read.ETag);

        // The writer that believed "new" was stored learns otherwise instead of overwriting blindly.
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(StateName, id, state));
    }

    [Fact]
    public async Task Concurrent_read_modify_writes_on_one_file_lose_no_update()
    {
        var storage = NewStorage();
        var id = Id("contended");
        const int Writers = 8;
        const int Increments = 25;

        await Task.WhenAll(Enumerable.Range(0, Writers).Select(_ => Task.Run(async () =>
        {
            for (int i = 0; i < Increments; i++)
            {
                while (true)
                {
                    var state = new GrainState<FileStorageTestState>();
                    await storage.ReadStateAsync(StateName, id, state);
                    state.State!.Writes++;
                    try
                    {
                        await storage.WriteStateAsync(StateName, id, state);
                        break;
                    }
                    catch (InconsistentStateException)
                    {
                        // Another writer got in between: read again.
                    }
                }
            }
        })));

        var final = new GrainState<FileStorageTestState>();
        await storage.ReadStateAsync(StateName, id, final);
        Assert.Equal(Writers * Increments, final.State!.Writes);
        Assert.Equal(new[] { Path.GetFileName(storage.PathFor(StateName, id)) }, Directory.EnumerateFiles(Path.GetDirectoryName(storage.PathFor(StateName, id))!).Select(Path.GetFileName));
    }

    [Fact]
    public async Task ListAsync_returns_each_stored_key_of_a_type_once()
    {
        var storage = NewStorage();
        Assert.Empty(await storage.ListAsync("nothing"));

        foreach (string key in OddKeys)
        {
            await storage.WriteStateAsync(StateName, Id(key), new GrainState<FileStorageTestState>(new FileStorageTestState()));
        }

        // The same key under a second state name, a key of another type, and a cleared key.
        await storage.WriteStateAsync("second", Id("orders"), new GrainState<FileStorageTestState>(new FileStorageTestState()));
        await storage.WriteStateAsync(StateName, GrainId.Create("othertype", "elsewhere"), new GrainState<FileStorageTestState>(new FileStorageTestState()));
        var cleared = new GrainState<FileStorageTestState>(new FileStorageTestState());
        await storage.WriteStateAsync(StateName, Id("cleared"), cleared);
        await storage.ClearStateAsync(StateName, Id("cleared"), cleared);

        // Crash leftovers and damaged files are not keys.
        string ordersPath = storage.PathFor(StateName, Id("orders"));
        await File.WriteAllBytesAsync(ordersPath + ".tmp", [1, 2, 3]);
        await File.WriteAllBytesAsync(storage.PathFor(StateName, Id("damaged")), [1, 2, 3]);

        Assert.Equal(OddKeys.Order(StringComparer.Ordinal), await storage.ListAsync(TestType));
        Assert.Equal(["elsewhere"], await storage.ListAsync("othertype"));
    }

    [Fact]
    public void Options_without_a_root_directory_are_rejected()
    {
        var validator = new FileGrainStorageOptionsValidator(new FileGrainStorageOptions { RootDirectory = " " }, "Default");
        Assert.Throws<OrleansConfigurationException>(validator.ValidateConfiguration);
        new FileGrainStorageOptionsValidator(new FileGrainStorageOptions { RootDirectory = _dir }, "Default").ValidateConfiguration();

        Assert.Throws<ArgumentException>(() => new FileGrainStorage(
            "Default", new FileGrainStorageOptions { GrainStorageSerializer = Serializer }, Activators, new RecordingLogger<FileGrainStorage>()));
    }

    [Fact]
    public void Registration_adds_a_keyed_provider_and_the_default()
    {
        var services = new ServiceCollection();
        services.AddOrleansMQFileGrainStorage(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME, o => o.RootDirectory = _dir);
        services.AddOrleansMQFileGrainStorage("other", o => o.RootDirectory = Path.Combine(_dir, "other"));
        services.AddLogging();
        services.AddSerializer();
        services.AddSingleton(Serializer);
        using var provider = services.BuildServiceProvider();

        var byDefault = Assert.IsType<FileGrainStorage>(provider.GetRequiredService<IGrainStorage>());
        Assert.Same(byDefault, provider.GetRequiredKeyedService<IGrainStorage>(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME));
        Assert.Equal(Path.GetFullPath(_dir), byDefault.RootDirectory);
        var other = Assert.IsType<FileGrainStorage>(provider.GetRequiredKeyedService<IGrainStorage>("other"));
        Assert.Equal(Path.Combine(Path.GetFullPath(_dir), "other"), other.RootDirectory);
        Assert.Equal(2, provider.GetServices<IConfigurationValidator>().Count());
    }

    // ---- helpers ----

    private const string TestType = "filestoragetest";

    private static GrainId Id(string key) => GrainId.Create(TestType, key);

    private static byte[] Flip(byte[] bytes, int index, byte mask)
    {
        Assert.True(index >= 0);
        byte[] copy = (byte[])bytes.Clone();
        copy[index] ^= mask;
        return copy;
    }

    private FileGrainStorage NewStorage(RecordingLogger<FileGrainStorage>? logger = null) =>
        new("test", new FileGrainStorageOptions { RootDirectory = _dir, GrainStorageSerializer = Serializer }, Activators, logger ?? new RecordingLogger<FileGrainStorage>());

    private static IGrainStorage SiloStorage(TestCluster cluster) =>
        ((InProcessSiloHandle)cluster.Primary!).SiloHost.Services.GetRequiredKeyedService<IGrainStorage>(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME);

    private async Task<TestCluster> StartClusterAsync()
    {
        var builder = new TestClusterBuilder(initialSilosCount: 1);
        builder.Properties[FileStorageSiloConfigurator.DirectoryKey] = _dir;
        builder.AddSiloBuilderConfigurator<FileStorageSiloConfigurator>();
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    /// <summary>Points the test silo's default grain storage at the test's folder.</summary>
    public sealed class FileStorageSiloConfigurator : ISiloConfigurator
    {
        public const string DirectoryKey = "OrleansMQTestGrainStorageDirectory";

        public void Configure(ISiloBuilder siloBuilder) =>
            siloBuilder.AddOrleansMQFileGrainStorageAsDefault(o => o.RootDirectory = siloBuilder.Configuration[DirectoryKey]!);
    }

    private sealed class RecordingLogger<T> : ILogger<T>
    {
        public ConcurrentQueue<(LogLevel Level, string Message)> Entries { get; } = new();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Enqueue((logLevel, formatter(state, exception)));
    }
}

/// <summary>A grain whose whole state goes through the silo's default grain storage.</summary>
public interface IFileStorageTestGrain : IGrainWithStringKey
{
    Task SetAsync(string value);

    Task<FileStorageTestState> GetAsync();

    Task<bool> RecordExistsAsync();

    Task ClearAsync();

    Task DeactivateAsync();
}

[GenerateSerializer]
public sealed class FileStorageTestState
{
    [Id(0)]
    public string? Value { get; set; }

    [Id(1)]
    public int Writes { get; set; }
}

public sealed class FileStorageTestGrain([PersistentState(FileStorageTestGrain.StateName)] IPersistentState<FileStorageTestState> state)
    : Orleans.Grain, IFileStorageTestGrain
{
    public const string StateName = "state";

    public Task SetAsync(string value)
    {
        state.State!.Value = value;
        state.State!.Writes++;
        return state.WriteStateAsync();
    }

    public Task<FileStorageTestState> GetAsync() => Task.FromResult(state.State);

    public Task<bool> RecordExistsAsync() => Task.FromResult(state.RecordExists);

    public Task ClearAsync() => state.ClearStateAsync();

    public Task DeactivateAsync()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }
}
