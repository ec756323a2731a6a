using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Runtime;

namespace OrleansMQ.Silo.Cluster;

/// <summary>
/// Registers this silo's broker with the controller once its Kafka listener is bound, then follows
/// Orleans' membership: every membership change (a silo joined, was declared dead, left) is
/// reported to the controller — each silo reports, the controller acts once per change of the live
/// set — and this silo's <see cref="BrokerDirectory"/> is refreshed. No polling: Orleans pushes
/// membership updates.
/// </summary>
public sealed partial class BrokerMembership : IBrokerObserver, IAsyncDisposable
{
    /// <summary>How often the controller subscription is renewed (the controller drops observers after two minutes of silence).</summary>
    private static readonly TimeSpan RenewInterval = TimeSpan.FromSeconds(30);

    private readonly IGrainFactory _grains;
    private readonly IClusterMembershipService _membership;
    private readonly BrokerDirectory _directory;
    private readonly ILocalSiloDetails _silo;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private IBrokerObserver? _reference;
    private int _disposed;

    public BrokerMembership(IGrainFactory grains, IClusterMembershipService membership, BrokerDirectory directory, ILocalSiloDetails silo, ILogger<BrokerMembership> logger)
    {
        _grains = grains;
        _membership = membership;
        _directory = directory;
        _silo = silo;
        _logger = logger;
    }

    private IControllerGrain Controller => _grains.GetGrain<IControllerGrain>(IControllerGrain.Key);

    /// <summary>Registers the broker (refused when another active silo has its node id) and starts following membership.</summary>
    public async Task StartAsync(int nodeId, string host, int port, string? rack, CancellationToken cancellationToken)
    {
        _reference = _grains.CreateObjectReference<IBrokerObserver>(this);
        var view = await Controller.RegisterAsync(new BrokerRegistration(nodeId, host, port, rack, _silo.SiloAddress), _reference).WaitAsync(cancellationToken).ConfigureAwait(false);
        _directory.Update(view);
        _loop = Task.Run(() => FollowAsync(_stop.Token), CancellationToken.None);
        _ = Task.Run(() => RenewAsync(_stop.Token), CancellationToken.None);
    }

    /// <summary>The controller's push: a broker registered, or the live set changed.</summary>
    public Task OnBrokersChanged(BrokerView view)
    {
        _directory.Update(view);
        return Task.CompletedTask;
    }

    private async Task RenewAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(RenewInterval, cancellationToken).ConfigureAwait(false);

                // Also the controller's reconcile (a no-op when it has told the topics the current
                // live set): if every retry of a membership report failed, for example because a
                // topic grain could not be reached while the cluster settled, the elections still
                // run within one renewal instead of waiting for the next membership change.
                await Controller.MembershipChangedAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
                _directory.Update(await Controller.SubscribeAsync(_reference!).WaitAsync(cancellationToken).ConfigureAwait(false));
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is TimeoutException or OrleansException)
            {
                LogReportFailed(_logger, ex, 0);
            }
        }
    }

    private async Task FollowAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var _ in _membership.MembershipUpdates.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                await ReportAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Tells the controller and refreshes the directory; retried while the cluster is settling.</summary>
    private async Task ReportAsync(CancellationToken cancellationToken)
    {
        for (int attempt = 0; attempt < 5 && !cancellationToken.IsCancellationRequested; attempt++)
        {
            try
            {
                await Controller.MembershipChangedAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
                _directory.Update(await Controller.SubscribeAsync(_reference!).WaitAsync(cancellationToken).ConfigureAwait(false));
                return;
            }
            catch (Exception ex) when (ex is TimeoutException or OrleansException)
            {
                LogReportFailed(_logger, ex, attempt + 1);
                await Task.Delay(TimeSpan.FromMilliseconds(500 * (attempt + 1)), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Stops following membership (the broker's stop, then the container's dispose: the second is a no-op).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reporting a membership change to the controller failed (attempt {Attempt})")]
    private static partial void LogReportFailed(ILogger logger, Exception ex, int attempt);
}
