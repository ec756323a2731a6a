using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Runtime;

namespace OrleansMQ.Silo.Topics;

/// <summary>
/// Keeps this silo's <see cref="TopicCatalog"/> in step with the topic directory: subscribes an
/// observer at start (loading every topic), applies each pushed change, and renews the
/// subscription every <see cref="RenewInterval"/> — a renewal also returns the whole list when
/// this silo missed a change (a push lost with a dead silo, or a directory that moved).
/// </summary>
public sealed partial class TopicCatalogSubscription : ITopicCatalogObserver, IAsyncDisposable
{
    public static readonly TimeSpan RenewInterval = TimeSpan.FromSeconds(30);

    private readonly IGrainFactory _grains;
    private readonly TopicCatalog _catalog;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private ITopicCatalogObserver? _reference;
    private ITimer? _renewal;
    private int _renewing;

    public TopicCatalogSubscription(IGrainFactory grains, TopicCatalog catalog, ILogger<TopicCatalogSubscription> logger, TimeProvider time)
    {
        _grains = grains;
        _catalog = catalog;
        _logger = logger;
        _time = time;
    }

    private ITopicDirectoryGrain Directory => _grains.GetGrain<ITopicDirectoryGrain>(ITopicDirectoryGrain.Key);

    /// <summary>Subscribes and loads every topic; the silo serves once this is done.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _reference = _grains.CreateObjectReference<ITopicCatalogObserver>(this);
        var view = await Directory.SubscribeAsync(_reference, knownVersion: -1).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (view is not null)
        {
            await ReconcileAsync(_catalog.ApplyAll(view)).ConfigureAwait(false);
        }

        _renewal = _time.CreateTimer(static s => _ = ((TopicCatalogSubscription)s!).RenewAsync(), this, RenewInterval, RenewInterval);
    }

    public Task OnTopicChanged(TopicSnapshot snapshot)
    {
        try
        {
            _catalog.Apply(snapshot);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            // Storage refused the partitions (disk full, shutting down): the next renewal retries.
            LogApplyFailed(_logger, ex, snapshot.Name);
        }

        return Task.CompletedTask;
    }

    /// <summary>Renews now (also what the timer does); returns after the catalog is up to date.</summary>
    public async Task RenewAsync()
    {
        if (_reference is null || Interlocked.Exchange(ref _renewing, 1) != 0)
        {
            return;
        }

        try
        {
            var view = await Directory.SubscribeAsync(_reference, _catalog.Version).ConfigureAwait(false);
            if (view is not null)
            {
                await ReconcileAsync(_catalog.ApplyAll(view)).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is TimeoutException or OrleansException or IOException or InvalidOperationException)
        {
            LogRenewFailed(_logger, ex);
        }
        finally
        {
            Volatile.Write(ref _renewing, 0);
        }
    }

    /// <summary>
    /// Topics this silo has that the directory's list lacks: a deletion whose push was missed, or a
    /// directory that lost its list. The topic's grain decides: gone → removed here; still there →
    /// republished to the directory (never a data deletion on the directory's word alone).
    /// </summary>
    private async Task ReconcileAsync(List<TopicMetadata> missing)
    {
        foreach (var topic in missing)
        {
            var grain = _grains.GetGrain<ITopicGrain>(topic.Name);
            var current = await grain.GetAsync().ConfigureAwait(false);
            if (current is null || current.TopicId != topic.TopicId)
            {
                _catalog.RemoveConfirmed(topic);
                if (current is not null)
                {
                    _catalog.Apply(current);
                }
            }
            else
            {
                LogRepublished(_logger, topic.Name);
                if (await grain.RepublishAsync().ConfigureAwait(false) is { } republished)
                {
                    _catalog.Apply(republished);
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_renewal is not null)
        {
            await _renewal.DisposeAsync().ConfigureAwait(false);
        }

        if (_reference is not null)
        {
            try
            {
                await Directory.UnsubscribeAsync(_reference).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is TimeoutException or OrleansException or InvalidOperationException or ObjectDisposedException)
            {
                // The directory forgets observers that stop renewing.
            }

            _grains.DeleteObjectReference<ITopicCatalogObserver>(_reference);
            _reference = null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Applying a change of topic {Topic} failed; the next renewal retries")]
    private static partial void LogApplyFailed(ILogger logger, Exception ex, string topic);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The topic directory did not list topic {Topic}, which exists; republished it")]
    private static partial void LogRepublished(ILogger logger, string topic);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Renewing the topic directory subscription failed; retried in 30 s")]
    private static partial void LogRenewFailed(ILogger logger, Exception ex);
}
