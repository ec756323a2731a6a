using Orleans;
using Orleans.Streams;
using Orleans.Streams.Core;

namespace OrleansMQ.Samples.Streams;

/// <summary>
/// Implicitly subscribed to every stream of <see cref="Namespace"/>: the first event of a customer's
/// stream activates this grain (keyed by the stream key) without anyone calling SubscribeAsync, and
/// the subscription needs no pub-sub state. It checks that the customer's orders arrive in order.
/// </summary>
[ImplicitStreamSubscription(Namespace)]
public sealed class CustomerOrdersGrain : Grain, ICustomerOrdersGrain, IStreamSubscriptionObserver, IAsyncObserver<OrderPlaced>
{
    public const string Namespace = "orders";

    private int _received;
    private int _next;
    private int _redelivered;
    private int _skips;
    private decimal _total;

    // Orleans calls this for each implicit subscription when the grain activates: attach the observer.
    public async Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory)
    {
        ArgumentNullException.ThrowIfNull(handleFactory);
        await handleFactory.Create<OrderPlaced>().ResumeAsync(this).ConfigureAwait(true);
    }

    public Task OnNextAsync(OrderPlaced item, StreamSequenceToken? token = null)
    {
        ArgumentNullException.ThrowIfNull(item);
        if (item.Sequence < _next)
        {
            // Seen before (or skipped over, which was counted already): delivery is at-least-once.
            _redelivered++;
            return Task.CompletedTask;
        }

        if (item.Sequence > _next)
        {
            // Its predecessors have not arrived: the order of the stream did not hold.
            _skips++;
        }

        _next = item.Sequence + 1;
        _received++;
        _total += item.Amount;
        return Task.CompletedTask;
    }

    public Task OnCompletedAsync() => Task.CompletedTask;

    public Task OnErrorAsync(Exception ex) => Task.CompletedTask;

    public Task<StreamProgress> GetProgressAsync() => Task.FromResult(new StreamProgress(_received, _next, _redelivered, _skips, _total));
}
