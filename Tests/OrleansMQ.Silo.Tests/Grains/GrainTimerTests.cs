using Microsoft.Extensions.Logging.Abstractions;
using OrleansMQ.Silo.Grains;
using OrleansMQ.Silo.Groups;
using OrleansMQ.Silo.Tests.Groups;
using OrleansMQ.Storage;
using OrleansMQ.Storage.CommitLog;
using OrleansMQ.Storage.Engine;
using Xunit;

namespace OrleansMQ.Silo.Tests.Grains;

/// <summary>Grain timers (on the grain's turn, driven by a fake clock), deactivation rules, and the group grain's timeouts firing by themselves.</summary>
public sealed class GrainTimerTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly string _dir = Directory.CreateTempSubdirectory("omq-timers-").FullName;
    private readonly FakeClock _clock = new();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public sealed class TimedGrain : Grain
    {
        private IDisposable? _timer;
        private int _inside;

        public TaskCompletionSource Fired { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int FiredCount { get; private set; }

        public bool SawOverlap { get; private set; }

        public bool KeepAlive { get; set; }

        protected override bool CanDeactivate => !KeepAlive;

        public Task<bool> ArmAsync(TimeSpan due)
        {
            _timer = RegisterTimer(
                () =>
                {
                    SawOverlap |= _inside != 0;
                    FiredCount++;
                    Fired.TrySetResult();
                    return Task.CompletedTask;
                },
                due);
            return Task.FromResult(true);
        }

        public Task<bool> DisarmAsync()
        {
            _timer?.Dispose();
            return Task.FromResult(true);
        }

        public async Task<bool> SlowCallAsync(Task release)
        {
            _inside++;
            await release;
            _inside--;
            return true;
        }
    }

    private GrainHost NewHost(IServiceProvider? services = null, GrainHostOptions? options = null) =>
        new(new FileGrainStateStore(Path.Combine(_dir, "grains")), services ?? new Services(null), NullLogger<GrainHost>.Instance, _clock, options);

    [Fact]
    public async Task A_timer_fires_when_the_clock_reaches_it_and_not_before()
    {
        await using var host = NewHost();
        var grain = host.Get<TimedGrain>("t");
        var g = await grain.CallAsync(x => Task.FromResult(x));
        await grain.CallAsync(x => x.ArmAsync(TimeSpan.FromSeconds(5)));
        _clock.Advance(TimeSpan.FromSeconds(4));
        await Task.Delay(50);
        Assert.Equal(0, g.FiredCount);
        _clock.Advance(TimeSpan.FromSeconds(1));
        await g.Fired.Task.WaitAsync(Wait);
        Assert.Equal(1, g.FiredCount);
    }

    [Fact]
    public async Task A_disposed_timer_never_fires()
    {
        await using var host = NewHost();
        var grain = host.Get<TimedGrain>("t");
        var g = await grain.CallAsync(x => Task.FromResult(x));
        await grain.CallAsync(x => x.ArmAsync(TimeSpan.FromSeconds(5)));
        await grain.CallAsync(x => x.DisarmAsync());
        _clock.Advance(TimeSpan.FromSeconds(10));
        await Task.Delay(100);
        Assert.Equal(0, g.FiredCount);
    }

    [Fact]
    public async Task A_timer_waits_for_the_call_in_progress_to_finish()
    {
        await using var host = NewHost();
        var grain = host.Get<TimedGrain>("t");
        var g = await grain.CallAsync(x => Task.FromResult(x));
        await grain.CallAsync(x => x.ArmAsync(TimeSpan.FromSeconds(1)));
        var release = new TaskCompletionSource();
        var slow = grain.CallAsync(x => x.SlowCallAsync(release.Task));
        _clock.Advance(TimeSpan.FromSeconds(2));
        await Task.Delay(100);
        Assert.Equal(0, g.FiredCount); // the turn is taken
        release.SetResult();
        await slow;
        await g.Fired.Task.WaitAsync(Wait);
        Assert.False(g.SawOverlap);
    }

    [Fact]
    public async Task Idle_activations_go_unless_they_say_they_must_stay()
    {
        var options = new GrainHostOptions { IdleTimeout = TimeSpan.FromMinutes(1), IdleCheckInterval = TimeSpan.FromSeconds(10) };
        await using var host = NewHost(options: options);
        await host.Get<TimedGrain>("idle").CallAsync(x => x.ArmAsync(TimeSpan.FromHours(1)));
        await host.Get<TimedGrain>("busy").CallAsync(x =>
        {
            x.KeepAlive = true;
            return Task.FromResult(true);
        });
        Assert.Equal(2, host.ActivationCount);
        _clock.Advance(TimeSpan.FromMinutes(2));
        await WaitUntil(() => host.ActivationCount == 1);
        Assert.True(await host.Get<TimedGrain>("busy").CallAsync(x => Task.FromResult(x.KeepAlive)));
    }

    [Fact]
    public async Task A_group_grain_expires_a_silent_member_on_its_own_timer()
    {
        var options = StorageOptionsFor(Path.Combine(_dir, "data"));
        using var engine = StorageEngine.Open(options);
        var store = new OffsetStore(engine, Path.Combine(_dir, "offsets.snapshot"), NullLogger.Instance, _clock);
        await store.LoadAsync(CancellationToken.None);
        var settings = new GroupSettings { InitialRebalanceDelayMs = 0 };
        await using var host = NewHost(new Services(new ConsumerGroupGrain(store, settings, new GroupDirectory())));
        var grain = host.Get<ConsumerGroupGrain>("g");

        var call = new JoinGroupCall { ClientId = "c", SessionTimeoutMs = 10_000, RebalanceTimeoutMs = 20_000, ProtocolType = "consumer", Protocols = [new GroupProtocol("range", ConsumerProtocol.WriteSubscription(["t"]))] };
        var joined = await await grain.CallAsync(g => g.JoinAsync(call));
        var synced = await await grain.CallAsync(g => g.SyncAsync(joined.MemberId, null, joined.GenerationId, null, null, new Dictionary<string, byte[]> { [joined.MemberId] = [] }));
        Assert.Equal(GroupError.None, synced.Error);
        Assert.Equal(GroupState.Stable, (await grain.CallAsync(g => g.DescribeAsync())).State);

        _clock.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(GroupError.None, await grain.CallAsync(g => g.HeartbeatAsync(joined.MemberId, null, joined.GenerationId)));
        _clock.Advance(TimeSpan.FromSeconds(9)); // 9 s after the heartbeat: still alive
        await Task.Delay(50);
        Assert.Equal(GroupState.Stable, (await grain.CallAsync(g => g.DescribeAsync())).State);
        _clock.Advance(TimeSpan.FromSeconds(1)); // 10 s: the timer removes it, no call needed
        await WaitUntil(async () => (await grain.CallAsync(g => g.DescribeAsync())).State == GroupState.Empty);
        Assert.Equal(GroupError.UnknownMemberId, await grain.CallAsync(g => g.HeartbeatAsync(joined.MemberId, null, joined.GenerationId)));
    }

    internal static StorageOptions StorageOptionsFor(string dir) => new()
    {
        DataDirectory = dir,
        SegmentSize = 1 << 20,
        MaxBatchBytes = 512 << 10,
        FlushPolicy = FlushPolicy.Async(TimeSpan.FromMilliseconds(20), 4),
        ConsumeQueueEntriesPerFile = 64,
        IndexSlotCount = 512,
        IndexEntriesPerFile = 2048,
        CheckpointInterval = TimeSpan.FromMilliseconds(50),
        CleanupInterval = TimeSpan.FromHours(1),
    };

    private static Task WaitUntil(Func<bool> condition) => WaitUntil(() => Task.FromResult(condition()));

    private static async Task WaitUntil(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached in time");
            await Task.Delay(20);
        }
    }

    private sealed class Services(object? grain) : IServiceProvider
    {
        public object? GetService(Type serviceType) => grain is not null && serviceType == grain.GetType() ? grain : null;
    }
}
