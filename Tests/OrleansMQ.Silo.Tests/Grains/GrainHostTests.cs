using Microsoft.Extensions.Logging.Abstractions;
using OrleansMQ.Silo.Grains;
using Xunit;

namespace OrleansMQ.Silo.Tests.Grains;

public sealed class GrainHostTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("omq-grains-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public sealed class CounterState
    {
        public int Count { get; set; }
    }

    /// <summary>A grain that records overlapping calls, so the test can see turn-based execution.</summary>
    public sealed class CounterGrain : Grain<CounterState>
    {
        private static int s_activations;
        private int _inside;

        public static int Activations => Volatile.Read(ref s_activations);

        public int MaxConcurrent { get; private set; }

        protected override Task OnActivateAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref s_activations);
            return Task.CompletedTask;
        }

        public async Task<int> IncrementAsync()
        {
            MaxConcurrent = Math.Max(MaxConcurrent, Interlocked.Increment(ref _inside));
            await Task.Delay(1); // yield inside the turn: another call must still not enter
            State.Count++;
            await WriteStateAsync();
            Interlocked.Decrement(ref _inside);
            return State.Count;
        }
    }

    private GrainHost NewHost() => new(new FileGrainStateStore(_dir), new ServiceProviderStub(), NullLogger<GrainHost>.Instance);

    [Fact]
    public async Task Calls_to_one_key_run_one_at_a_time_on_one_activation_and_state_persists()
    {
        int before = CounterGrain.Activations;
        await using (var host = NewHost())
        {
            var grain = host.Get<CounterGrain>("a");
            var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Task.Run(() => grain.CallAsync(g => g.IncrementAsync()))));
            Assert.Equal(Enumerable.Range(1, 50), results.Order());
            Assert.Equal(1, await grain.CallAsync(g => Task.FromResult(g.MaxConcurrent)));
            Assert.Equal(1, CounterGrain.Activations - before);
            Assert.Equal(1, await host.Get<CounterGrain>("b").CallAsync(g => g.IncrementAsync()));
            Assert.Equal(2, host.ActivationCount);
        }

        // A new host (a restart) finds the persisted state.
        await using (var host = NewHost())
        {
            Assert.Equal(51, await host.Get<CounterGrain>("a").CallAsync(g => g.IncrementAsync()));
        }
    }

    [Fact]
    public async Task Any_key_is_stored_and_listed_back_exactly()
    {
        var store = new FileGrainStateStore(_dir);
        string[] keys = ["orders", "group/with/slashes", "ünïcode group ✓", new string('t', 249), "..", "x-", "k-"];
        foreach (var key in keys)
        {
            await store.WriteAsync("G", key, new CounterState { Count = key.Length });
        }

        Assert.Equal(keys.Order(StringComparer.Ordinal), await store.ListKeysAsync("G"));
        foreach (var key in keys)
        {
            Assert.Equal(key.Length, (await store.ReadAsync<CounterState>("G", key))!.Count);
        }

        await store.ClearAsync("G", "..");
        Assert.Null(await store.ReadAsync<CounterState>("G", ".."));
        Assert.DoesNotContain("..", await store.ListKeysAsync("G"));
    }

    private sealed class ServiceProviderStub : IServiceProvider
    {
        public object? GetService(Type serviceType) => null;
    }
}
